"""The CSV export button: the rows the current filters select, written by the API's shared CSV writer."""
from __future__ import annotations

from dataclasses import replace

from dash import Input, Output, State, html, no_update

from callbacks.registry import callback

from callbacks.common import fetch, filters_from_search
from callbacks.urlstate import server_id_from_path
from common import timezones as tzs
from layouts import ids
from queries.export import export_filename, iter_csv
from queries.filters import Filters
from queries.history import row_count
from queries.pingdata import EXPORT_COLUMNS, export_chunks
from queries.sipseries import SIP_EXPORT_COLUMNS, sip_export_chunks, sip_row_count
from runtime import get_runtime

# A download goes through the browser as one callback response; beyond this the streaming API is the way.
MAX_EXPORT_ROWS = 250_000


def rows_csv(engine, filters: Filters, probe: str = "network") -> str:
    """Every stored column of the selected rows as CSV text (formula-like cells neutralised): the SIP checks
    (as /api/export-data?probe=sip writes them) when the graphs show SIP only, else the network rows."""
    if probe == "sip":
        return "".join(iter_csv(sip_export_chunks(engine, filters), SIP_EXPORT_COLUMNS))
    return "".join(iter_csv(export_chunks(engine, filters), EXPORT_COLUMNS))


def export_count(engine, filters: Filters, probe: str = "network") -> int:
    """How many rows the export would write."""
    return sip_row_count(engine, filters) if probe == "sip" else row_count(engine, filters)


def export_filters(search: str | None, pathname: str | None) -> Filters:
    """The URL's filters; on a server's page, that server only."""
    filters, _ = filters_from_search(search)
    server_id = server_id_from_path(pathname)
    return replace(filters, countries=(), partners=(), servers=(server_id,)) if server_id else filters


def too_large(rows: int, search: str | None, probe: str = "network") -> list:
    """The message for an export over the limit, linking to the streaming API with the same filters."""
    query = search or ""
    if probe == "sip":
        query += ("&" if query else "?") + "probe=sip"
    href = f"/api/export-data{query}"
    return [f"{rows:,} rows match: more than the {MAX_EXPORT_ROWS:,} a dashboard download allows. "
            "Narrow the filters or use ", html.A("the streaming export", href=href), "."]


def download_name(filters: Filters, fmt: str, tz: str | None = None) -> str:
    """The download's file name: the API's (UTC, with a Z) in UTC, else the window in the display zone with its
    offset, e.g. latency-20261101T030000+0300-20261102T030000+0300.csv (the rows inside stay UTC)."""
    if tzs.is_utc(tz):
        return export_filename(filters, fmt)
    ends = [f"{tzs.to_display(t, tz):%Y%m%dT%H%M%S}{tzs.offset_text(tzs.utc_offset(tz, t), compact=True)}"
            for t in (filters.start, filters.end)]
    return f"latency-{ends[0]}-{ends[1]}.{fmt}"


def exported(rows: int, filename: str) -> list:
    """The confirmation after a download: how many rows went out, into which file."""
    if rows == 0:
        return ["No rows match the filters: ", html.Code(filename), " holds the header line only."]
    return [html.I(className="bi bi-check-circle-fill me-2"), f"Exported {rows:,} row{'s' if rows != 1 else ''} to ",
            html.Code(filename), "."]


@callback(Output(ids.EXPORT_DOWNLOAD, "data"), Output(ids.EXPORT_ALERT, "children"),
          Output(ids.EXPORT_ALERT, "is_open"), Output(ids.EXPORT_ALERT, "color"),
          Input(ids.EXPORT_BUTTON, "n_clicks"), State(ids.URL, "search"), State(ids.URL, "pathname"),
          State(ids.DISPLAY_TZ, "data"), State(ids.PROBE_VIEW, "data"), prevent_initial_call=True)
def export_csv(_clicks, search, pathname, tz=None, probe="network"):
    """Send the filtered rows (the SIP checks while the graphs show SIP) as a CSV download and say how many
    went out, or say why not."""
    engine = get_runtime().read_engine
    filters = export_filters(search, pathname)
    rows, error = fetch("the export", export_count, engine, filters, probe)
    if error:
        return no_update, f"Could not export: {error}", True, "danger"
    if rows > MAX_EXPORT_ROWS:
        return no_update, too_large(rows, search, probe), True, "danger"
    text, error = fetch("the export", rows_csv, engine, filters, probe)
    if error:
        return no_update, f"Could not export: {error}", True, "danger"
    name = ("sip-" if probe == "sip" else "") + download_name(filters, "csv", tz)  # as the API names it
    return ({"content": text, "filename": name, "type": "text/csv"}, exported(rows, name), True,
            "success" if rows else "warning")
