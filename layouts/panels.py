"""Lists and tables built from query results: warnings, logs, recent rounds, concerns, notices."""
from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from common import format as fmt
from common import timezones as tzs
from layouts.alerts import kind_icon, severity_pill
from layouts.components import LogFeed, RoundsTable
from layouts.status import log_lines, server_href

WARNING_ICONS = {"down": "bi-x-octagon-fill", "stale": "bi-hourglass-split", "latency": "bi-speedometer2",
                 "loss": "bi-graph-down-arrow", "jitter": "bi-activity", "other": "bi-exclamation-triangle-fill"}
ROUND_COLUMNS = (("timestamp", "Time"), ("avg_time", "Avg"), ("min_time", "Min"), ("max_time", "Max"),
                 ("jitter_time", "Jitter"), ("loss_percentage", "Loss"), ("mos", "MOS"), ("latency_class", "Class"),
                 ("concerns", "Concerns"))


def notice(message, color: str = "info", icon: str = "bi-info-circle-fill") -> dbc.Alert:
    """A one-line alert with an icon."""
    parts = message if isinstance(message, list) else [message]
    return dbc.Alert([html.I(className=f"bi {icon} me-2"), *parts], color=color, className="lm-notice")


def error_notice(what: str, error: str) -> dbc.Alert:
    """What could not be loaded and why (one line, no traceback)."""
    return notice([html.Strong(f"Could not load {what}. "), error], color="danger", icon="bi-exclamation-octagon-fill")


def empty_text(text: str) -> html.Div:
    """A muted placeholder line inside a panel."""
    return html.Div(text, className="lm-empty")


def _warning_where(row: dict) -> list:
    """Who an alert is about: partner, country and ip, or the monitoring host for host-wide alerts."""
    if row.get("server_id") is None:
        return [html.Strong("Monitoring host")]
    return [html.Strong(row["partner"]), html.Span(f" {row['country']} · {row['ip']}", className="text-body-secondary")]


def warning_when(row: dict, now: datetime) -> str:
    """'open 12 min' for an open alert; 'resolved 5 min ago · lasted 20 min' for a resolved one."""
    if row.get("state") == "resolved":
        lasted = fmt.span(fmt.seconds_between(row.get("started_at"), row.get("resolved_at")))
        return f"resolved {fmt.age(fmt.seconds_between(row.get('resolved_at'), now))} · lasted {lasted}"
    return f"open {fmt.span(fmt.seconds_between(row.get('started_at'), now))}"


def _warning_item(row: dict, now: datetime, search: str | None):
    """One alert: who, severity, the alert's message, and how long it is (or was) open."""
    resolved = row.get("state") == "resolved"
    body = [
        html.I(className=f"bi {kind_icon(row['kind'])} lm-warn-icon"),
        html.Div([html.Div([html.Div(_warning_where(row)), severity_pill(row["severity"], resolved)],
                           className="lm-warn-head"),
                  html.Div(row["message"], className="lm-warn-text"),
                  html.Div(warning_when(row, now), className="lm-warn-age")], className="lm-warn-body"),
    ]
    classes = f"lm-warn lm-warn-{row['severity']}" + (" lm-warn-resolved" if resolved else "")
    if row.get("server_id") is None:  # host-wide: there is no server page to link to
        item = html.Div(body, className=classes)
    else:
        item = dcc.Link(body, href=server_href(row["server_id"], search), className=classes)
    extra = [part for part in (ack_controls(row), path_details(row)) if part is not None]
    return html.Div([item, *extra], className="lm-warn-wrap") if extra else item


ACK_BUTTON, ACK_COMMENT = "lm-ack", "lm-ack-comment"  # pattern-matching id types: {"type": ..., "alert": id}


def ack_controls(row: dict):
    """Who acknowledged an open alert, when and why; or a comment box and an Acknowledge button."""
    if row.get("state") == "resolved" or fmt.is_missing(row.get("id")):  # stale rows made up from status have no id
        return None
    alert_id = int(row["id"])
    if fmt.has_text(row.get("acknowledged_by")):
        text = (f"Acknowledged by {row['acknowledged_by']} at {fmt.utc(row.get('acknowledged_at'))}: "
                f"{row.get('ack_comment') or ''}")
        return html.Div([html.I(className="bi bi-check2-circle me-1"), text], className="lm-ack-note",
                        **{"data-alert": str(alert_id)})
    return html.Div([dcc.Input(id={"type": ACK_COMMENT, "alert": alert_id}, placeholder="comment (why, ticket)",
                               maxLength=1000, className="form-control form-control-sm lm-ack-input"),
                     html.Button("Acknowledge", id={"type": ACK_BUTTON, "alert": alert_id},
                                 className="btn btn-sm btn-outline-secondary lm-ack-button")],
                    className="lm-ack-form", **{"data-alert": str(alert_id)})


