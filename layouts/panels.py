"""Lists and tables built from query results: warnings, logs, recent rounds, concerns, notices."""
from __future__ import annotations

from datetime import datetime

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from layouts import format as fmt
from layouts.status import server_href

WARNING_ICONS = {"down": "bi-x-octagon-fill", "stale": "bi-hourglass-split", "latency": "bi-speedometer2",
                 "loss": "bi-graph-down-arrow", "jitter": "bi-activity", "other": "bi-exclamation-triangle-fill"}
LEVEL_CLASSES = {"DEBUG": "secondary", "INFO": "info", "WARNING": "warning", "ERROR": "danger", "CRITICAL": "danger"}
ROUND_COLUMNS = (("timestamp", "Time (UTC)"), ("avg_time", "Avg"), ("min_time", "Min"), ("max_time", "Max"),
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


def _warning_item(row: dict, now: datetime, search: str | None) -> dcc.Link:
    age = (now - pd.Timestamp(row["at"]).to_pydatetime()).total_seconds() if row.get("at") is not None else None
    return dcc.Link([
        html.I(className=f"bi {WARNING_ICONS.get(row['kind'], WARNING_ICONS['other'])} lm-warn-icon"),
        html.Div([html.Div([html.Strong(row["partner"]), html.Span(f" {row['country']} · {row['ip']}",
                                                                   className="text-body-secondary")]),
                  html.Div(row["message"], className="lm-warn-text")], className="lm-warn-body"),
        html.Span(fmt.age(age), className="lm-warn-age"),
    ], href=server_href(row["server_id"], search), className=f"lm-warn lm-warn-{row['severity']}")


def warnings_list(warnings: pd.DataFrame, now: datetime, search: str | None, limit: int = 50) -> html.Div:
    """The current warnings, newest first, each linking to its server."""
    if warnings.empty:
        return empty_text("No warnings: every server is within its limits.")
    items = [_warning_item(r, now, search) for r in fmt.records(warnings.head(limit))]
    return html.Div(items, className="lm-warn-list")


def _log_entry(row: dict) -> html.Div:
    level = str(row.get("level") or "")
    return html.Div([
        html.Div([html.Span(level, className=f"badge text-bg-{LEVEL_CLASSES.get(level, 'secondary')}"),
                  html.Span(fmt.utc(row.get("timestamp"), seconds=True), className="lm-log-time"),
                  html.Span(row.get("module") or "", className="lm-log-source")], className="lm-log-meta"),
        html.Div(row.get("message") or "", className="lm-log-msg"),
    ], className=f"lm-log-entry lm-log-{level.lower()}")


def log_list(logs: pd.DataFrame) -> html.Div:
    """Log lines, newest first: level, time and source above the message (reads well in a narrow column)."""
    if logs.empty:
        return empty_text("No log lines match.")
    return html.Div([_log_entry(r) for r in fmt.records(logs)], className="lm-log-list lm-scroll")


def _round_cell(column: str, value):
    if column == "timestamp":
        return fmt.utc(value, seconds=True)
    if column in ("avg_time", "min_time", "max_time", "jitter_time"):
        return fmt.ms(value)
    if column == "loss_percentage":
        return fmt.pct(value)
    if column == "mos":
        return fmt.mos(value)
    return "" if value is None else str(value)


def rounds_table(rounds: pd.DataFrame, limit: int = 100) -> html.Div:
    """A server's recent rounds, newest first."""
    if rounds.empty:
        return empty_text("No rounds in this time range.")
    head = html.Thead(html.Tr([html.Th(label) for _, label in ROUND_COLUMNS]))
    body = html.Tbody([html.Tr([html.Td(_round_cell(c, r.get(c))) for c, _ in ROUND_COLUMNS],
                               className="lm-row-flagged" if fmt.has_text(r.get("concerns")) else None)
                       for r in fmt.records(rounds.head(limit))])
    return html.Div(dbc.Table([head, body], size="sm", hover=True, className="lm-table mb-0"), className="lm-scroll")


def concern_list(summary: pd.DataFrame) -> html.Div:
    """A server's kinds of concern in the window: how many rounds, when first and last, latest text."""
    if summary.empty:
        return empty_text("No warnings in this time range.")
    items = [html.Div([
        html.I(className=f"bi {WARNING_ICONS.get(r['kind'], WARNING_ICONS['other'])} lm-warn-icon"),
        html.Div([html.Div([html.Strong(r["latest"]),
                            html.Span(f" · {r['rounds']} rounds", className="text-body-secondary")]),
                  html.Div(f"{fmt.utc(r['first'])} → {fmt.utc(r['last'])} UTC", className="lm-warn-text")],
                 className="lm-warn-body"),
    ], className=f"lm-warn lm-warn-{'danger' if r['kind'] == 'down' else 'warning'}")
        for r in fmt.records(summary)]
    return html.Div(items, className="lm-warn-list")
