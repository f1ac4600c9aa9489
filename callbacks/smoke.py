"""The overview's smoke view: per-packet RTT spread of a few servers, SmokePing-style.

It parses every round's per-packet samples only while there are at most MAX_SMOKE_SAMPLES of them; wider
windows are drawn from the stored rollups (fastest to slowest packet and the mean per bucket).
"""
from __future__ import annotations

import time
from dataclasses import replace

import pandas as pd
from dash import Input, Output, State, no_update

from callbacks.registry import callback

from callbacks.common import (NO_DATA, drawn_once, fetch, filters_from_search, frames_digest, remember_view,
                              settled_first, shared_status, signature, triggered_id, view_key, window_of)
from figures.empty import message_figure
from figures.smoke import figure_height, samples_figure, smoke_figure, summary_figure
from layouts import ids
from queries.catalog import matching, servers_frame
from queries.filters import Filters
from queries.history import (data_version, row_count, explode_samples, rollup_bands, round_samples, smoke_bands,
                             summary_bucket_seconds)
from queries.pingdata import bucket_seconds_for
from queries.series import gap_seconds_for
from runtime import get_runtime
from common.timeutil import utcnow
from common.format import records

SMOKE_DEFAULT_SERVERS = 4
SMOKE_MAX_SERVERS = 8
# Above this many samples the smoke view draws bands: an SVG scatter that large is slow and unreadable.
MAX_SAMPLE_POINTS = 20_000
# Above this many per-packet samples (rounds in the window x ping_count) the smoke view is drawn from the
# rollups. Reading and parsing cost about 3 us and 0.3 kB of peak memory per sample (measured on 2 cores),
# so a refresh stays under ~0.4 s and ~50 MB however long the window, while 24 h of 8 servers at a round a
# minute with 4 packets (46,080 samples), or of 4 servers with SmokePing-like 10 packets, keep their smoke.
MAX_SMOKE_SAMPLES = 100_000
SMOKE_MAX_POINTS = 600


# How much trouble a server is in, most first: the order the smoke view picks its default servers in.
STATUS_TROUBLE = {"down": 0, "degraded": 1, "stale": 2, "up": 3, "unknown": 4}
SEVERITY_TROUBLE = {"critical": 0, "warning": 1}


CLASS_TROUBLE = {name: rank for rank, name in enumerate(("down", "critical", "poor", "fair", "good", "excellent"))}


def trouble_key(row: dict) -> tuple:
    """Sort key putting the servers in most trouble first: by state (down, degraded, stale, up, never measured),
    then the worst open alert, then the latency class of the latest round; ties keep config order (a stable
    sort), so healthy servers a few ms apart do not swap places."""
    alerts = row.get("open_alerts") or []
    worst_alert = min((SEVERITY_TROUBLE.get(a.get("severity"), 2) for a in alerts), default=2)
    return (STATUS_TROUBLE.get(row.get("status"), 4), worst_alert,
            CLASS_TROUBLE.get(row.get("latency_class"), len(CLASS_TROUBLE)))


def worst_first(shown: pd.DataFrame, status: pd.DataFrame | None) -> list[str]:
    """The ids of the shown servers, the ones in most trouble first (config order without a status)."""
    ids_in_order = list(shown["server_id"])
    if status is None or status.empty:
        return ids_in_order
    rows = {r["server_id"]: r for r in records(status)}
    return sorted(ids_in_order, key=lambda sid: trouble_key(rows.get(sid, {})))


def smoke_choices(config, filters, selected, status: pd.DataFrame | None = None) -> tuple[list[dict], list[str]]:
    """Options (servers matching the filters) and the selection kept from before, or else the few servers in most
    trouble (server_status rows in `status`), worst first."""
    shown = matching(servers_frame(config), filters.countries, filters.partners)
    options = [{"label": f"{r['partner']} · {r['ip']} ({r['country']})", "value": r["server_id"]}
               for r in shown.to_dict("records")]
    valid = [s for s in (selected or []) if s in set(shown["server_id"])]
    return options, valid or worst_first(shown, status)[:SMOKE_DEFAULT_SERVERS]