def path_details(row: dict):
    """The mtr/traceroute report taken when a down or packet-loss alert opened, folded away."""
    if not fmt.has_text(row.get("path_snapshot")):
        return None
    return html.Details([html.Summary("path when it opened"), html.Pre(row["path_snapshot"], className="lm-path")],
                        className="lm-path-details")


def warnings_list(warnings: pd.DataFrame, now: datetime, search: str | None, limit: int = 50) -> html.Div:
    """Open alerts (worst and newest first), then those resolved in the range; each links to its server."""
    rows = fmt.records(warnings.head(limit))
    opened = [_warning_item(r, now, search) for r in rows if r.get("state") != "resolved"]
    ended = [_warning_item(r, now, search) for r in rows if r.get("state") == "resolved"]
    if not opened and not ended:
        return empty_text("No alerts: every server is within its limits.")
    parts = opened or [empty_text("No open alerts: every server is within its limits.")]
    if ended:
        parts += [html.H3("Resolved in this range", className="lm-warn-heading"), *ended]
    return html.Div(parts, className="lm-warn-list")


def log_list(logs: pd.DataFrame, tz: str | None = None) -> LogFeed:
    """Log lines, newest first: level, time (in the display zone) and source above the message (reads well in a
    narrow column); a folded run of routine lines reads as one line with its count. One component for all of
    them (layouts.components): a tree of Dash components per line is slow."""
    return LogFeed(lines=log_lines(logs, tz))


def _round_cell(column: str, value, tz: str | None = None):
    if column == "timestamp":
        return tzs.time_text(value, tz, seconds=True)
    if column in ("avg_time", "min_time", "max_time", "jitter_time"):
        return fmt.ms(value)
    if column == "loss_percentage":
        return fmt.pct(value)
    if column == "mos":
        return fmt.mos(value)
    return "" if value is None else str(value)


def _round_label(column: str, label: str, zone: str) -> str:
    """A column header; the time's names its zone ('Time (UTC+03:00)')."""
    return f"{label} ({zone})" if column == "timestamp" else label


def rounds_table(rounds: pd.DataFrame, limit: int = 100, tz: str | None = None) -> RoundsTable:
    """A server's recent rounds, newest first, times in the display zone tz (named in the header), as one
    component (layouts.components.RoundsTable). On a phone each row reads as a card (assets/31_phone.css):
    every cell carries its column's name."""
    rows = fmt.records(rounds.head(limit))
    zone = tzs.short_label(tz, pd.Timestamp(rounds["timestamp"].max()).to_pydatetime()) if rows else "UTC"
    return RoundsTable(columns=[_round_label(c, label, zone) for c, label in ROUND_COLUMNS],
                       rows=[[_round_cell(c, r.get(c), tz) for c, _ in ROUND_COLUMNS] for r in rows],
                       flagged=[i for i, r in enumerate(rows) if fmt.has_text(r.get("concerns"))],
                       empty="No rounds in this time range.")


def concern_list(summary: pd.DataFrame, tz: str | None = None) -> html.Div:
    """A server's kinds of concern in the window: how many rounds, when first and last (in the display zone tz),
    latest text."""
    if summary.empty:
        return empty_text("No warnings in this time range.")
    items = [html.Div([
        html.I(className=f"bi {WARNING_ICONS.get(r['kind'], WARNING_ICONS['other'])} lm-warn-icon"),
        html.Div([html.Div([html.Strong(r["latest"]),
                            html.Span(f" · {r['rounds']} rounds", className="text-body-secondary")]),
                  html.Div(f"{tzs.time_text(r['first'], tz)} → {tzs.time_text(r['last'], tz)} "
                           f"{tzs.short_label(tz, pd.Timestamp(r['last']).to_pydatetime())}", className="lm-warn-text")],
                 className="lm-warn-body"),
    ], className=f"lm-warn lm-warn-{'danger' if r['kind'] == 'down' else 'warning'}")
        for r in fmt.records(summary)]
    return html.Div(items, className="lm-warn-list")
