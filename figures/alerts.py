"""When alerts were open: on a graph of many series, a halo along the line of the series each alert belongs to
(its country or server); on one server's graph, or for an alert about the monitoring host (every series),
shaded vertical spans; and a hover mark where each alert began.

Pure functions: a list_alerts frame (started_at, resolved_at, severity, message, server_id, country) in, shapes
and traces out.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from figures.theme import ALERT_COLORS

SPAN_COLUMNS = ["severity", "x0", "x1"]
# Faint over the whole height (the latency bands stay readable), strong in a ribbon along the top edge.
TINT_OPACITY = {"warning": 0.10, "critical": 0.14}
RIBBON = (0.965, 1.0)
RIBBON_OPACITY = 0.75
SEVERITY_ORDER = ("warning", "critical")  # critical drawn last, on top
ALERT_TRACE = "alerts"  # the name of every trace alerts add (marks, halos), so tests and callers can tell them apart
# A halo: the series' own line retraced wide and translucent in the alert's colour, behind the line itself.
HALO_WIDTH = 10
HALO_OPACITY = 0.4
SERIES_SPAN_COLUMNS = ["key", "severity", "x0", "x1", "text"]


def _merge(intervals: pd.DataFrame) -> list[tuple]:
    """Overlapping or touching (x0, x1) intervals joined, in time order."""
    merged: list[list] = []
    for x0, x1 in intervals.sort_values("x0")[["x0", "x1"]].itertuples(index=False):
        if merged and x0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], x1)
        else:
            merged.append([x0, x1])
    return [tuple(m) for m in merged]


def _ends(resolved: pd.Series, end: pd.Timestamp):
    """When each alert ended inside the window: its resolve time, or `end` while still open (in ns, the unit
    `end` is in, since pandas will not fill a coarser datetime column with a finer Timestamp)."""
    times = pd.to_datetime(resolved).astype("datetime64[ns]")
    end = pd.Timestamp(end).as_unit("ns")
    return times.fillna(end).clip(upper=end).to_numpy()


def alert_spans(alerts: pd.DataFrame, start, end) -> pd.DataFrame:
    """Per severity, the stretches of [start, end] when at least one alert was open, overlaps merged;
    an alert still open lasts until `end`."""
    if alerts is None or alerts.empty:
        return pd.DataFrame(columns=SPAN_COLUMNS)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    frame = pd.DataFrame({"severity": alerts["severity"].to_numpy(),
                          "x0": pd.to_datetime(alerts["started_at"]).clip(lower=start).to_numpy(),
                          "x1": _ends(alerts["resolved_at"], end)})
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


# -- alerts on the series they belong to -------------------------------------------------------------------
def alert_key_column(group: str) -> str:
    """The alerts column naming the series an alert belongs to: its country, or its server per server."""
    return "server_id" if group == "server" else "country"


def host_alerts(alerts: pd.DataFrame | None) -> pd.DataFrame | None:
    """The alerts about the monitoring host itself (no server): they concern every series."""
    if alerts is None or alerts.empty or "server_id" not in alerts:
        return alerts
    return alerts[alerts["server_id"].isna()]


def _merge_texts(rows: pd.DataFrame) -> list[tuple]:
    """Overlapping (x0, x1, text) intervals joined, their texts kept once each, in time order."""
    merged: list[list] = []
    for x0, x1, text in rows.sort_values("x0")[["x0", "x1", "text"]].itertuples(index=False):
        if merged and x0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], x1)
            if text not in merged[-1][2]:
                merged[-1][2].append(text)
        else:
            merged.append([x0, x1, [text]])
    return [(x0, x1, "<br>".join(texts)) for x0, x1, texts in merged]


def series_alert_spans(alerts: pd.DataFrame | None, start, end, key_column: str) -> pd.DataFrame:
    """Per series key and severity, the stretches of [start, end] when its alerts were open (overlaps merged,
    an open alert lasting until `end`), with their messages; alerts about no server are left out."""
    if alerts is None or alerts.empty or key_column not in alerts:
        return pd.DataFrame(columns=SERIES_SPAN_COLUMNS)
    mine = alerts[alerts[key_column].notna() & alerts["server_id"].notna()]
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    frame = pd.DataFrame({"key": mine[key_column].astype(str).to_numpy(), "severity": mine["severity"].to_numpy(),
                          "x0": pd.to_datetime(mine["started_at"]).clip(lower=start).to_numpy(),
                          "x1": _ends(mine["resolved_at"], end),
                          "text": [f"{sev}: {msg}" for sev, msg in zip(mine["severity"], mine["message"])]})
    frame = frame[frame["x1"] > frame["x0"]]
    rows = [(key, severity, x0, x1, text) for (key, severity), part in frame.groupby(["key", "severity"], sort=True)
            for x0, x1, text in _merge_texts(part)]
    out = pd.DataFrame(rows, columns=SERIES_SPAN_COLUMNS)
    order = {name: i for i, name in enumerate(SEVERITY_ORDER)}  # critical last, so drawn on top
    return out.sort_values(["severity", "key", "x0"], key=lambda c: c.map(order) if c.name == "severity" else c,
                           ignore_index=True)


class Line:
    """One series' points with a value in `column`, in time order, prepared once for every halo along it."""

    def __init__(self, rows: pd.DataFrame, column: str):
        values = rows[["bucket", column]].dropna().sort_values("bucket")
        self.buckets = pd.to_datetime(values["bucket"]).reset_index(drop=True)
        self.ns = self.buckets.to_numpy(dtype="datetime64[ns]").astype("int64")  # UTC, for searchsorted
        self.values = values[column].to_numpy(dtype=float)


