"""The overview's series graphs: latency, loss and jitter over time, per country or server.

Each refresh first reads a cheap version stamp of the selected rows; when it and the view are unchanged
the callback returns no_update, so the browser is sent nothing and keeps its zoom and hover. While the
user is zoomed in (callbacks.zoom), only the visible window is queried, in finer buckets.
"""
from __future__ import annotations

import time

import pandas as pd
from dash import Input, Output, State, no_update

from callbacks.registry import callback

from callbacks.common import (NO_DATA, drawn_once, fetch, filters_from_search, frames_digest, remember_view,
                              settled_first, signature, view_key, window_of)
from callbacks.zoom import zoomed_filters
from figures.empty import message_figure
from figures.sip import add_sip_lines, sip_series_figures
from figures.theme import key_colors
from figures.timeseries import latency_figure, loss_heatmap, metric_figure
from layouts import ids
from queries.alerts import alerts_version, list_alerts
from queries.catalog import servers_frame
from queries.filters import Filters
from queries.history import data_version
from queries.pingdata import ping_series, series_bucket_seconds
from queries.series import gap_seconds_for, typical_step
from queries.sipseries import sip_series
from runtime import get_runtime


def series_colors(config, group: str) -> dict[str, str]:
    """Each country's (or server's) colour, derived from its name (so adding one changes no other's)."""
    frame = servers_frame(config)
    return key_colors(sorted(frame["country"].unique()) if group == "country" else list(frame["server_id"]))



def zoom_key(filters: Filters, shown: Filters) -> tuple | None:
    """The zoomed window, or None for the whole one (which moves with the clock, so it is not named)."""
    return window_of(shown) if window_of(shown) != window_of(filters) else None


def series_view(config, filters: Filters, shown: Filters, group: str, bucket: int, dark: bool,
                tz: str | None = None) -> dict:
    """The keyword arguments the three series figures share: the legend state lives under the view's
    uirevision, the time axis under one that also names the zoom and the zone, so a zoom, a reset or another
    zone applies its window."""
    key, zoom = view_key(filters, group), zoom_key(filters, shown)
    return {"group": group, "bucket_seconds": bucket, "window": window_of(shown), "dark": dark, "uirevision": key,
            "x_uirevision": f"{key}|{zoom}|{tz}", "zoomed": zoom is not None, "colors": series_colors(config, group),
            "tz": tz}


def series_gap_seconds(df: pd.DataFrame, bucket: int, interval_seconds: float) -> float:
    """How far apart two points may be before the line breaks: also twice the data's own step, so history
    stored at a longer interval than today's, zoomed into buckets finer than it, is not drawn as dots."""
    steps = pd.Series(df["bucket"].drop_duplicates().sort_values())
    return max(gap_seconds_for(bucket, interval_seconds), 2 * typical_step(steps))


def series_figures(df, config, filters, group: str, bucket: int, dark: bool, alerts=None, shown=None,
                   tz: str | None = None, only: int | None = None) -> tuple:
    """(latency, loss, jitter) figures of a ping_series frame; the latency graph marks the alerts on their
    series. `shown` is the zoomed part of the filters' window, if any; times in the display zone tz. With
    `only` (0, 1 or 2) just that figure is drawn and the others are None."""
    view = series_view(config, filters, shown or filters, group, bucket, dark, tz)
    if df.empty and not view["zoomed"]:  # a zoom keeps its axes (and the double-click back) even when empty
        return (message_figure(NO_DATA, dark),) * 3
    gap = series_gap_seconds(df, bucket, config.interval_seconds)
    draw = (lambda: latency_figure(df, config.thresholds, gap_seconds=gap, alerts=alerts, **view),
            lambda: loss_heatmap(df, **view),
            lambda: metric_figure(df, "jitter_ms", unit="ms", axis_title="jitter (ms)", gap_seconds=gap,
                                  limit=config.alert_conditions.max_jitter, floor=5.0, **view))
    return tuple(d() if only is None or i == only else None for i, d in enumerate(draw))