# The latency graph's signature is an input only so that the first load asks for the RTT spread (below the
# fold, and the heaviest drawing) after the latency graph is drawn, not while the server is drawing both.
@callback(Output(ids.SMOKE_SERVERS, "options"), Output(ids.SMOKE_SERVERS, "value"),
          Input(ids.URL, "search"), State(ids.SMOKE_SERVERS, "value"), Input(ids.SERIES_SIGNATURE, "data"))
def smoke_servers(search, selected, _series=None):
    """The smoke view offers the servers the filters select, and starts with those in most trouble."""
    if triggered_id() == ids.SERIES_SIGNATURE and selected:
        return no_update, no_update  # a redrawn latency graph changes nothing here
    rt = get_runtime()
    filters, _ = filters_from_search(search)
    status, _ = fetch("the server status", shared_status, rt, utcnow())
    return smoke_choices(rt.config, filters, selected, status)


def smoke_names(config, server_ids: list[str]) -> dict[str, str]:
    """Row titles of the smoke view, in the chosen order."""
    frame = servers_frame(config).set_index("server_id")
    return {sid: f"{frame.at[sid, 'partner']} · {frame.at[sid, 'ip']} ({frame.at[sid, 'country']})"
            for sid in server_ids if sid in frame.index}


def smoke_samples(filters: Filters, servers: int, rounds: int, config) -> int:
    """How many per-packet samples the window holds: the rounds stored, or as many as the collector's
    interval makes, whichever is more (so a range is drawn the same way on every refresh)."""
    nominal = servers * (filters.end - filters.start).total_seconds() / max(config.interval_seconds, 1)
    return int(max(rounds, nominal) * max(int(config.ping_count), 1))


def smoke_is_wide(samples: int) -> bool:
    """Too many per-packet samples to parse for one refresh: draw the smoke view from the rollups."""
    return samples > MAX_SMOKE_SAMPLES


def spread_step_seconds(filters: Filters) -> int:
    """How far the RTT spread's sliding window moves before it draws anything else: its finest bucket."""
    return bucket_seconds_for(filters, max_points=SMOKE_MAX_POINTS)


def smoke_bucket(filters: Filters, wide: bool) -> int:
    """The smoke view's bucket size: up to SMOKE_MAX_POINTS per row, a rollup multiple when wide."""
    bucket = spread_step_seconds(filters)
    return summary_bucket_seconds(bucket) if wide else bucket


def smoke_data(engine, filters: Filters, names: dict, rounds: int, config) -> tuple[bool, pd.DataFrame]:
    """(wide, frame): the rollup summary per bucket when wide, else every round with its samples JSON.
    Either way the rows read are bounded: by MAX_SMOKE_SAMPLES, or by the buckets in the window."""
    if smoke_is_wide(smoke_samples(filters, len(names), rounds, config)):
        return True, rollup_bands(engine, filters, list(names), smoke_bucket(filters, True))
    return False, round_samples(engine, filters, list(names))


def packets_view(rounds, names, config, filters, mode: str, common: dict):
    """The per-packet smoke: every sample as a dot, or quantile bands (also when too many dots)."""
    note = None
    if mode == "samples":
        samples = explode_samples(rounds)
        if len(samples) <= MAX_SAMPLE_POINTS:
            return samples_figure(samples, names, config.thresholds, rounds=rounds, **common)
        note = f"Too many packets to draw one by one ({len(samples):,}): quantile bands instead"
    bucket = smoke_bucket(filters, False)
    return smoke_figure(smoke_bands(rounds, bucket), names, config.thresholds, bucket_seconds=bucket,
                        gap_seconds=gap_seconds_for(bucket, config.interval_seconds), note=note, **common)


def smoke_view(wide: bool, frame, names, config, filters, mode: str, dark: bool, tz: str | None = None):
    """The smoke figure: the rollup summary for a wide window, else the per-packet view of the mode; times in
    the display zone tz."""
    common = {"window": window_of(filters), "dark": dark, "uirevision": view_key(filters, mode, tuple(names), tz),
              "tz": tz}
    if frame.empty:
        return message_figure(NO_DATA, dark, height=figure_height(1))
    if not wide:
        return packets_view(frame, names, config, filters, mode, common)
    bucket = smoke_bucket(filters, True)
    return summary_figure(frame, names, config.thresholds, bucket_seconds=bucket,
                          gap_seconds=gap_seconds_for(bucket, config.interval_seconds), **common)