def _ns(at) -> int:
    """A time as UTC nanoseconds since 1970, comparable with Line.ns (naive times are taken as UTC)."""
    return pd.Timestamp(at).as_unit("ns").value


def halo_points(line: Line, x0, x1, bucket_seconds: int) -> tuple[list, list, bool]:
    """(xs, ys, bridged) of the halo over [x0, x1] along one series: its points in the span (a bucket that
    overlaps it), from x0 to x1; where it has none (a server that is down has no latency), a straight bridge at
    its last level before (or first after), bridged=True; ([], [], False) when the series has no value at all."""
    if not len(line.ns):
        return [], [], False
    x0, x1 = pd.Timestamp(x0), pd.Timestamp(x1)
    # Binary search, not a mask per span: 200 open alerts on 20 lines of 1,000 points is 200 searches.
    lo = int(np.searchsorted(line.ns, _ns(x0) - int(bucket_seconds) * 10**9, side="right"))
    hi = int(np.searchsorted(line.ns, _ns(x1), side="right"))
    if hi <= lo:
        before = int(np.searchsorted(line.ns, _ns(x0), side="left"))
        level = float(line.values[before - 1] if before else line.values[0])
        return [x0, x1], [level, level], True
    inside = line.values[lo:hi]
    xs = [x0, *[max(x0, b) for b in line.buckets.iloc[lo:hi]], x1]
    return xs, [float(inside[0]), *map(float, inside), float(inside[-1])], False


def _lines_of(df: pd.DataFrame, column: str) -> dict[str, Line]:
    """Each series key's Line of `column`."""
    return {str(k): Line(rows, column) for k, rows in df.groupby("key", sort=False)}


def halo_segments(trace) -> list[tuple[str, list, list]]:
    """(series key, xs, ys) of each halo a halo trace carries, in order (its segments are split by None)."""
    keys, xs, ys, segments = list(trace.meta or []), list(trace.x), list(trace.y), []
    cut = [-1] + [i for i, x in enumerate(xs) if x is None] + [len(xs)]
    for key, (a, b) in zip(keys, zip(cut, cut[1:])):
        segments.append((key, xs[a + 1:b], ys[a + 1:b]))
    return segments