def versions(engine, filters, bucket_seconds: int = 60) -> tuple:
    """What the graphs were drawn from: the rows' stamp (the window moving by whole buckets) and the alerts' (a
    stale alert opens with no new row)."""
    return data_version(engine, filters, bucket_seconds), alerts_version(engine, filters)


def series_failed(error: str, dark: bool) -> tuple:
    """The series graphs' outputs when a query failed."""
    return (message_figure(f"Could not load the measurements. {error}", dark),) * 3 + (None,)


def series_callback(graph: str, store: str):
    """The declaration of one series graph's callback: its figure and its own signature store."""
    return callback(Output(graph, "figure"), Output(store, "data"),
                    Input(ids.URL, "search"), Input(ids.SERIES_WAKE, "data"), Input(ids.GROUP_TOGGLE, "value"),
                    Input(ids.THEME_SWITCH, "value"), State(store, "data"), Input(ids.SERIES_ZOOM, "data"),
                    Input(ids.DISPLAY_TZ, "data"), Input(ids.PROBE_TOGGLE, "value"))


# One callback per graph, not one for all three: each response is its own render in the browser, so three
# plots are three tasks of ~130 ms instead of one of 400-500 ms, and the page stays responsive while they
# draw. The drawing itself is shared (refresh_series caches the three figures per signature).
# Each callback draws only its own figure (from the view's frames, read once for the three): the latency
# graph, the first one a user looks at, does not wait for the other two to be drawn.
@series_callback(ids.LATENCY_GRAPH, ids.SERIES_SIGNATURE)
def refresh_latency(search, n, group, dark, previous, zoom=None, tz=None, probe="network"):
    """The latency graph (or SIP response) of the filters, and its signature."""
    return one_graph(0, refresh_series(search, n, group, dark, previous, zoom, tz, probe, only=0))


@series_callback(ids.LOSS_GRAPH, ids.LOSS_SIGNATURE)
def refresh_loss(search, n, group, dark, previous, zoom=None, tz=None, probe="network"):
    """The loss heatmap (or SIP request loss) of the filters, and its signature."""
    return one_graph(1, refresh_series(search, n, group, dark, previous, zoom, tz, probe, only=1))


@series_callback(ids.JITTER_GRAPH, ids.JITTER_SIGNATURE)
def refresh_jitter(search, n, group, dark, previous, zoom=None, tz=None, probe="network"):
    """The jitter graph (or share of SIP checks up) of the filters, and its signature."""
    return one_graph(2, refresh_series(search, n, group, dark, previous, zoom, tz, probe, only=2))


def one_graph(index: int, outputs: tuple) -> tuple:
    """(figure, signature) of one graph from refresh_series' (latency, loss, jitter, signature)."""
    return outputs[index], outputs[3]


def refresh_series(search, _n, group, dark, previous, zoom=None, tz=None, probe="network", only=None):
    """Latency, loss and jitter per country or server for the filters (only the zoomed part of the window,
    in finer buckets, while zoomed), of the network probe, the SIP checks or both; unchanged data sends nothing.
    A live window is drawn to its last whole bucket (queries.filters.settled), so a round that lands in the
    bucket still filling sends nothing either. With `only` (0-2) the other two figures are not drawn (None)."""
    rt, dark = get_runtime(), bool(dark)
    group, probe = series_choice(group, probe)
    filters, shown, bucket, (read, error) = series_state(rt, search, zoom, group, probe)
    if error:
        return series_failed(error, dark)
    frames, spans, _ = read
    sig = signature(series_signature(rt, filters, shown, read, group, probe), dark, tz)
    if sig == previous:
        return no_update, no_update, no_update, no_update
    if zoom is None:
        remember_view(rt, ("series", search, group, dark, tz, probe))
    view = (probe, frames, spans, rt, filters, shown, group, bucket, dark, tz, only)
    figures, error = drawn_once(rt.cache, ("series", sig, only), lambda: draw_series(*view))
    if error:
        return series_failed(error, dark)
    return (*figures, sig)


