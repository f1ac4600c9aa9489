"""A server's SIP OPTIONS history: mean response time above, the highest final code of each bucket below."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from figures.frames import in_zone, insert_gaps, series_names, trace_uid
from figures.theme import ACCENT_COLOR, STATUS_COLORS, series_colour, template
from figures.timeseries import loss_heatmap, metric_figure

CODE_COLORS = {2: STATUS_COLORS["up"], 4: STATUS_COLORS["degraded"]}  # 5xx, 6xx and none: down's red


def code_colour(code) -> str:
    """Green for 2xx, orange for 4xx (mostly "the stack answers"), red for 5xx/6xx."""
    if code is None or pd.isna(code):
        return STATUS_COLORS["down"]
    return CODE_COLORS.get(int(code) // 100, STATUS_COLORS["down"])


def sip_history_figure(series: pd.DataFrame, *, dark: bool = False, uirevision: str = "", window=None) -> go.Figure:
    """Response time (ms) and code per bucket of a sip_series frame of one server."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.08)
    fig.update_layout(template=template(dark), uirevision=uirevision, showlegend=False)
    fig.add_trace(go.Scatter(x=series["bucket"], y=series["response_ms"], mode="lines+markers", name="SIP response",
                             line={"color": ACCENT_COLOR, "width": 2}, marker={"size": 4},
                             hovertemplate="%{y:.1f} ms<extra>SIP response</extra>"), row=1, col=1)
    codes = series["code"].astype("float64")
    fig.add_trace(go.Scatter(x=series["bucket"], y=codes, mode="markers", name="SIP code",
                             marker={"color": [code_colour(c) for c in series["code"]], "size": 7},
                             customdata=series["up_pct"], hovertemplate="code %{y:.0f}, up in %{customdata:.0f}% "
                                                                      "of checks<extra></extra>"), row=2, col=1)
    fig.update_yaxes(title_text="response ms", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="code", range=[100, 700], dtick=100, row=2, col=1)
    if window is not None:
        fig.update_xaxes(range=[window[0], window[1]], type="date")
    return fig


def add_sip_lines(fig: go.Figure, sip: pd.DataFrame, *, group: str, bucket_seconds: int, gap_seconds: float,
                  colors: dict[str, str] | None = None, tz: str | None = None) -> go.Figure:
    """The SIP response time of each key as a dotted line in its series' colour over a network latency figure
    (the 'both' view): the trunk's answer beside the path's, one legend entry each ('SIP · Kenya')."""
    names = series_names(sip, group)
    rows = insert_gaps(in_zone(sip, ["bucket"], tz), bucket_seconds, gap_seconds)
    for key, part in rows.groupby("key", sort=True):
        color = (colors or {}).get(str(key)) or series_colour(key)
        fig.add_trace(go.Scatter(x=part["bucket"], y=part["response_ms"], name=f"SIP · {names.get(str(key), key)}",
                                 uid=trace_uid("sip_response_ms", key), mode="lines", connectgaps=False,
                                 line={"color": color, "width": 2, "dash": "dot"},
                                 hovertemplate="SIP %{y:.1f} ms<extra>%{fullData.name}</extra>"))
    return fig


def sip_series_figures(sip: pd.DataFrame, *, gap_seconds: float, **view) -> tuple:
    """(response time, request loss, share of up checks) of a sip_series frame: the three series graphs when
    the view is SIP only. `view` is the keyword set the network figures take (callbacks.graphs.series_view)."""
    response = metric_figure(sip, "response_ms", unit="ms", axis_title="SIP response (ms)", gap_seconds=gap_seconds,
                             floor=5.0, **view)
    loss = loss_heatmap(sip, **view)
    up = metric_figure(sip, "up_pct", unit="%", axis_title="SIP checks up (%)", gap_seconds=gap_seconds,
                       floor=100.0, **view)
    return response, loss, up