def add_series_halos(fig: go.Figure, alerts: pd.DataFrame | None, df: pd.DataFrame, *, group: str, column: str,
                     window, bucket_seconds: int) -> pd.DataFrame:
    """Draw a halo along each series' line while its alerts were open, behind the lines (zorder -1: the series
    lines stay the first traces); returns the spans drawn (series_alert_spans).

    Every halo of one severity and style is a segment of ONE trace (meta: the segment's series keys, in order):
    plotly's cost grows with the trace count, and an alert storm's 20-200 halos as as many traces made the
    latency graph the longest task of a page load and of the tick that redraws it (issue 12). Their messages
    are on the start marks (add_series_starts), so the halos themselves take no hover."""
    if alerts is None or alerts.empty or df.empty:
        return pd.DataFrame(columns=SERIES_SPAN_COLUMNS)
    start, end = _window_of(alerts, window)
    spans = series_alert_spans(alerts, start, end, alert_key_column(group))
    lines = _lines_of(df, column)
    merged: dict[tuple, dict] = {}  # (severity, bridged) -> keys, xs, ys; spans come in drawing order
    for span in spans.itertuples(index=False):
        if span.key not in lines:
            continue
        xs, ys, bridged = halo_points(lines[span.key], span.x0, span.x1, bucket_seconds)
        if xs:
            halo = merged.setdefault((span.severity, bridged), {"keys": [], "x": [], "y": []})
            gap = [None] if halo["keys"] else []
            halo["keys"].append(span.key)
            halo["x"] += gap + xs
            halo["y"] += gap + ys
    fig.add_traces([go.Scatter(
        x=h["x"], y=h["y"], mode="lines", name=ALERT_TRACE, meta=h["keys"], showlegend=False, connectgaps=False,
        zorder=-1, opacity=HALO_OPACITY, hoverinfo="skip",
        line={"color": ALERT_COLORS[severity], "width": HALO_WIDTH, "dash": "dot" if bridged else "solid"},
        _validate=False) for (severity, bridged), h in merged.items()])
    return spans


def add_series_starts(fig: go.Figure, alerts: pd.DataFrame | None, df: pd.DataFrame, *, group: str, column: str,
                      window, bucket_seconds: int) -> None:
    """A mark on the series' line where each of its alerts began, with its message on hover; an alert open
    since before the window is marked at the window's start (the halos carry no hover)."""
    key_column = alert_key_column(group)
    if alerts is None or alerts.empty or df.empty or key_column not in alerts:
        return
    start, end = pd.Timestamp(_window_of(alerts, window)[0]), pd.Timestamp(_window_of(alerts, window)[1])
    mine = alerts[alerts["server_id"].notna() & alerts[key_column].notna()]
    mine = mine.assign(key=mine[key_column].astype(str), started_at=pd.to_datetime(mine["started_at"]),
                       ended=_ends(mine["resolved_at"], end))
    mine = mine[(mine["started_at"] <= end) & (mine["ended"] > start.as_unit("ns").to_datetime64())]
    lines = _lines_of(df, column)
    xs, ys, colors, texts = [], [], [], []
    for row in mine.sort_values("started_at").itertuples(index=False):
        at = max(row.started_at, start)
        points, levels, _ = (halo_points(lines[row.key], at, at, bucket_seconds)
                             if row.key in lines else ([], [], False))
        if points:
            xs.append(at)
            ys.append(levels[0])
            colors.append(ALERT_COLORS.get(row.severity, ALERT_COLORS["warning"]))
            texts.append(f"{row.severity}: {row.message}" + (" (open since before this window)"
                                                             if row.started_at < start else ""))
    if xs:
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", name=ALERT_TRACE, showlegend=False,
            marker={"symbol": "triangle-down", "size": 11, "color": colors, "line": {"width": 1, "color": "#ffffff"}},
            text=texts, hovertemplate="%{text}<extra>alert</extra>", cliponaxis=False))


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
