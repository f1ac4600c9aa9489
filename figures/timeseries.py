"""Latency, packet loss and jitter over time, one line per country or server, gaps left open; a note under
the time axis gives the bucket size drawn (it changes with the window and the zoom)."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import plotly.graph_objects as go

from figures.alerts import add_series_halos, add_series_starts, host_alerts, mark_alerts
from figures.frames import (bucket_grid, has_sub_ms, in_zone, insert_gaps, ms_labels, series_names, trace_uid,
                            value_ceiling, value_matrix, window_in, zone_note)
from figures.theme import CLASS_COLORS, palette, series_colour, template
from common import timezones as tzs

BAND_NAMES = ("excellent", "good", "fair", "poor", "critical")
BAND_OPACITY = {False: 0.07, True: 0.12}
LABEL_MIN_SHARE = 0.12
NOTE_FONT_SIZE = 10


def threshold_bands(thresholds: dict[str, float]) -> list[tuple[str, float, float]]:
    """(class, low, high) for each latency class, plus 'beyond' above the critical bound."""
    bounds = [0.0] + [float(thresholds[name]) for name in BAND_NAMES]
    bands = [(name, bounds[i], bounds[i + 1]) for i, name in enumerate(BAND_NAMES)]
    return bands + [("beyond", bounds[-1], bounds[-1] * 100)]


def _band_label(name: str, low: float, high: float, top: float, suffix: str) -> dict:
    """The annotation naming one class band, at the right edge of its subplot."""
    label = f"{name} ≤ {high:g} ms" if name != "beyond" else f"> {low:g} ms"
    return {"x": 1, "xref": f"x{suffix} domain", "y": (low + min(high, top)) / 2, "yref": f"y{suffix}",
            "text": label, "showarrow": False, "xanchor": "right", "opacity": 0.9,
            "font": {"size": 10, "color": CLASS_COLORS[name]}}


def threshold_shapes(thresholds: dict[str, float], top: float, dark: bool, row: int = 1) -> tuple[list, list]:
    """(shapes, annotations) as layout dicts: each latency class shaded behind one subplot row's data and
    labelled when in view and tall enough to hold its label."""
    suffix, shapes, labels = _axis_suffix(row), [], []
    for name, low, high in threshold_bands(thresholds):
        if low >= top:
            break
        shapes.append({"type": "rect", "xref": f"x{suffix} domain", "x0": 0, "x1": 1, "yref": f"y{suffix}",
                       "y0": low, "y1": high, "fillcolor": CLASS_COLORS[name], "opacity": BAND_OPACITY[bool(dark)],
                       "line": {"width": 0}, "layer": "below"})
        if (min(high, top) - low) / top >= LABEL_MIN_SHARE:  # else too thin to hold its label
            labels.append(_band_label(name, low, high, top, suffix))
    return shapes, labels


def add_threshold_bands(fig: go.Figure, thresholds: dict[str, float], top: float, dark: bool,
                        row: int | None = None, col: int | None = None) -> None:
    """Shade each latency class behind the data and label the bands that are in view."""
    shapes, labels = threshold_shapes(thresholds, top, dark, row or 1)
    # Tuples assigned at once, not add_hrect/add_annotation per band nor update_layout: those re-validate every
    # earlier shape and annotation on each call, which made the bands most of a 4-row smoke figure's build time.
    fig.layout.shapes = fig.layout.shapes + tuple(shapes)
    fig.layout.annotations = fig.layout.annotations + tuple(labels)


def _axis_suffix(row: int) -> str:
    """Plotly's axis name suffix of a subplot row ('' for the first)."""
    return "" if row == 1 else str(row)


def bucket_label(seconds: int) -> str:
    """A bucket size as people say it: '1-min', '15-min', '1-hour', '1-day'."""
    seconds = int(seconds)
    for unit, name in ((86400, "day"), (3600, "hour"), (60, "min")):
        if seconds % unit == 0:
            return f"{seconds // unit}-{name}"
    return f"{seconds}-s"


