"""SmokePing-style views of the RTT spread per round: nested quantile bands with the median, or every
sample as translucent smoke; one row per server, loss marked on the median."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.frames import band_polygon, insert_gaps, value_ceiling
from figures.theme import palette, template
from figures.timeseries import add_threshold_bands

ROW_HEIGHT = 170
# (lower, upper, opacity): the outer band is faintest, as in SmokePing.
BANDS = (("rtt_min", "rtt_max", 0.12), ("p10", "p90", 0.22), ("p25", "p75", 0.38))
# Loss steps (upper bound %, colour) for the markers on the median.
LOSS_STEPS = ((5.0, "#f59e0b"), (20.0, "#ea580c"), (99.999, "#dc2626"), (100.0, "#7f1d1d"))


def loss_color(loss_pct: float) -> str:
    """The marker colour of a loss percentage (above 0)."""
    return next(color for bound, color in LOSS_STEPS if loss_pct <= bound)


def figure_height(servers: int) -> int:
    """Pixel height of a smoke figure with this many rows."""
    return 60 + ROW_HEIGHT * max(servers, 1)


def _grid(names: dict[str, str], dark: bool, uirevision: str, window) -> go.Figure:
    """Stacked rows sharing the time axis, one per server, titled on the left."""
    rows = max(len(names), 1)
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=min(0.08, 0.35 / rows),
                        subplot_titles=list(names.values()))
    fig.update_layout(template=template(dark), uirevision=uirevision, height=figure_height(rows),
                      showlegend=False, hovermode="x unified")
    fig.update_annotations(x=0, xanchor="left", font={"size": 12})
    if window is not None:
        fig.update_xaxes(range=[window[0], window[1]], type="date")
    return fig


def _band(fig: go.Figure, rows: pd.DataFrame, lower: str, upper: str, alpha: float, smoke: str, row: int) -> None:
    """Shade the area between two quantile columns, leaving gaps open."""
    xs, ys = band_polygon(rows["bucket"], rows[lower], rows[upper])
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line={"width": 0}, fill="toself",
                             fillcolor=f"rgba({smoke}, {alpha})", hoverinfo="skip"), row=row, col=1)


def _median(fig: go.Figure, rows: pd.DataFrame, color: str, row: int) -> None:
    """The median line with min/max and loss in its hover."""
    custom = rows[["rtt_min", "rtt_max", "loss_pct"]].to_numpy()
    fig.add_trace(go.Scatter(
        x=rows["bucket"], y=rows["median"], mode="lines", line={"color": color, "width": 1.6}, connectgaps=False,
        customdata=custom, name="median",
        hovertemplate="median %{y:.1f} ms · min %{customdata[0]:.1f} · max %{customdata[1]:.1f}"
                      " · loss %{customdata[2]:.1f}%<extra></extra>"), row=row, col=1)


def _loss_marks(fig: go.Figure, rows: pd.DataFrame, top: float, row: int) -> None:
    """A coloured dot on the median where packets were lost (at the top edge when none came back)."""
    lossy = rows[rows["loss_pct"].fillna(0) > 0]
    if lossy.empty:
        return
    y = lossy["median"].fillna(top * 0.96)
    fig.add_trace(go.Scatter(x=lossy["bucket"], y=y, mode="markers", hoverinfo="skip",
                             marker={"size": 6, "color": [loss_color(v) for v in lossy["loss_pct"]],
                                     "line": {"width": 0}}), row=row, col=1)


def smoke_figure(bands: pd.DataFrame, names: dict[str, str], thresholds: dict[str, float], *, bucket_seconds: int,
                 gap_seconds: float, window=None, dark: bool = False, uirevision: str = "") -> go.Figure:
    """Quantile bands (min-max, p10-p90, p25-p75) and the median per server, over the threshold bands."""
    fig = _grid(names, dark, uirevision, window)
    colors = palette(dark)
    for row, sid in enumerate(names, start=1):
        rows = insert_gaps(bands[bands["server_id"] == sid], bucket_seconds, gap_seconds, key="server_id")
        top = value_ceiling(rows.get("p90", pd.Series(dtype=float)), float(thresholds["excellent"]), headroom=1.4)
        add_threshold_bands(fig, thresholds, top, dark, row=row, col=1)
        for lower, upper, alpha in BANDS:
            _band(fig, rows, lower, upper, alpha, colors["smoke"], row)
        _median(fig, rows, colors["text"], row)
        _loss_marks(fig, rows, top, row)
        fig.update_yaxes(range=[0, top], title_text="ms", row=row, col=1)
    return fig


def samples_figure(samples: pd.DataFrame, names: dict[str, str], thresholds: dict[str, float], *, window=None,
                   dark: bool = False, uirevision: str = "") -> go.Figure:
    """Every answered sample as a translucent dot per server (lost packets are left out)."""
    fig = _grid(names, dark, uirevision, window)
    smoke = palette(dark)["smoke"]
    for row, sid in enumerate(names, start=1):
        rows = samples[(samples["server_id"] == sid) & samples["rtt_ms"].notna()]
        # The 98th percentile, not the max, sets the scale: one spike must not flatten the smoke.
        q98 = rows["rtt_ms"].quantile(0.98) if not rows.empty else None
        top = value_ceiling(pd.Series([q98], dtype=float), float(thresholds["excellent"]), headroom=1.3)
        add_threshold_bands(fig, thresholds, top, dark, row=row, col=1)
        # SVG, not Scattergl: WebGL would need 'unsafe-eval' in the Content-Security-Policy (security/headers.py).
        fig.add_trace(go.Scatter(x=rows["timestamp"], y=rows["rtt_ms"], mode="markers", name="samples",
                                 marker={"size": 4, "color": f"rgba({smoke}, 0.35)"},
                                 hovertemplate="%{y:.1f} ms<extra></extra>"), row=row, col=1)
        fig.update_yaxes(range=[0, top], title_text="ms", row=row, col=1)
    return fig
