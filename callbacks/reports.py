"""The Reports page's callbacks (issue 15): SLA table, daily strips and incidents of the chosen month; the
server page's incident list."""
from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

from dash import Input, Output, State

from callbacks.common import fetch, filters_from_search
from callbacks.registry import callback
from callbacks.urlstate import server_id_from_path
from common.timeutil import utcnow
from layouts import ids
from layouts import reports as lr
from layouts.panels import error_notice
from queries.sla import daily_availability, incident_records, month_window, sla_rows, with_target
from runtime import get_runtime


def report_target(value) -> float | None:
    """The target field as a percentage in (0, 100], or None (blank or out of range: the configured targets)."""
    try:
        target = float(value)
    except (TypeError, ValueError):
        return None
    return target if 0 < target <= 100 else None


def csv_href(month: str, group: str, filters) -> str:
    """The /api/sla CSV link for the page's choices and the top bar's country and partner filters."""
    params = [("month", month), ("group", group), ("format", "csv")]
    params += [("country", c) for c in filters.countries] + [("partner", p) for p in filters.partners]
    return "/api/sla?" + urlencode(params)


def month_report(month: str, group: str, target, search: str | None) -> tuple:
    """(title, table, incidents, CSV link) of one month."""
    rt, now = get_runtime(), utcnow()
    filters, _error = filters_from_search(search)
    start, end = month_window(month)
    filters = dataclasses.replace(filters, start=start, end=end, range="custom")
    rows, error = fetch("the SLA figures", sla_rows, rt.read_engine, rt.config, filters, group, now)
    daily, daily_error = fetch("the daily availability", daily_availability, rt.read_engine, rt.config, filters,
                               group, now)
    title = f"Availability report, {start:%B %Y}"
    link = csv_href(month, group, filters)
    if error or daily_error:
        return title, error_notice("the SLA figures", error or daily_error), None, link
    chosen = report_target(target)
    if chosen is not None:
        rows = [with_target(r, chosen) for r in rows]
    servers = incident_records(rt.read_engine, rt.config, filters, now)
    partner_wide = incident_records(rt.read_engine, rt.config, filters, now, "partner")
    return title, lr.sla_table(rows, daily, group), lr.incident_table(servers, partner_wide), link


@callback(Output(lr.TITLE, "children"), Output(lr.TABLE, "children"), Output(lr.INCIDENTS, "children"),
          Output(lr.CSV_LINK, "href"), Input(lr.MONTH, "value"), Input(lr.GROUP, "value"), Input(lr.TARGET, "value"),
          Input(ids.URL, "search"), Input(ids.REFRESH, "n_intervals"))
def refresh_report(month, group, target, search, _n):
    """Redraw the report when a choice, the filters or the data change."""
    return month_report(month, group or "partner", target, search)


@callback(Output(lr.SERVER_INCIDENTS, "children"), Input(ids.URL, "pathname"), Input(ids.REFRESH, "n_intervals"),
          State(ids.URL, "search"))
def refresh_server_incidents(pathname, _n, search):
    """A server page's incidents in the top bar's time range."""
    server_id = server_id_from_path(pathname)
    if not server_id:
        return None
    rt = get_runtime()
    filters, _error = filters_from_search(search)
    filters = dataclasses.replace(filters, servers=(server_id,), countries=(), partners=())
    found, error = fetch("the incidents", incident_records, rt.read_engine, rt.config, filters, utcnow())
    if error:
        return error_notice("the incidents", error)
    return lr.incident_table(found, [])