def bucket_note(bucket_seconds: int, zoomed: bool = False, zone: str | None = None) -> str:
    """The small text under the time axis: the bucket size, the zone the times are in, how to leave a zoom."""
    note = f"{bucket_label(bucket_seconds)} buckets"
    note += " · zoomed in: double-click for the whole range" if zoomed else ""
    return note + (f" · {zone}" if zone else "")


def base_figure(dark: bool, window: tuple[datetime, datetime] | None, uirevision: str, title: str = "",
                x_uirevision: str | None = None) -> go.Figure:
    """An empty figure with the theme, the window as x range and a uirevision that keeps the user's zoom.

    x_uirevision, when given, governs the time axis alone: changing it applies the new window as the range
    (a zoom drawn with finer buckets, or the reset) while legend choices stay under uirevision."""
    fig = go.Figure(layout={"template": template(dark), "uirevision": uirevision})
    if title:
        fig.update_layout(title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 14}})
    if window is not None:
        fig.update_xaxes(range=[window[0], window[1]], type="date")
    if x_uirevision is not None:
        fig.update_xaxes(uirevision=x_uirevision)
    return fig


def add_bucket_note(fig: go.Figure, bucket_seconds: int, zoomed: bool = False, tz: str | None = None,
                    window=None) -> None:
    """Write the bucket size and the time zone small under the time axis."""
    fig.update_xaxes(title={"text": bucket_note(bucket_seconds, zoomed, zone_note(tz, window)),
                            "font": {"size": NOTE_FONT_SIZE}, "standoff": 4})


ALERT_TIMES = ("started_at", "resolved_at")
# Data that starts this far into the window (a fresh install, a server added since) gets a line saying when.
DATA_START_SHARE = 0.04


def data_start(times, window) -> pd.Timestamp | None:
    """The first time with data when it lies noticeably after the window's start (else None): a fresh install's
    few minutes at the right edge of a 24-hour axis look like nothing at all without it."""
    if window is None or times is None or len(times) == 0:
        return None
    first = pd.to_datetime(pd.Series(times)).min()
    start, end = pd.Timestamp(window[0]), pd.Timestamp(window[1])
    if pd.isna(first) or first - start <= DATA_START_SHARE * (end - start):
        return None
    return first


def mark_data_start(fig: go.Figure, first: pd.Timestamp | None, dark: bool, tz: str | None = None,
                    xref: str = "x", yref: str = "y domain") -> None:
    """A dotted line where the data starts and 'data starts HH:MM' beside it (first in naive UTC; drawn and
    written in the display zone tz). Shapes and annotations as dicts: add_vline's annotation fails on dates."""
    if first is None:
        return
    at = tzs.to_display(pd.Timestamp(first), tz)
    muted = palette(dark)["muted"]
    fig.add_shape(type="line", xref=xref, x0=at, x1=at, yref=yref, y0=0, y1=1,
                  line={"color": muted, "width": 1, "dash": "dot"}, layer="above")
    fig.add_annotation(x=at, xref=xref, y=1, yref=yref, text=f"data starts {at:%H:%M}", showarrow=False,
                       xanchor="right", yanchor="top", xshift=-4, font={"size": NOTE_FONT_SIZE + 1, "color": muted},
                       bgcolor=palette(dark)["hover"], opacity=0.9, name="data-start")


def _lines(fig: go.Figure, df: pd.DataFrame, column: str, names: dict[str, str], unit: str,
           colors: dict[str, str] | None, shape: str = "linear") -> None:
    """One line per key, in key order, each in its own colour (series_colour of the key unless `colors` names
    one), with stable uids so legend choices survive a refresh."""
    for key, rows in df.groupby("key", sort=True):
        color = (colors or {}).get(str(key)) or series_colour(key)
        fig.add_trace(go.Scatter(
            x=rows["bucket"], y=rows[column], name=names.get(str(key), str(key)), uid=trace_uid(column, key),
            mode="lines", connectgaps=False, line={"color": color, "width": 2, "shape": shape},
            **_hover(rows[column], unit)))


