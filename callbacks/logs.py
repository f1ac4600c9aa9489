"""The overview's log viewer: the newest lines at or above a level, routine once-a-round lines folded."""
from __future__ import annotations

from dash import Input, Output

from callbacks.common import fetch
from callbacks.registry import callback
from layouts import ids
from layouts.panels import error_notice, log_list
from queries.logs import viewer_logs
from runtime import get_runtime

LOG_LINES = 100


@callback(Output(ids.LOG_TABLE, "children"), Input(ids.LOG_LEVEL, "value"), Input(ids.LOG_SEARCH, "value"),
          Input(ids.REFRESH, "n_intervals"), Input(ids.DISPLAY_TZ, "data"))
def refresh_logs(level, text, _n, tz=None):
    """Up to LOG_LINES lines at or above the level containing the search text, each run of routine lines
    ("round finished ...") between them shown as one line with its count; times in the display zone."""
    rt = get_runtime()
    logs, error = fetch("the log", viewer_logs, rt.read_engine, limit=LOG_LINES, level=level or None,
                        search=(text or "").strip() or None)
    return error_notice("the log", error) if error else log_list(logs, tz)
