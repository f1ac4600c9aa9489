"""SmokePing-style views of the RTT spread per round: nested quantile bands with the median, or every
sample as translucent smoke; one row per server, loss marked on the line. Wide windows get a summary
from the stored rollups instead (fastest to slowest packet and the mean). A note under the bottom axis
says which of these is shown and at what bucket size."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.frames import band_polygon, has_sub_ms, in_zone, insert_gaps, ms_labels, value_ceiling, window_in, zone_note
from figures.theme import palette, template
from figures.timeseries import add_threshold_bands, bucket_label, data_start, mark_data_start

ROW_HEIGHT = 170
# (lower, upper, opacity): the outer band is faintest, as in SmokePing.
BANDS = (("rtt_min", "rtt_max", 0.12), ("p10", "p90", 0.22), ("p25", "p75", 0.38))
# Loss steps (upper bound %, colour) for the markers on the median.
LOSS_STEPS = ((5.0, "#f59e0b"), (20.0, "#ea580c"), (99.999, "#dc2626"), (100.0, "#7f1d1d"))
SUMMARY_BAND_OPACITY = 0.22
NOTE_FONT_SIZE = 10


def packets_note(bucket_seconds: int) -> str:
    """What the quantile view shows."""
    return (f"Per-packet RTT, {bucket_label(bucket_seconds)} buckets · shades: min–max, 10–90 %, 25–75 % "
            "· line: median · dots: loss")


def summary_note(bucket_seconds: int) -> str:
    """What the rollup summary shows, and how to get the per-packet smoke back."""
    return (f"{bucket_label(bucket_seconds).capitalize()} summary · shade: fastest to slowest packet · line: mean "
            "RTT · dots: loss · shorter ranges show per-packet smoke")


SAMPLES_NOTE = "Every answered packet · diamonds along the top: rounds that lost packets, coloured by the share lost"
LOST_TRACE = "lost"  # the name of the samples view's lost-packet marks, so tests and callers can tell them apart
LOST_COLUMNS = ["server_id", "timestamp", "lost", "sent"]


def loss_color(loss_pct: float) -> str:
    """The marker colour of a loss percentage (above 0)."""
    return next(color for bound, color in LOSS_STEPS if loss_pct <= bound)


def figure_height(servers: int) -> int:
    """Pixel height of a smoke figure with this many rows."""
    return 60 + ROW_HEIGHT * max(servers, 1)


def _grid(names: dict[str, str], dark: bool, uirevision: str, window) -> go.Figure:
    """Stacked rows sharing the time axis, one per server, titled on the left (window already in the display
    zone)."""
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
    # Arrays, not lists: Plotly checks a list item by item (most of a figure's build time); None stays the
    # break between runs in x, NaN in y (both are a missing point to plotly.js).
    fig.add_trace(go.Scatter(x=np.array(xs, dtype=object), y=np.array(ys, dtype=float), mode="lines",
                             line={"width": 0}, fill="toself", fillcolor=f"rgba({smoke}, {alpha})",
                             hoverinfo="skip"), row=row, col=1)


def _center_line(fig: go.Figure, rows: pd.DataFrame, column: str, color: str, row: int) -> None:
    """The median (or mean) line, with min/max and loss in its hover (RTTs as ms_labels writes them)."""
    loss = [f"{v:.1f}" if np.isfinite(v) else "" for v in pd.to_numeric(rows["loss_pct"], errors="coerce")]
    custom = np.column_stack([ms_labels(rows[column]), ms_labels(rows["rtt_min"]), ms_labels(rows["rtt_max"]),
                              np.array(loss, dtype=object)])
    label = "median" if column == "median" else "mean"
    fig.add_trace(go.Scatter(
        x=rows["bucket"], y=rows[column], mode="lines", line={"color": color, "width": 1.6}, connectgaps=False,
        customdata=custom, name=label,
        hovertemplate=f"{label} %{{customdata[0]}} ms · min %{{customdata[1]}} · max %{{customdata[2]}}"
                      " · loss %{customdata[3]}%<extra></extra>"), row=row, col=1)


def _loss_marks(fig: go.Figure, rows: pd.DataFrame, column: str, top: float, row: int) -> None:
    """A coloured dot on the line where packets were lost (at the top edge when none came back)."""
    lossy = rows[rows["loss_pct"].fillna(0) > 0]
    if lossy.empty:
        return
    y = lossy[column].fillna(top * 0.96)
    fig.add_trace(go.Scatter(x=lossy["bucket"], y=y, mode="markers", hoverinfo="skip",
                             marker={"size": 6, "color": [loss_color(v) for v in lossy["loss_pct"]],
                                     "line": {"width": 0}}), row=row, col=1)


def _note(fig: go.Figure, text: str, rows: int, tz: str | None = None, window=None) -> None:
    """Say under the bottom axis what the figure shows (the resolution changes with the window) and which zone
    its times are in."""
    fig.update_xaxes(title={"text": f"{text} · {zone_note(tz, window)}", "font": {"size": NOTE_FONT_SIZE},
                            "standoff": 6}, row=max(rows, 1), col=1)


def _rows_of(bands: pd.DataFrame, sid: str, bucket_seconds: int, gap_seconds: float) -> pd.DataFrame:
    """One server's rows with a blank row wherever data is missing, so bands and lines break there."""
    return insert_gaps(bands[bands["server_id"] == sid], bucket_seconds, gap_seconds, key="server_id")