def _hover(values: pd.Series, unit: str) -> dict:
    """A line's hover with one decimal, or for a line with sub-millisecond RTTs the text of ms_labels (two
    significant figures below 1 ms); text only then, since 20 lines of 1,000 points would carry it for nothing."""
    if unit == "ms" and has_sub_ms(values):
        return {"text": ms_labels(values), "hovertemplate": "%{text} ms<extra>%{fullData.name}</extra>"}
    return {"hovertemplate": f"%{{y:.1f}} {unit}<extra>%{{fullData.name}}</extra>"}


def latency_figure(df: pd.DataFrame, thresholds: dict[str, float], *, group: str, bucket_seconds: int,
                   gap_seconds: float, window=None, dark: bool = False, uirevision: str = "",
                   colors: dict[str, str] | None = None, alerts: pd.DataFrame | None = None,
                   x_uirevision: str | None = None, zoomed: bool = False, tz: str | None = None) -> go.Figure:
    """Mean latency per bucket and key over the threshold bands. An alert marks the line of the series it belongs
    to (a halo while it was open, a mark where it began); one about the monitoring host, which concerns every
    series, shades the chart (the whole height while critical, a ribbon along the top for warnings). Times are
    drawn in the display zone tz."""
    fig = base_figure(dark, window_in(window, tz), uirevision, x_uirevision=x_uirevision)
    add_bucket_note(fig, bucket_seconds, zoomed, tz, window)
    first = data_start(df.get("bucket"), window)  # in UTC, before the frames move into the zone
    df, alerts, window = in_zone(df, ["bucket"], tz), in_zone(alerts, ALERT_TIMES, tz), window_in(window, tz)
    top = value_ceiling(df.get("latency_ms", pd.Series(dtype=float)), float(thresholds["excellent"]) * 1.2)
    add_threshold_bands(fig, thresholds, top, dark)
    on_series = {"group": group, "column": "latency_ms", "window": window, "bucket_seconds": bucket_seconds}
    _lines(fig, insert_gaps(df, bucket_seconds, gap_seconds), "latency_ms", series_names(df, group), "ms", colors)
    add_series_halos(fig, alerts, df, **on_series)  # after the lines, drawn behind them (zorder)
    add_series_starts(fig, alerts, df, **on_series)
    mark_alerts(fig, host_alerts(alerts), window=window, top=top, tint=("critical",))
    mark_data_start(fig, first, dark, tz)
    fig.update_yaxes(range=[0, top], title_text="latency (ms)", ticksuffix="")
    return fig


def metric_figure(df: pd.DataFrame, column: str, *, group: str, bucket_seconds: int, gap_seconds: float,
                  unit: str, axis_title: str, limit: float | None = None, floor: float = 1.0, window=None,
                  dark: bool = False, uirevision: str = "", colors: dict[str, str] | None = None,
                  x_uirevision: str | None = None, zoomed: bool = False, tz: str | None = None) -> go.Figure:
    """One metric (loss %, jitter ms) per bucket and key, with the alert limit as a dashed line; times in tz."""
    fig = base_figure(dark, window_in(window, tz), uirevision, x_uirevision=x_uirevision)
    add_bucket_note(fig, bucket_seconds, zoomed, tz, window)
    mark_data_start(fig, data_start(df.get("bucket"), window), dark, tz)
    df = in_zone(df, ["bucket"], tz)
    _lines(fig, insert_gaps(df, bucket_seconds, gap_seconds), column, series_names(df, group), unit, colors,
           shape="hv" if column == "loss_pct" else "linear")
    top = value_ceiling(df.get(column, pd.Series(dtype=float)), max(floor, (limit or 0) * 1.5))
    if limit is not None:
        fig.add_hline(y=limit, line={"color": CLASS_COLORS["poor"], "width": 1, "dash": "dash"},
                      annotation_text=f"alert above {limit:g} {unit}", annotation_position="top left",
                      annotation_font={"size": 10, "color": palette(dark)["muted"]})
    fig.update_yaxes(range=[0, min(top, 100.0) if unit == "%" else top], title_text=axis_title)
    return fig


