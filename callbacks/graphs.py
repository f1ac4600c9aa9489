"""The overview's graphs: latency, loss and jitter over time, and the smoke view.

Each refresh first reads a cheap version stamp of the selected rows; when it and the view are unchanged
the callback returns no_update, so the browser is sent nothing and keeps its zoom and hover.
"""
from __future__ import annotations

from dataclasses import replace

from dash import Input, Output, State, callback, no_update

from callbacks.common import fetch, filters_from_search, signature, view_key, window_of
from figures.empty import message_figure
from figures.smoke import figure_height, samples_figure, smoke_figure
from figures.theme import key_colors
from figures.timeseries import latency_figure, loss_heatmap, metric_figure
from layouts import ids
from queries.alerts import alerts_version, list_alerts
from queries.catalog import matching, servers_frame
from queries.history import data_version, explode_samples, round_samples, smoke_bands
from queries.pingdata import bucket_seconds_for, ping_series
from queries.series import gap_seconds_for
from runtime import get_runtime

SMOKE_DEFAULT_SERVERS = 4
SMOKE_MAX_SERVERS = 8
# Above this many samples the smoke view draws bands: an SVG scatter that large is slow and unreadable.
MAX_SAMPLE_POINTS = 20_000
NO_DATA = "No measurements in this time range yet."


def series_colors(config, group: str) -> dict[str, str]:
    """Each country's (or server's) colour, fixed by its place among all configured ones."""
    frame = servers_frame(config)
    return key_colors(sorted(frame["country"].unique()) if group == "country" else list(frame["server_id"]))


def series_figures(df, config, filters, group: str, bucket: int, dark: bool, alerts=None) -> tuple:
    """(latency, loss, jitter) figures of a ping_series frame; the latency graph shades the alerts' spans."""
    if df.empty:
        return (message_figure(NO_DATA, dark),) * 3
    view = {"group": group, "bucket_seconds": bucket, "window": window_of(filters), "dark": dark,
            "uirevision": view_key(filters, group), "colors": series_colors(config, group)}
    gap = gap_seconds_for(bucket, config.interval_seconds)
    return (latency_figure(df, config.thresholds, gap_seconds=gap, alerts=alerts, **view),
            loss_heatmap(df, **view),
            metric_figure(df, "jitter_ms", unit="ms", axis_title="jitter (ms)", gap_seconds=gap,
                          limit=config.alert_conditions.get("max_jitter"), floor=5.0, **view))


def versions(engine, filters) -> tuple:
    """What the graphs were drawn from: the rows' stamp and the alerts' (a stale alert opens with no new row)."""
    return data_version(engine, filters), alerts_version(engine, filters)


@callback(Output(ids.LATENCY_GRAPH, "figure"), Output(ids.LOSS_GRAPH, "figure"), Output(ids.JITTER_GRAPH, "figure"),
          Output(ids.SERIES_SIGNATURE, "data"),
          Input(ids.URL, "search"), Input(ids.REFRESH, "n_intervals"), Input(ids.GROUP_TOGGLE, "value"),
          Input(ids.THEME_SWITCH, "value"), State(ids.SERIES_SIGNATURE, "data"))
def refresh_series(search, _n, group, dark, previous):
    """Latency, loss and jitter per country or server for the filters; unchanged data sends nothing."""
    rt = get_runtime()
    filters, _ = filters_from_search(search)
    group = group if group in ("country", "server") else "country"
    version, error = fetch("the measurements", versions, rt.read_engine, filters)
    if error:
        return (message_figure(f"Could not load the measurements. {error}", bool(dark)),) * 3 + (None,)
    sig = signature(version, view_key(filters, group), bool(dark))
    if sig == previous:
        return no_update, no_update, no_update, no_update
    bucket = bucket_seconds_for(filters)
    df, error = fetch("the measurements", ping_series, rt.read_engine, filters, group, bucket)
    alerts, alert_error = fetch("the alerts", list_alerts, rt.read_engine, "all", filters)
    if error or alert_error:
        return (message_figure(f"Could not load the measurements. {error or alert_error}", bool(dark)),) * 3 + (None,)
    return (*series_figures(df, rt.config, filters, group, bucket, bool(dark), alerts), sig)