def _summary_top(rows: pd.DataFrame, thresholds: dict[str, float]) -> float:
    """The y axis top of a summary row: the usual slowest packet, not one hour's worst spike."""
    usual_max = rows["rtt_max"].quantile(0.9) if rows["rtt_max"].notna().any() else None
    floor = max(float(thresholds["excellent"]), value_ceiling(rows["rtt_mean"], 0.0, headroom=1.3))
    return value_ceiling(pd.Series([usual_max], dtype=float), floor, headroom=1.2)


def smoke_figure(bands: pd.DataFrame, names: dict[str, str], thresholds: dict[str, float], *, bucket_seconds: int,
                 gap_seconds: float, window=None, dark: bool = False, uirevision: str = "",
                 note: str | None = None, tz: str | None = None) -> go.Figure:
    """Quantile bands (min-max, p10-p90, p25-p75) and the median per server, over the threshold bands; times
    in the display zone tz."""
    fig = _grid(names, dark, uirevision, window_in(window, tz))
    mark_data_start(fig, data_start(bands.get("bucket"), window), dark, tz, yref="paper")
    bands = in_zone(bands, ["bucket"], tz)
    colors = palette(dark)
    for row, sid in enumerate(names, start=1):
        rows = _rows_of(bands, sid, bucket_seconds, gap_seconds)
        top = value_ceiling(rows.get("p90", pd.Series(dtype=float)), float(thresholds["excellent"]), headroom=1.4)
        add_threshold_bands(fig, thresholds, top, dark, row=row, col=1)
        for lower, upper, alpha in BANDS:
            _band(fig, rows, lower, upper, alpha, colors["smoke"], row)
        _center_line(fig, rows, "median", colors["text"], row)
        _loss_marks(fig, rows, "median", top, row)
        fig.update_yaxes(range=[0, top], title_text="ms", row=row, col=1)
    _note(fig, note or packets_note(bucket_seconds), len(names), tz, window)
    return fig


def summary_figure(bands: pd.DataFrame, names: dict[str, str], thresholds: dict[str, float], *, bucket_seconds: int,
                   gap_seconds: float, window=None, dark: bool = False, uirevision: str = "",
                   tz: str | None = None) -> go.Figure:
    """The wide-window smoke view from rollups: fastest-to-slowest band and the mean per server and bucket; times
    in the display zone tz."""
    fig = _grid(names, dark, uirevision, window_in(window, tz))
    mark_data_start(fig, data_start(bands.get("bucket"), window), dark, tz, yref="paper")
    bands = in_zone(bands, ["bucket"], tz)
    colors = palette(dark)
    for row, sid in enumerate(names, start=1):
        rows = _rows_of(bands, sid, bucket_seconds, gap_seconds)
        top = _summary_top(rows, thresholds)
        add_threshold_bands(fig, thresholds, top, dark, row=row, col=1)
        _band(fig, rows, "rtt_min", "rtt_max", SUMMARY_BAND_OPACITY, colors["smoke"], row)
        _center_line(fig, rows, "rtt_mean", colors["text"], row)
        _loss_marks(fig, rows, "rtt_mean", top, row)
        fig.update_yaxes(range=[0, top], title_text="ms", row=row, col=1)
    _note(fig, summary_note(bucket_seconds), len(names), tz, window)
    return fig


