"""One server's history: latency with its min-max range over the threshold bands, loss and jitter below."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.alerts import mark_alerts
from figures.frames import band_polygon, in_zone, insert_gaps, ms_labels, value_ceiling, window_in, zone_note
from figures.theme import ACCENT_COLOR, CLASS_COLORS, SERIES_COLORS, palette, series_colour, template
from figures.timeseries import add_threshold_bands, data_start, mark_data_start

JITTER_COLOR = SERIES_COLORS[4]  # a second hue, apart from the latency line's


def _grid(dark: bool, uirevision: str, window) -> go.Figure:
    """Three stacked rows sharing time: latency (tall), loss, jitter."""
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, row_heights=[0.6, 0.2, 0.2], vertical_spacing=0.06)
    fig.update_layout(template=template(dark), uirevision=uirevision, showlegend=True)
    if window is not None:
        fig.update_xaxes(range=[window[0], window[1]], type="date")
    return fig


def _latency(fig: go.Figure, rows: pd.DataFrame, dark: bool, color: str) -> None:
    """The min-max range as a band and the mean as a line."""
    xs, ys = band_polygon(rows["bucket"], rows["min_ms"], rows["max_ms"])
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"width": 0}, fill="toself", name="min-max",
                             fillcolor=f"rgba({palette(dark)['smoke']}, 0.18)", hoverinfo="skip"), row=1, col=1)
    labels = np.column_stack([ms_labels(rows[c]) for c in ("latency_ms", "min_ms", "max_ms")])
    fig.add_trace(go.Scatter(x=rows["bucket"], y=rows["latency_ms"], mode="lines", name="mean latency",
                             line={"color": color, "width": 2}, connectgaps=False, customdata=labels,
                             hovertemplate="mean %{customdata[0]} ms (min %{customdata[1]}, max %{customdata[2]})"
                                           "<extra></extra>"), row=1, col=1)


def _lower_rows(fig: go.Figure, rows: pd.DataFrame, limits: dict) -> None:
    """Loss (row 2) and jitter (row 3) lines with their alert limits."""
    fig.add_trace(go.Scatter(x=rows["bucket"], y=rows["loss_pct"], mode="lines", name="loss",
                             line={"color": CLASS_COLORS["critical"], "width": 1.5, "shape": "hv"},
                             connectgaps=False, hovertemplate="loss %{y:.1f}%<extra></extra>"), row=2, col=1)
    fig.add_trace(go.Scatter(x=rows["bucket"], y=rows["jitter_ms"], mode="lines", name="jitter",
                             line={"color": JITTER_COLOR, "width": 1.5}, connectgaps=False,
                             text=ms_labels(rows["jitter_ms"]), hovertemplate="jitter %{text} ms<extra></extra>"),
                  row=3, col=1)
    for row, key in ((2, "max_packet_loss"), (3, "max_jitter")):
        if limits.get(key) is not None:
            fig.add_hline(y=limits[key], line={"color": CLASS_COLORS["poor"], "width": 1, "dash": "dash"},
                          row=row, col=1)


def server_history_figure(df: pd.DataFrame, thresholds: dict[str, float], *, bucket_seconds: int,
                          gap_seconds: float, limits: dict, window=None, dark: bool = False,
                          uirevision: str = "", alerts: pd.DataFrame | None = None,
                          server_id: str | None = None, tz: str | None = None) -> go.Figure:
    """Latency (mean and min-max), loss % and jitter of one server's ping_series rows, shaded where its
    alerts were open; the mean line has the server's series_colour when its id is given; times in tz."""
    fig = _grid(dark, uirevision, window_in(window, tz))
    fig.update_xaxes(title={"text": zone_note(tz, window), "font": {"size": 10}, "standoff": 4}, row=3, col=1)
    mark_data_start(fig, data_start(df.get("bucket"), window), dark, tz, yref="paper")
    df, alerts, window = in_zone(df, ["bucket"], tz), in_zone(alerts, ("started_at", "resolved_at"), tz), \
        window_in(window, tz)
    rows = insert_gaps(df, bucket_seconds, gap_seconds)
    top = value_ceiling(df.get("latency_ms", pd.Series(dtype=float)) * 1.25, float(thresholds["excellent"]) * 1.2)
    add_threshold_bands(fig, thresholds, top, dark, row=1, col=1)
    _latency(fig, rows, dark, series_colour(server_id) if server_id is not None else ACCENT_COLOR)
    _lower_rows(fig, rows, limits)
    mark_alerts(fig, alerts, window=window, top=top, subplots=True)
    loss_top = value_ceiling(df.get("loss_pct", pd.Series(dtype=float)), float(limits.get("max_packet_loss") or 1) * 2)
    jitter_top = value_ceiling(df.get("jitter_ms", pd.Series(dtype=float)), float(limits.get("max_jitter") or 1) * 1.5)
    fig.update_yaxes(range=[0, top], title_text="latency ms", row=1, col=1)
    fig.update_yaxes(range=[0, min(loss_top, 100.0)], title_text="loss %", row=2, col=1)
    fig.update_yaxes(range=[0, jitter_top], title_text="jitter ms", row=3, col=1)
    return fig