def series_choice(group, probe) -> tuple[str, str]:
    """The toggles' (group, probe), or their defaults for a value they do not offer."""
    return (group if group in ("country", "server") else "country",
            probe if probe in ("network", "sip", "both") else "network")


def series_wake(rt, search, group, zoom, probe) -> str:
    """What the view's series graphs would be drawn from (series_signature); a failed read is a stamp of its
    own each time, so the graphs are asked and show the failure."""
    group, probe = series_choice(group, probe)
    filters, shown, _, (read, error) = series_state(rt, search, zoom, group, probe)
    return f"failed {time.monotonic()}" if error else series_signature(rt, filters, shown, read, group, probe)


def series_state(rt, search, zoom, group: str, probe: str) -> tuple:
    """(filters, shown, bucket, (read_frames' result, error)) of the URL's view (view_frames)."""
    return view_frames(rt, filters_from_search(search)[0], zoom, group, probe)


def series_signature(rt, filters, shown, read: tuple, group: str, probe: str) -> str:
    """What a view's series graphs are drawn from, but the theme and the zone: the frames' digest, the window,
    the view, the config's generation (thresholds, colours, names, which the frames do not hold)."""
    # A round writes its SIP rows with its network rows, so the network rows' stamp also moves for SIP.
    return signature(read[2], window_of(shown), view_key(filters, group), zoom_key(filters, shown), probe,
                     rt.generation)


def view_frames(rt, live: Filters, zoom, group: str, probe: str) -> tuple:
    """(filters, shown, bucket, (read_frames' result, error)) of a view: its window settled to the last whole
    bucket unless only the bucket still filling holds measurements (callbacks.common.settled_first)."""
    views = {}
    def read(filters):
        views[filters] = read_view(rt, filters, zoom, group, probe)
        return views[filters][3]
    whole = series_bucket_seconds(live, rt.config.interval_seconds, rt.config.retention.as_dict())
    filters, _ = settled_first(live, whole, read, lambda read: nothing_measured(read[0]))
    return views[filters]


def read_view(rt, filters: Filters, zoom, group: str, probe: str) -> tuple:
    """(filters, shown, bucket, (read_frames' result, error)) of a view's window as given (zoomed in, if so)."""
    shown = zoomed_filters(filters, zoom) or filters
    bucket = series_bucket_seconds(shown, rt.config.interval_seconds, rt.config.retention.as_dict())
    version, error = fetch("the measurements", versions, rt.read_engine, shown, bucket)
    if error:
        return filters, shown, bucket, (None, error)
    # Ten dashboards on one view read it once per change of the data, not once each. The frames do not depend on
    # the theme or the zone, so a view primed in one (callbacks.prewarm) serves the others' frames.
    key = signature(version, window_of(shown), view_key(filters, group), zoom_key(filters, shown), probe)
    return filters, shown, bucket, read_frames(probe, rt, shown, group, bucket, key)


def nothing_measured(frames: tuple) -> bool:
    """Whether a view's (measurements, alerts, SIP checks) frames hold no measurement at all."""
    return all(frame is None or frame.empty for frame in (frames[0], frames[2]))


def read_frames(probe: str, rt, shown, group: str, bucket: int, key: str) -> tuple:
    """((the (measurements, alerts, SIP checks) frames, the maintenance windows, a digest of both), error) of a
    view, read once per `key` (the data stamp and the view) for the three callbacks and every viewer; a failed
    maintenance read draws no shading, as before."""
    def read():
        frames, error = series_frames(probe, rt, shown, group, bucket)
        if error:
            return None, error
        spans = maintenance_of(rt, shown)[0]
        return (frames, spans, frames_digest(*frames) + signature(spans)), None
    return drawn_once(rt.cache, ("series-frames", key, probe), read)