def lost_per_round(samples: pd.DataFrame, rounds: pd.DataFrame | None = None) -> pd.DataFrame:
    """(server_id, timestamp, lost, sent) of every round that lost packets. From the rounds' packet counters
    when given (round_samples rows), else counted from the samples: fping and tcp store a lost packet as a
    null sample, while ping stores only the replies, so only the counters see every loss."""
    if rounds is not None and {"packets_transmitted", "packets_received"} <= set(rounds.columns):
        sent = pd.to_numeric(rounds["packets_transmitted"], errors="coerce").fillna(0)
        lost = (sent - pd.to_numeric(rounds["packets_received"], errors="coerce").fillna(0)).clip(lower=0)
        out = pd.DataFrame({"server_id": rounds["server_id"].to_numpy(), "timestamp": rounds["timestamp"].to_numpy(),
                            "lost": lost.to_numpy(dtype=int), "sent": sent.to_numpy(dtype=int)})
    elif samples.empty:
        return pd.DataFrame(columns=LOST_COLUMNS)
    else:
        grouped = samples.assign(missing=samples["rtt_ms"].isna()).groupby(["server_id", "timestamp"], sort=True)
        out = pd.DataFrame({"lost": grouped["missing"].sum(), "sent": grouped.size()}).reset_index()
    return out[out["lost"] > 0].reindex(columns=LOST_COLUMNS).sort_values(["server_id", "timestamp"],
                                                                          ignore_index=True)


def _lost_marks(fig: go.Figure, lost: pd.DataFrame, top: float, row: int) -> None:
    """A dot along the top edge of the row for each round that lost packets, coloured by the share lost (as
    SmokePing colours its median by loss), with 'n of m packets lost' on hover."""
    if lost.empty:
        return
    share = 100.0 * lost["lost"] / lost["sent"].where(lost["sent"] > 0)
    fig.add_trace(go.Scatter(
        x=lost["timestamp"], y=np.full(len(lost), top * 0.96), mode="markers", name=LOST_TRACE,
        marker={"size": 7, "symbol": "diamond", "color": [loss_color(min(v, 100.0)) for v in share.fillna(100.0)],
                "line": {"width": 0}},
        customdata=lost[["lost", "sent"]].to_numpy(), cliponaxis=False,
        hovertemplate="%{customdata[0]} of %{customdata[1]} packets lost<extra></extra>"), row=row, col=1)


def _sample_hover(values: pd.Series) -> dict:
    """The dots' hover: one decimal, or ms_labels text when some RTT is below 1 ms (text only then: this
    view has up to 20,000 dots, and the labels would add about a third to what the browser is sent)."""
    if has_sub_ms(values):
        return {"text": ms_labels(values), "hovertemplate": "%{text} ms<extra></extra>"}
    return {"hovertemplate": "%{y:.1f} ms<extra></extra>"}


def samples_figure(samples: pd.DataFrame, names: dict[str, str], thresholds: dict[str, float], *, window=None,
                   dark: bool = False, uirevision: str = "", rounds: pd.DataFrame | None = None,
                   tz: str | None = None) -> go.Figure:
    """Every answered sample as a translucent dot per server, and a mark at the top where a round lost packets
    (counted from `rounds`' packet counters when given, else from the null samples; see lost_per_round); times
    in the display zone tz."""
    fig = _grid(names, dark, uirevision, window_in(window, tz))
    smoke = palette(dark)["smoke"]
    mark_data_start(fig, data_start(samples.get("timestamp"), window), dark, tz, yref="paper")
    lost = in_zone(lost_per_round(samples, rounds), ["timestamp"], tz)
    samples = in_zone(samples, ["timestamp"], tz)
    for row, sid in enumerate(names, start=1):
        rows = samples[(samples["server_id"] == sid) & samples["rtt_ms"].notna()]
        # The 98th percentile, not the max, sets the scale: one spike must not flatten the smoke.
        q98 = rows["rtt_ms"].quantile(0.98) if not rows.empty else None
        top = value_ceiling(pd.Series([q98], dtype=float), float(thresholds["excellent"]), headroom=1.3)
        add_threshold_bands(fig, thresholds, top, dark, row=row, col=1)
        # SVG, not Scattergl: WebGL would need 'unsafe-eval' in the Content-Security-Policy (security/headers.py).
        fig.add_trace(go.Scatter(x=rows["timestamp"], y=rows["rtt_ms"], mode="markers", name="samples",
                                 marker={"size": 4, "color": f"rgba({smoke}, 0.35)"}, **_sample_hover(rows["rtt_ms"])),
                      row=row, col=1)
        _lost_marks(fig, lost[lost["server_id"] == sid], top, row)
        fig.update_yaxes(range=[0, top], title_text="ms", row=row, col=1)
    _note(fig, SAMPLES_NOTE, len(names), tz, window)
    return fig
