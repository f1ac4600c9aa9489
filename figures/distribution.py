"""The RTT distribution of one server: a histogram of every answered packet with its percentiles."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from figures.frames import ms_labels
from figures.theme import ACCENT_COLOR, CLASS_COLORS, palette, template
from figures.timeseries import BAND_NAMES
from common import format as fmt

BINS = 60


def histogram_range(values: pd.Series, fallback_high: float) -> tuple[float, float]:
    """The x range to draw: the middle 99% of the packets with a margin, so rare spikes do not squash it."""
    if values.empty:
        return 0.0, fallback_high
    low, high = float(values.quantile(0.005)), float(values.quantile(0.995))
    span = max(high - low, 1.0)
    return max(0.0, low - 0.25 * span), high + 0.25 * span


def summary_text(summary: dict) -> str:
    """'median 80.1 ms · p95 … · p99 …' and the packet count, for the corner of the chart."""
    if not summary.get("count"):
        return "no answered packets"
    return (f"median {fmt.ms(summary['p50'])} · p95 {fmt.ms(summary['p95'])} · p99 {fmt.ms(summary['p99'])}"
            f"<br>{summary['count']:,} packets")


def bin_counts(values: pd.Series, low: float, high: float, bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """(bin centres, packet counts) of the values inside [low, high]: BINS numbers, however many packets."""
    counts, edges = np.histogram(values.to_numpy(dtype=float), bins=bins, range=(low, high))
    return (edges[:-1] + edges[1:]) / 2, counts


def rtt_histogram(values: pd.Series, summary: dict, thresholds: dict[str, float], *, dark: bool = False,
                  uirevision: str = "", every: int = 1) -> go.Figure:
    """Histogram of RTTs with the median (solid) and p95 (dashed) marked and the class bounds dotted;
    `every` > 1 says the packets come from every n-th round of the window."""
    low, high = histogram_range(values, float(thresholds["fair"]))
    fig = go.Figure(layout={"template": template(dark), "uirevision": uirevision, "hovermode": "closest",
                            "bargap": 0.05, "showlegend": False})
    # Binned here, not by plotly: a 30-day page has ~170,000 samples, and only BINS bars need to travel.
    centres, counts = bin_counts(values, low, high)
    fig.add_trace(go.Bar(x=centres, y=counts, width=(high - low) / BINS,
                         marker={"color": ACCENT_COLOR, "opacity": 0.85},
                         customdata=ms_labels(centres), hovertemplate="%{customdata} ms: %{y} packets<extra></extra>"))
    for name in BAND_NAMES:
        if low < thresholds[name] < high:
            fig.add_vline(x=thresholds[name], line={"color": CLASS_COLORS[name], "width": 1, "dash": "dot"},
                          annotation_text=name, annotation_position="top",
                          annotation_font={"size": 10, "color": CLASS_COLORS[name]})
    _percentile_lines(fig, summary, dark)
    fig.add_annotation(text=summary_text(summary), x=1, y=1, xref="paper", yref="paper", xanchor="right",
                       yanchor="top", showarrow=False, align="right", bgcolor=palette(dark)["hover"], opacity=0.9,
                       font={"size": 11, "color": palette(dark)["text"]})
    sampled = f" · packets of 1 round in {every}" if every > 1 else ""
    fig.update_xaxes(title_text=f"round-trip time (ms){sampled}", range=[low, high])
    fig.update_yaxes(title_text="packets")
    return fig


def _percentile_lines(fig: go.Figure, summary: dict, dark: bool) -> None:
    """A solid line at the median and a dashed one at the 95th percentile."""
    color = palette(dark)["text"]
    for key, dash in (("p50", "solid"), ("p95", "dash")):
        if summary.get(key) is not None:
            fig.add_vline(x=summary[key], line={"color": color, "width": 1.5, "dash": dash})