def draw_series(probe: str, frames: tuple, spans, rt, filters, shown, group: str, bucket: int, dark: bool, tz,
                only: int | None = None) -> tuple:
    """((latency, loss, jitter) figures with maintenance `spans` shaded, error) of one view's frames; None for
    those `only` leaves out."""
    figures = probe_figures(probe, frames, rt, filters, shown, group, bucket, dark, tz, only)
    return tuple(shade_maintenance(figures, spans)), None


def series_frames(probe: str, rt, shown, group: str, bucket: int) -> tuple:
    """((measurements, alerts, SIP checks) frames, error) of a view; a frame the probe does not show is None."""
    sip = df = alerts = None
    if probe != "network":
        sip, error = fetch("the SIP checks", sip_series, rt.read_engine, shown, group, bucket)
        if error:
            return None, error
    if probe != "sip":
        df, error = fetch("the measurements", ping_series, rt.read_engine, shown, group, bucket)
        alerts, alert_error = fetch("the alerts", list_alerts, rt.read_engine, "all", shown)
        if error or alert_error:
            return None, error or alert_error
    return (df, alerts, sip), None


def probe_figures(probe: str, frames: tuple, rt, filters, shown, group: str, bucket: int, dark: bool, tz,
                  only: int | None = None) -> tuple:
    """(latency, loss, jitter) figures of the network view, the SIP view or both (None where `only` says)."""
    df, alerts, sip = frames
    if probe == "sip":
        return sip_figures(sip, rt.config, filters, shown, group, bucket, dark, tz)
    figures = series_figures(df, rt.config, filters, group, bucket, dark, alerts, shown, tz, only)
    if sip is not None and not sip.empty and not df.empty and figures[0] is not None:
        gap = series_gap_seconds(sip, bucket, rt.config.interval_seconds)
        add_sip_lines(figures[0], sip, group=group, bucket_seconds=bucket, gap_seconds=gap,
                      colors=series_colors(rt.config, group), tz=tz)
    return figures


def sip_figures(sip: pd.DataFrame, config, filters, shown, group: str, bucket: int, dark: bool, tz) -> tuple:
    """(SIP response, SIP request loss, share of up checks) figures; a message where no server has a SIP check."""
    view = series_view(config, filters, shown, group, bucket, dark, tz)
    if sip.empty and not view["zoomed"]:
        message = NO_DATA if any(s.sip for s in config.servers) else \
            "No server has a SIP check: add \"sip\": true to a server in config.json (README, SIP checks)."
        return (message_figure(message, dark),) * 3
    return sip_series_figures(sip, gap_seconds=series_gap_seconds(sip, bucket, config.interval_seconds), **view)


@callback(Output(ids.PROBE_VIEW, "data"), Input(ids.PROBE_TOGGLE, "value"))
def remember_probe(probe):
    """Keep the graphs' Network / SIP / Both choice where the export button (on every page) can read it."""
    return probe if probe in ("network", "sip", "both") else "network"


def maintenance_of(rt, shown) -> tuple[list, str | None]:
    """(the maintenance windows of the shown servers in the window, error): the latency graph shades them."""
    from queries.maintenance import maintenance_spans
    servers = {s.id for s in rt.config.servers
               if (not shown.countries or s.country in shown.countries)
               and (not shown.partners or s.partner in shown.partners)
               and (not shown.servers or s.id in shown.servers)}
    return fetch("maintenance windows", maintenance_spans, rt.config, rt.read_engine,
                 shown.start.replace(tzinfo=None), shown.end.replace(tzinfo=None), servers)


def shade_maintenance(figures: tuple, spans: list | None) -> tuple:
    """The latency graph with the maintenance windows `spans` shaded (planned time, not a fault)."""
    from figures.alerts import mark_maintenance
    if figures[0] is None or not spans:
        return figures
    return (mark_maintenance(figures[0], spans), *figures[1:])
