"""The Reports page (/reports, issue 15): month, grouping and SLA target; the SLA table with error budget bars
and daily availability strips; the month's incidents; CSV download. assets/40_print.css lays it out for A4."""
from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
from dash import dcc, html

from common import format as fmt
from layouts.common import panel

MONTH = "report-month"
GROUP = "report-group"
TARGET = "report-target"
TABLE = "report-table"
INCIDENTS = "report-incidents"
CSV_LINK = "report-csv"
TITLE = "report-title"
SERVER_INCIDENTS = "server-incidents"
GROUP_CHOICES = [{"label": "Partner", "value": "partner"}, {"label": "Country", "value": "country"},
                 {"label": "Server", "value": "server"}]
MONTHS_OFFERED = 13


def month_choices(now: datetime, count: int = MONTHS_OFFERED) -> list[dict]:
    """This month and the `count - 1` before it, newest first, as dropdown options ('2026-11')."""
    out, year, month = [], now.year, now.month
    for _ in range(count):
        value = f"{year:04d}-{month:02d}"
        out.append({"label": datetime(year, month, 1).strftime("%B %Y"), "value": value})
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


def default_month(now: datetime) -> str:
    """The month a report opens on: the last complete one (what a monthly report is about)."""
    return month_choices(now, 2)[1]["value"]


def reports_layout(now: datetime) -> html.Div:
    """The page's skeleton; callbacks/reports.py fills the table and the incidents."""
    controls = html.Div([
        html.Label(["Month", dcc.Dropdown(id=MONTH, options=month_choices(now), value=default_month(now),
                                          clearable=False, className="lm-report-month")]),
        html.Label(["Group by", dbc.RadioItems(id=GROUP, options=GROUP_CHOICES, value="partner", inline=True)]),
        html.Label(["SLA target %", dcc.Input(id=TARGET, type="number", min=0.001, max=100, step="any",
                                              placeholder="as configured", debounce=True,
                                              className="form-control form-control-sm lm-report-target")]),
        html.A([html.I(className="bi bi-download me-1"), "CSV"], id=CSV_LINK, href="/api/sla", download="",
               className="btn btn-sm btn-outline-secondary lm-report-csv"),
    ], className="lm-report-controls")
    return html.Div([
        html.H1(id=TITLE, className="lm-report-title"),
        controls,
        panel("Availability and SLA", html.Div(id=TABLE), "bi-clipboard-data"),
        panel("Incidents of the month", html.Div(id=INCIDENTS), "bi-exclamation-octagon"),
        html.P("Availability = up / (up + down), time-weighted by round; degraded rounds count as up; time in a "
               "maintenance window (its rounds and outages) and unmeasured time are left out and shown apart. A partner is down while all its servers are down, a country "
               "while all its partners are.", className="lm-report-rule"),
    ], className="lm-reports")


def _pct(value) -> str:
    return fmt.MISSING if value is None else f"{value:.3f} %"


def budget_bar(row: dict) -> html.Div:
    """The error budget left as a bar: full = untouched, empty (red) = used up or overspent."""
    budget, left = row["error_budget_seconds"], row["error_budget_left_seconds"]
    share = 1.0 if budget <= 0 and left >= 0 else (max(0.0, min(1.0, left / budget)) if budget > 0 else 0.0)
    state = "ok" if share > 0.25 else ("low" if share > 0 else "spent")
    text = f"{fmt.span(max(left, 0))} of {fmt.span(budget)} left" if left >= 0 else f"over by {fmt.span(-left)}"
    return html.Div([html.Div(className=f"lm-budget-fill lm-budget-{state}", style={"width": f"{share * 100:.0f}%"}),
                     html.Span(text, className="lm-budget-text")], className="lm-budget", title=text)


def daily_strip(days: list[tuple[str, float | None]], target: float) -> html.Div:
    """One cell per day: green when the day met the target, red when not, grey when unmeasured."""
    cells = []
    for day, value in days:
        state = "none" if value is None else ("met" if value >= target else "missed")
        label = f"{day}: {'no data' if value is None else f'{value:.3f} %'}"
        cells.append(html.Span(className=f"lm-day lm-day-{state}", title=label))
    return html.Div(cells, className="lm-strip")


HEADERS = ["", "availability", "target", "down", "incidents", "MTTR", "MTBF", "longest", "error budget",
           "degraded", "maintenance", "unmeasured", "daily"]


def sla_table(rows: list[dict], daily: dict[str, list], group: str) -> html.Table | html.P:
    """The SLA rows as a table; a row that missed its target is red."""
    if not rows:
        return html.P("No servers match the filters.", className="lm-empty")
    head = html.Thead(html.Tr([html.Th(group if not h else h) for h in HEADERS]))
    body = []
    for r in rows:
        state = "none" if r["met"] is None else ("met" if r["met"] else "missed")
        down = fmt.span(r["down_seconds"])
        if group != "server" and r.get("any_server_down_seconds"):
            down += f" (any server: {fmt.span(r['any_server_down_seconds'])})"
        body.append(html.Tr([
            html.Td(r["key"], className="lm-report-key"), html.Td(_pct(r["availability_percent"])),
            html.Td(f"{r['sla_target_percent']:g} %"), html.Td(down), html.Td(str(r["incidents"])),
            html.Td(fmt.span(r["mttr_seconds"])), html.Td(fmt.span(r["mtbf_seconds"])),
            html.Td(fmt.span(r["longest_incident_seconds"])), html.Td(budget_bar(r)),
            html.Td(fmt.span(r["degraded_seconds"])), html.Td(fmt.span(r["maintenance_seconds"])),
            html.Td(fmt.span(r["unmeasured_seconds"])),
            html.Td(daily_strip(daily.get(r["key"], []), r["sla_target_percent"])),
        ], className=f"lm-sla-{state}", **{"data-key": r["key"]}))
    return html.Table([head, html.Tbody(body)], className="table table-sm lm-sla-table")


def incident_table(incidents: list[dict], partner_wide: list[dict]) -> html.Div:
    """The incidents (newest first), partner-wide ones first and marked."""
    if not incidents and not partner_wide:
        return html.P("No incidents.", className="lm-empty")
    rows = []
    for i in partner_wide + incidents:
        where = i["server_id"] or "all servers"
        end = "ongoing" if i["ongoing"] else fmt.utc(i["ended_at"])
        rows.append(html.Tr([html.Td(fmt.utc(i["started_at"])), html.Td(end), html.Td(fmt.span(i["duration_seconds"])),
                             html.Td(i["partner"]), html.Td(i["country"]), html.Td(where), html.Td(i["cause"])],
                            className="lm-incident-partner" if i["server_id"] is None else "lm-incident"))
    head = html.Thead(html.Tr([html.Th(h) for h in ("start", "end", "duration", "partner", "country", "server",
                                                     "cause")]))
    # Its own scroll box: seven unwrapped columns are wider than a phone, and the page must not scroll sideways.
    return html.Div(html.Table([head, html.Tbody(rows)], className="table table-sm lm-incident-table"),
                    className="lm-table-box")


def server_incidents_panel() -> html.Section:
    """The server page's incident list (filled by callbacks/reports.py)."""
    return panel("Incidents in range", html.Div(id=SERVER_INCIDENTS), "bi-exclamation-octagon")
