"""When alerts were open: shaded vertical spans behind a time series, and a hover mark where each began.

Pure functions: a list_alerts frame (started_at, resolved_at, severity, message) in, shapes and a trace out.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from figures.theme import ALERT_COLORS

SPAN_COLUMNS = ["severity", "x0", "x1"]
# Faint over the whole height (the latency bands stay readable), strong in a ribbon along the top edge.
TINT_OPACITY = {"warning": 0.10, "critical": 0.14}
RIBBON = (0.965, 1.0)
RIBBON_OPACITY = 0.75
SEVERITY_ORDER = ("warning", "critical")  # critical drawn last, on top
ALERT_TRACE = "alerts"  # the name of the trace holding the marks, so tests and callers can tell it apart


def _merge(intervals: pd.DataFrame) -> list[tuple]:
    """Overlapping or touching (x0, x1) intervals joined, in time order."""
    merged: list[list] = []
    for x0, x1 in intervals.sort_values("x0")[["x0", "x1"]].itertuples(index=False):
        if merged and x0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], x1)
        else:
            merged.append([x0, x1])
    return [tuple(m) for m in merged]


def alert_spans(alerts: pd.DataFrame, start, end) -> pd.DataFrame:
    """Per severity, the stretches of [start, end] when at least one alert was open, overlaps merged;
    an alert still open lasts until `end`."""
    if alerts is None or alerts.empty:
        return pd.DataFrame(columns=SPAN_COLUMNS)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    frame = pd.DataFrame({"severity": alerts["severity"].to_numpy(),
                          "x0": pd.to_datetime(alerts["started_at"]).clip(lower=start).to_numpy(),
                          "x1": pd.to_datetime(alerts["resolved_at"]).fillna(end).clip(upper=end).to_numpy()})
    frame = frame[frame["x1"] > frame["x0"]]
    rows = [(severity, x0, x1) for severity in SEVERITY_ORDER
            for x0, x1 in _merge(frame[frame["severity"] == severity])]
    return pd.DataFrame(rows, columns=SPAN_COLUMNS)


def alert_starts(alerts: pd.DataFrame, start, end) -> pd.DataFrame:
    """The alerts that began inside [start, end], oldest first: where the hover marks go."""
    if alerts is None or alerts.empty:
        return pd.DataFrame(columns=["started_at", "severity", "message"])
    began = pd.to_datetime(alerts["started_at"])
    inside = alerts[(began >= pd.Timestamp(start)) & (began <= pd.Timestamp(end))]
    return inside.assign(started_at=pd.to_datetime(inside["started_at"])).sort_values("started_at")[
        ["started_at", "severity", "message"]]


def _window_of(alerts: pd.DataFrame, window) -> tuple:
    """The given (start, end), or the alerts' own extent when the figure has no fixed window."""
    if window is not None:
        return window
    times = pd.concat([pd.to_datetime(alerts["started_at"]), pd.to_datetime(alerts["resolved_at"])]).dropna()
    return times.min(), times.max()


def mark_alerts(fig: go.Figure, alerts: pd.DataFrame | None, *, window=None, top: float,
                subplots: bool = False, tint: tuple[str, ...] = SEVERITY_ORDER) -> go.Figure:
    """Mark when alerts were open: a ribbon along the top for every alert, the whole height shaded for the
    severities in `tint` (every row of a subplot figure), and a hover mark where each alert began; returns
    the figure."""
    if alerts is None or alerts.empty:
        return fig
    start, end = _window_of(alerts, window)
    every_row = {"row": "all", "col": 1} if subplots else {}
    first = {"row": 1, "col": 1} if subplots else {}
    for span in alert_spans(alerts, start, end).itertuples(index=False):
        color = ALERT_COLORS[span.severity]
        if span.severity in tint:
            fig.add_vrect(x0=span.x0, x1=span.x1, fillcolor=color, opacity=TINT_OPACITY[span.severity],
                          line_width=0, layer="below", **every_row)
        fig.add_vrect(x0=span.x0, x1=span.x1, y0=RIBBON[0], y1=RIBBON[1], fillcolor=color, opacity=RIBBON_OPACITY,
                      line_width=0, layer="below", **first)
    # The marks sit in the ribbon, just under the top of the axis, so they are never clipped.
    _add_start_marks(fig, alert_starts(alerts, start, end), top * sum(RIBBON) / 2, first)
    return fig


def _add_start_marks(fig: go.Figure, starts: pd.DataFrame, y: float, where: dict) -> None:
    """One marker per alert start at height y, with the alert's message on hover."""
    if starts.empty:
        return
    fig.add_trace(go.Scatter(
        x=starts["started_at"], y=[y] * len(starts), mode="markers", name=ALERT_TRACE, showlegend=False,
        marker={"symbol": "triangle-down", "size": 9, "color": [ALERT_COLORS[s] for s in starts["severity"]],
                "line": {"width": 0}},
        text=[f"{sev}: {msg}" for sev, msg in zip(starts["severity"], starts["message"])],
        hovertemplate="%{text}<extra>alert</extra>", cliponaxis=False), **where)


MAINTENANCE_COLOR = "#64748b"  # slate: planned, not a fault
MAINTENANCE_OPACITY = 0.12


def mark_maintenance(fig: go.Figure, spans: list[tuple], *, subplots: bool = False) -> go.Figure:
    """Shade maintenance spans [(server_id, start, end), ...] (merged over servers) behind the series."""
    if not spans:
        return fig
    merged = _merge(pd.DataFrame([(s, e) for _sid, s, e in spans], columns=["x0", "x1"]))
    every_row = {"row": "all", "col": 1} if subplots else {}
    for x0, x1 in merged:
        fig.add_vrect(x0=x0, x1=x1, fillcolor=MAINTENANCE_COLOR, opacity=MAINTENANCE_OPACITY, line_width=0,
                      layer="below", name="maintenance", **every_row)
    return fig