# 0 % is a faint green (measured, nothing lost), any loss turns yellow, then orange and red; no data is blank.
# The scale starts below 0 (ZERO_BAND_PCT) so that 0 % has a step of its own on the colour bar, labelled 0: a
# scale starting at 0 gave the 0 % cells a sliver of green too thin to see, and the bar's 0 looked yellow.
ZERO_BAND_PCT = 10.0
LOSS_STEP_PCT = 0.001  # any loss from here up is yellow (1 packet of 100,000 is 0.001 %)
ZERO_COLOR = "rgba(22, 163, 74, 0.35)"


def loss_scale_position(loss_pct: float) -> float:
    """Where a loss % sits on LOSS_SCALE (0 at the bottom of the 0 % step, 1 at 100 %)."""
    return (float(loss_pct) + ZERO_BAND_PCT) / (100.0 + ZERO_BAND_PCT)


LOSS_SCALE = [[0.0, ZERO_COLOR], [loss_scale_position(LOSS_STEP_PCT), ZERO_COLOR],
              [loss_scale_position(LOSS_STEP_PCT), "#facc15"], [loss_scale_position(5), "#f59e0b"],
              [loss_scale_position(20), "#ea580c"], [loss_scale_position(50), "#dc2626"], [1.0, "#7f1d1d"]]
# Colour bar ticks: "0" in the middle of its step, then a few (5 would crowd the 0 on a short bar).
LOSS_TICKS = ((-ZERO_BAND_PCT / 2, "0"), (20, "20"), (50, "50"), (100, "100"))


def loss_heatmap(df: pd.DataFrame, *, group: str, bucket_seconds: int, window, dark: bool = False,
                 uirevision: str = "", colors: dict[str, str] | None = None, x_uirevision: str | None = None,
                 zoomed: bool = False, tz: str | None = None) -> go.Figure:
    """Packet loss as a strip per country or server: one cell per bucket, blank where nothing was measured
    (colours encode loss here, so `colors` is accepted for a common signature and not used); times in tz."""
    fig = base_figure(dark, window_in(window, tz), uirevision, x_uirevision=x_uirevision)
    add_bucket_note(fig, bucket_seconds, zoomed, tz, window)
    mark_data_start(fig, data_start(df.get("bucket"), window), dark, tz)
    # The grid is laid in UTC, where the buckets are aligned (a +05:30 zone would shift them off its hours).
    matrix = value_matrix(df, "loss_pct", bucket_grid(window, bucket_seconds))
    names = series_names(df, group)
    fig.add_trace(go.Heatmap(
        z=matrix.to_numpy(), x=tzs.to_display(pd.DatetimeIndex(matrix.columns), tz),
        y=[names.get(str(k), str(k)) for k in matrix.index],
        zmin=-ZERO_BAND_PCT, zmax=100, colorscale=LOSS_SCALE, hoverongaps=False,
        colorbar={"title": {"text": "loss %", "side": "right"}, "thickness": 10, "len": 0.9, "outlinewidth": 0,
                  "tickmode": "array", "tickvals": [v for v, _ in LOSS_TICKS],
                  "ticktext": [t for _, t in LOSS_TICKS]},
        hovertemplate="%{y}<br>%{x}<br>loss %{z:.1f}%<extra></extra>"))
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig.update_xaxes(showgrid=False)
    fig.update_layout(hovermode="closest")
    return fig
