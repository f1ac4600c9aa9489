"""The CSV export button: the rows the current filters select, written by the API's shared CSV writer."""
from __future__ import annotations

from dataclasses import replace

from dash import Input, Output, State, html, no_update

from callbacks.registry import callback

from callbacks.common import fetch, filters_from_search
from callbacks.urlstate import server_id_from_path
from layouts import ids
from queries.export import export_filename, iter_csv
from queries.filters import Filters
from queries.history import row_count
from queries.pingdata import EXPORT_COLUMNS, export_chunks
from runtime import get_runtime

# A download goes through the browser as one callback response; beyond this the streaming API is the way.
MAX_EXPORT_ROWS = 250_000


def rows_csv(engine, filters: Filters) -> str:
    """Every stored column of the selected rows as CSV text (formula-like cells neutralised)."""
    return "".join(iter_csv(export_chunks(engine, filters), EXPORT_COLUMNS))


def export_filters(search: str | None, pathname: str | None) -> Filters:
    """The URL's filters; on a server's page, that server only."""
    filters, _ = filters_from_search(search)
    server_id = server_id_from_path(pathname)
    return replace(filters, countries=(), partners=(), servers=(server_id,)) if server_id else filters


def too_large(rows: int, search: str | None) -> list:
    """The message for an export over the limit, linking to the streaming API with the same filters."""
    href = f"/api/export-data{search or ''}"
    return [f"{rows:,} rows match: more than the {MAX_EXPORT_ROWS:,} a dashboard download allows. "
            "Narrow the filters or use ", html.A("the streaming export", href=href), "."]


@callback(Output(ids.EXPORT_DOWNLOAD, "data"), Output(ids.EXPORT_ALERT, "children"),
          Output(ids.EXPORT_ALERT, "is_open"),
          Input(ids.EXPORT_BUTTON, "n_clicks"), State(ids.URL, "search"), State(ids.URL, "pathname"),
          prevent_initial_call=True)
def export_csv(_clicks, search, pathname):
    """Send the filtered rows as a CSV download, or say why not."""
    engine = get_runtime().read_engine
    filters = export_filters(search, pathname)
    rows, error = fetch("the export", row_count, engine, filters)
    if error:
        return no_update, f"Could not export: {error}", True
    if rows > MAX_EXPORT_ROWS:
        return no_update, too_large(rows, search), True
    text, error = fetch("the export", rows_csv, engine, filters)
    if error:
        return no_update, f"Could not export: {error}", True
    return {"content": text, "filename": export_filename(filters, "csv"), "type": "text/csv"}, None, False
