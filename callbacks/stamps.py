"""What an auto-refresh changed: the stamps the overview's series graphs, RTT spread and filter dots listen to.

Every tick used to run seven callbacks (three series graphs, the RTT spread, the filter options, the overview,
the clock), each answering "nothing new" most of the time; in the browser each answer still cost dash-renderer
work and garbage (~190 ms of main thread per quiet tick at 200 servers, bench/browser_bench.py --profile).
Now one small callback reads the data stamp and sets a store only when what its listeners draw can have moved.
"""
from __future__ import annotations

from dash import Input, Output, State, no_update

from api.cache import current_stamp
from callbacks.common import fetch, filters_from_search
from callbacks.registry import callback
from common.timeutil import utcnow
from layouts import ids
from queries.pingdata import series_bucket_seconds
from runtime import get_runtime


def data_part(rt) -> list:
    """The data stamp (newest round, alerts) and the config's generation; a failed read is its own stamp."""
    stamp, error = fetch("the data stamp", current_stamp, rt.read_engine)
    return ["unreadable", error] if error else [*stamp, rt.generation]


def stamps(rt, search, now_s: float) -> tuple[list, list]:
    """(series stamp, minute stamp): the data with the series graphs' bucket of the clock (their window moves
    by whole buckets), and with the minute (the RTT spread's window and the states the clock alone changes)."""
    filters, _ = filters_from_search(search)
    bucket = series_bucket_seconds(filters, rt.config.interval_seconds, rt.config.retention.as_dict())
    data = data_part(rt)
    return data + [int(now_s // bucket)], data + [int(now_s // 60)]


@callback(Output(ids.STAMP_SERIES, "data"), Output(ids.STAMP_MINUTE, "data"), Input(ids.REFRESH, "n_intervals"),
          State(ids.URL, "search"), State(ids.STAMP_SERIES, "data"), State(ids.STAMP_MINUTE, "data"),
          prevent_initial_call=True)
def refresh_stamps(_n, search, previous_series, previous_minute):
    """At each tick, each stamp that changed (the listeners' first run is the page load's, so none at load)."""
    series, minute = stamps(get_runtime(), search, utcnow().timestamp())
    return (series if series != previous_series else no_update,
            minute if minute != previous_minute else no_update)