def smoke_choices(config, filters, selected) -> tuple[list[dict], list[str]]:
    """Options (servers matching the filters) and the selection kept from before, or the first few."""
    shown = matching(servers_frame(config), filters.countries, filters.partners)
    options = [{"label": f"{r['partner']} · {r['ip']} ({r['country']})", "value": r["server_id"]}
               for r in shown.to_dict("records")]
    valid = [s for s in (selected or []) if s in set(shown["server_id"])]
    return options, valid or list(shown["server_id"][:SMOKE_DEFAULT_SERVERS])


@callback(Output(ids.SMOKE_SERVERS, "options"), Output(ids.SMOKE_SERVERS, "value"),
          Input(ids.URL, "search"), State(ids.SMOKE_SERVERS, "value"))
def smoke_servers(search, selected):
    """The smoke view offers the servers the filters select."""
    filters, _ = filters_from_search(search)
    return smoke_choices(get_runtime().config, filters, selected)


def smoke_names(config, server_ids: list[str]) -> dict[str, str]:
    """Row titles of the smoke view, in the chosen order."""
    frame = servers_frame(config).set_index("server_id")
    return {sid: f"{frame.at[sid, 'partner']} · {frame.at[sid, 'ip']} ({frame.at[sid, 'country']})"
            for sid in server_ids if sid in frame.index}


def smoke_view(rounds, names, config, filters, mode: str, dark: bool):
    """The smoke figure for the chosen mode (samples fall back to bands when there are too many)."""
    common = {"window": window_of(filters), "dark": dark, "uirevision": view_key(filters, mode, tuple(names))}
    if rounds.empty:
        return message_figure(NO_DATA, dark, height=figure_height(1))
    if mode == "samples":
        samples = explode_samples(rounds)
        if len(samples) <= MAX_SAMPLE_POINTS:
            return samples_figure(samples, names, config.thresholds, **common)
    bucket = bucket_seconds_for(filters, max_points=600)
    return smoke_figure(smoke_bands(rounds, bucket), names, config.thresholds, bucket_seconds=bucket,
                        gap_seconds=gap_seconds_for(bucket, config.interval_seconds), **common)


def smoke_failed(error: str, dark: bool) -> tuple:
    """The smoke view's outputs when a query failed."""
    return message_figure(f"Could not load the samples. {error}", dark, 200), {"height": "200px"}, None


@callback(Output(ids.SMOKE_GRAPH, "figure"), Output(ids.SMOKE_GRAPH, "style"), Output(ids.SMOKE_SIGNATURE, "data"),
          Input(ids.URL, "search"), Input(ids.REFRESH, "n_intervals"), Input(ids.SMOKE_SERVERS, "value"),
          Input(ids.SMOKE_MODE, "value"), Input(ids.THEME_SWITCH, "value"), State(ids.SMOKE_SIGNATURE, "data"))
def refresh_smoke(search, _n, selected, mode, dark, previous):
    """The RTT spread of the chosen servers; unchanged data sends nothing."""
    rt, dark = get_runtime(), bool(dark)
    names = smoke_names(rt.config, (selected or [])[:SMOKE_MAX_SERVERS])
    if not names:
        return message_figure("Choose servers to see their RTT spread.", dark, 200), {"height": "200px"}, None
    filters, _ = filters_from_search(search)
    filters = replace(filters, servers=tuple(names))
    version, error = fetch("the samples", data_version, rt.read_engine, filters)
    if error:
        return smoke_failed(error, dark)
    sig = signature(version, view_key(filters, mode, tuple(names)), dark)
    if sig == previous:
        return no_update, no_update, no_update
    rounds, error = fetch("the samples", round_samples, rt.read_engine, filters, list(names))
    if error:
        return smoke_failed(error, dark)
    fig = smoke_view(rounds, names, rt.config, filters, mode, dark)
    return fig, {"height": f"{fig.layout.height}px"}, sig