def smoke_failed(error: str, dark: bool) -> tuple:
    """The smoke view's outputs when a query failed."""
    return message_figure(f"Could not load the samples. {error}", dark, 200), {"height": "200px"}, None


@callback(Output(ids.SMOKE_GRAPH, "figure"), Output(ids.SMOKE_GRAPH, "style"), Output(ids.SMOKE_SIGNATURE, "data"),
          Input(ids.URL, "search"), Input(ids.SPREAD_WAKE, "data"), Input(ids.SMOKE_SERVERS, "value"),
          Input(ids.SMOKE_MODE, "value"), Input(ids.THEME_SWITCH, "value"), State(ids.SMOKE_SIGNATURE, "data"),
          Input(ids.DISPLAY_TZ, "data"))
def refresh_smoke(search, _n, selected, mode, dark, previous, tz=None):
    """The RTT spread of the chosen servers; unchanged data sends nothing."""
    rt, dark = get_runtime(), bool(dark)
    names = smoke_names(rt.config, (selected or [])[:SMOKE_MAX_SERVERS])
    if not names:
        return message_figure("Choose servers to see their RTT spread.", dark, 200), {"height": "200px"}, None
    filters, data, error = spread_state(rt, search, names)
    if error:
        return smoke_failed(error, dark)
    wide, frame, digest = data
    sig = signature(spread_signature(rt, filters, data, names, mode), dark, tz)
    if sig == previous:
        return no_update, no_update, no_update
    remember_view(rt, ("spread", search, tuple(selected or ()), mode, dark, tz))
    # Drawn once per change of the data for every viewer of the same servers and mode.
    fig, error = drawn_once(rt.cache, ("smoke", sig),
                            lambda: (smoke_view(wide, frame, names, rt.config, filters, mode, dark, tz), None))
    if error:
        return smoke_failed(error, dark)
    return fig, {"height": f"{fig.layout.height}px"}, sig


def spread_wake(rt, search, selected) -> str:
    """What the RTT spread of the chosen servers would be drawn from, but the mode (spread_signature); a failed
    read is a stamp of its own each time, so the graph is asked and shows the failure."""
    names = smoke_names(rt.config, (selected or [])[:SMOKE_MAX_SERVERS])
    if not names:
        return "none"
    filters, data, error = spread_state(rt, search, names)
    return f"failed {time.monotonic()}" if error else spread_signature(rt, filters, data, names, None)


def spread_state(rt, search, names: dict) -> tuple:
    """(filters, (wide, frame, digest), error) of the RTT spread of `names` in the URL's window, settled to its
    last whole bucket (callbacks.common.settled_first)."""
    filters, _ = filters_from_search(search)
    live = replace(filters, servers=tuple(names))
    filters, (data, error) = settled_first(live, spread_step_seconds(live), lambda f: read_spread(rt, f, names),
                                           lambda data: data[1].empty)
    return filters, data, error


def spread_signature(rt, filters: Filters, data: tuple, names: dict, mode) -> str:
    """What the RTT spread is drawn from, but the theme and the zone: its data, window, servers, mode, config."""
    return signature(data[2], window_of(filters), view_key(filters, mode, tuple(names)), rt.generation)


def read_spread(rt, filters: Filters, names: dict) -> tuple:
    """((wide, frame, a digest of the frame), error) of the chosen servers in the window, read once per data stamp
    for every viewer."""
    version, error = fetch("the samples", data_version, rt.read_engine, filters, spread_step_seconds(filters))
    if error:
        return None, error
    def read():
        data, error = read_smoke(rt, filters, names)
        return (None, error) if error else ((*data, frames_digest(data[1]) + str(data[0])), None)
    return drawn_once(rt.cache, ("smoke-data", version, window_of(filters), tuple(names)), read)


def read_smoke(rt, filters: Filters, names: dict) -> tuple:
    """((wide, frame), error): the chosen servers' rounds, or their rollup summary for a wide window."""
    # The number of rounds in the window decides, before reading any, how to draw them.
    rounds, error = fetch("the samples", row_count, rt.read_engine, filters)
    if error:
        return None, error
    return fetch("the samples", smoke_data, rt.read_engine, filters, names, rounds, rt.config)
