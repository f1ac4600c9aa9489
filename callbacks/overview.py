"""The overview's status side in ONE callback: counts, server tiles, the startup notice, the wall's down banner,
the alerts feed and the log feed, routine lines folded (issue 12: a first load is a few requests, not twenty).

Each refresh builds every part as data, then compares it with the signatures the browser holds
(OVERVIEW_STATE): an unchanged part is not sent (no_update), a few changed tiles are sent alone (dash.Patch),
so a refresh with nothing new costs the browser almost nothing. The tiles carry times, not ages, for the
same reason; the browser counts ages from the `now` it is sent.
"""
from __future__ import annotations

import json

import pandas as pd
from dash import ClientsideFunction, Input, Output, Patch, State, no_update

from api.cache import current_stamp
from callbacks.common import (epoch_seconds, fetch, filters_from_search, query_args, remember_view, shared_status,
                              signature)
from callbacks.registry import callback, clientside_callback
from common.timeutil import utcnow
from layouts import ids
from layouts.panels import error_notice, notice
from layouts.status import (DEFAULT_ORDER, ORDERS, alert_items, counts_bar, down_banner, log_lines, server_tiles,
                            startup_message, status_counts, tile_density)
from queries.catalog import matching
from queries.logs import viewer_logs
from queries.status import recent_rounds
from queries.warnings import current_warnings
from runtime import collector_problem, config_problem, get_runtime

HEARTBEAT_ROUNDS = 30
LOG_LINES = 100
TILE_SIGNATURE_CHARS = 10  # per tile in OVERVIEW_STATE: 1,000 servers cost 13 kB of request state
# A refresh patches the changed tiles one by one while they are at most this share of all; beyond, it sends
# the list (a new round changes every tile's strip, and one list is smaller than a thousand patch operations).
PATCH_SHARE = 0.5

# (key, component id, property) of every output, in the order the callback returns them.
OUTPUTS = (("counts", ids.COUNTS, "children"), ("tiles", ids.TILES, "tiles"), ("groups", ids.TILES, "groups"),
           ("density", ids.TILES, "density"), ("tiles_now", ids.TILES, "now"), ("search", ids.TILES, "search"),
           ("notice", ids.NOTICE, "children"), ("banner", ids.DOWN_BANNER, "children"),
           ("alerts", ids.ALERT_FEED, "items"), ("alerts_now", ids.ALERT_FEED, "now"),
           ("alerts_search", ids.ALERT_FEED, "search"), ("alerts_more", ids.ALERT_FEED, "more"),
           ("logs", ids.LOG_FEED, "lines"), ("wall", ids.WALL_STATE, "data"), ("order", ids.ORDER_TOGGLE, "value"),
           ("state", ids.OVERVIEW_STATE, "data"), ("stamp", ids.OVERVIEW_STAMP, "data"))
# Parts sent whole when their signature changed (the tiles are compared one by one).
WHOLE_PARTS = ("counts", "groups", "density", "search", "notice", "banner", "alerts", "alerts_search",
               "alerts_more", "logs", "wall", "order")


def first_round_seconds(config) -> float:
    """About how long a round takes: one packet a second, then the reply timeout, plus a margin."""
    return float(config.ping_count) + float(config.ping_timeout) + 2.0


def startup_notice(status: pd.DataFrame, runtime, now):
    """An invalid config edit or a collector problem (cannot store rounds, thread died), else the 'collector is
    starting' notice, else None."""
    problems = [notice(p, color="danger", icon="bi-exclamation-octagon-fill")
                for p in (config_problem(runtime), collector_problem(runtime)) if p]
    if problems:
        return problems[0] if len(problems) == 1 else problems
    if not len(runtime.config.servers):
        return notice("No servers are configured: add them to the config file's servers list.", color="warning")
    if status["timestamp"].notna().any():
        return None
    collector = runtime.collector
    here = bool(collector and collector.is_alive())
    text = startup_message(here, runtime.config.interval_seconds, first_round_seconds(runtime.config), now)
    return notice(text, icon="bi-hourglass-split")


def view_order(search: str | None) -> str:
    """The tile order the URL asks for (?order=name), else worst first."""
    value = query_args(search).get("order")
    return value if value in ORDERS else DEFAULT_ORDER


def status_parts(rt, search: str | None, now, tz: str | None = None) -> dict:
    """Counts, tiles, groups, notice, banner and the wall's countries for the servers the filters select (times
    in the display zone tz)."""
    filters, _ = filters_from_search(search, now)
    status, error = fetch("the server status", shared_status, rt, now)
    if error:
        return {"counts": None, "tiles": [], "groups": [], "density": "full", "notice": error_notice(
            "the server status", error), "banner": None, "wall": {"countries": []}, "failed": True}
    shown = matching(status, filters.countries, filters.partners)
    # One query for every shown server's last rounds; if it fails the strips show their slots as missing.
    beats, _ = fetch("recent rounds", recent_rounds, rt.read_engine, list(shown["server_id"]), HEARTBEAT_ROUNDS)
    order = view_order(search)
    tiles, groups = server_tiles(shown, beats or {}, order, HEARTBEAT_ROUNDS, tz)
    # The wall cycles through every country worst first, and its banner counts every server: a cycle showing one
    # country never hides a server down in another.
    _, every = server_tiles(status, {}, DEFAULT_ORDER, 0)
    return {"counts": counts_bar(status_counts(shown), len(shown)), "tiles": tiles, "groups": groups,
            "density": tile_density(len(tiles)), "notice": startup_notice(status, rt, now),
            "banner": down_banner(status), "wall": {"countries": [g[0] for g in every]}}


def alerts_parts(rt, search: str | None, now) -> dict:
    """The alerts feed: open alerts of the servers the filters select, then those resolved in the range."""
    filters, _ = filters_from_search(search, now)
    status, _ = fetch("the server status", shared_status, rt, now)  # on failure current_warnings reads it
    warnings, error = fetch("the warnings", current_warnings, rt.read_engine, rt.config, now, filters, status)
    if error:
        return {"alerts": [], "alerts_more": f"Could not load the warnings. {error}", "failed": True}  # a text note
    items = alert_items(warnings)
    resolved = warnings["state"] == "resolved" if "state" in warnings else pd.Series(False, index=warnings.index)
    shown_open = sum(not i["r"] for i in items)
    return {"alerts": items, "alerts_more": more_note(int((~resolved).sum()) - shown_open,
                                                      int(resolved.sum()) - (len(items) - shown_open))}


def more_note(open_hidden: int, resolved_hidden: int) -> list | None:
    """[open alerts not listed, resolved ones not listed] for the feed's note (None when all are listed)."""
    return [open_hidden, resolved_hidden] if open_hidden > 0 or resolved_hidden > 0 else None


def log_parts(rt, level: str | None, text: str | None, tz: str | None = None) -> dict:
    """The log feed: up to LOG_LINES lines at or above the level containing the search text, each run of routine
    lines ("round finished ...") between them as one line with its count; times in the display zone."""
    logs, error = fetch("the log", viewer_logs, rt.read_engine, limit=LOG_LINES, level=level or None,
                        search=(text or "").strip() or None)
    if error:
        return {"logs": [[0, "ERROR", "", "dashboard", f"Could not load the log. {error}", 1, None]]}
    return {"logs": log_lines(logs, tz)}


# The status and alerts parts are built once per data stamp and minute for every viewer and for the prewarmer
# (callbacks.prewarm), like the graphs: a refresh only asks when the data or STATUS_STEP_SECONDS moved
# (callbacks.stamps), so a clock-only change shows no later than it did. The log feed is read on each request:
# its lines (a round's "finished" line comes after the round) are not in the data stamp.
PARTS_SHARE_SECONDS = 60


def shared_parts(rt, search: str | None, now, tz: str | None = None) -> dict:
    """status_parts and alerts_parts of a view, built once per data stamp, minute and problem notice."""
    remember_view(rt, ("status", search or "", tz))
    key = ("overview-parts", rt.generation, current_stamp(rt.read_engine), search or "", tz,
           int(epoch_seconds(now)) // PARTS_SHARE_SECONDS, config_problem(rt), collector_problem(rt))
    def build():
        parts = {**status_parts(rt, search, now, tz), **alerts_parts(rt, search, now)}
        if parts.pop("failed", False):
            raise _NotKept(parts)
        return parts
    try:
        return rt.cache.get(key, build)
    except _NotKept as failed:  # a failed read is shown, not kept: the next refresh reads again
        return failed.parts


class _NotKept(Exception):
    """Parts that show a failed read: returned to the viewer, never cached."""

    def __init__(self, parts: dict):
        super().__init__("a read failed")
        self.parts = parts


def overview_parts(rt, search: str | None, level: str | None, text: str | None, now, tz: str | None = None) -> dict:
    """Everything the overview's status side shows, as data and small components, keyed as OUTPUTS."""
    now_s = epoch_seconds(now)
    parts = {**shared_parts(rt, search, now, tz), **log_parts(rt, level, text, tz)}
    return dict(parts, tiles_now=now_s, alerts_now=now_s, search=search or "", alerts_search=search or "",
                order=view_order(search))


def overview_now(search: str | None = "", level: str | None = "INFO", text: str | None = None,
                 tz: str | None = None) -> dict:
    """overview_parts for the running app at this moment (what one refresh shows, before any comparison)."""
    return overview_parts(get_runtime(), search, level, text, utcnow(), tz)


def part_signature(value) -> str:
    """A digest of one part (components by their JSON form)."""
    return signature(json.dumps(value, default=lambda o: o.to_plotly_json(), sort_keys=True))


def tile_signatures(tiles: list[dict]) -> list[str]:
    """A short digest per tile, in order."""
    return [part_signature(t)[:TILE_SIGNATURE_CHARS] for t in tiles]


def tiles_update(tiles: list[dict], sigs: list[str], previous: dict):
    """What to send for the tiles: no_update, a Patch of the changed ones, or the whole list."""
    order = signature([t["id"] for t in tiles])
    if previous.get("order") != order or len(previous.get("sigs") or []) != len(sigs):
        return tiles
    changed = [i for i, (new, old) in enumerate(zip(sigs, previous["sigs"])) if new != old]
    if not changed:
        return no_update
    if len(changed) > PATCH_SHARE * len(tiles):
        return tiles
    patch = Patch()
    for i in changed:
        patch[i] = tiles[i]
    return patch


def browser_state(parts: dict, sigs: list[str]) -> dict:
    """What the browser now holds, by signature: each whole part, the tiles' order and each tile."""
    return {"parts": {k: part_signature(parts[k]) for k in WHOLE_PARTS}, "sigs": sigs,
            "order": signature([t["id"] for t in parts["tiles"]])}


def overview_update(parts: dict, previous: dict | None, interval_ms=None) -> dict:
    """The callback's outputs by key: only what differs from what the browser holds (previous state)."""
    previous = previous if isinstance(previous, dict) else {}
    sigs = tile_signatures(parts["tiles"])
    state = browser_state(parts, sigs)
    held = previous.get("parts") or {}
    out = {k: parts[k] if held.get(k) != state["parts"][k] else no_update for k in WHOLE_PARTS}
    out["tiles"] = tiles_update(parts["tiles"], sigs, previous)
    # The clock matters to full cards ("checked 12 s ago") and the alerts' ages; compact tiles show none.
    out["tiles_now"] = parts["tiles_now"] if parts["density"] == "full" else no_update
    out["alerts_now"] = parts["alerts_now"]
    out["state"] = state if state != previous else no_update
    out["stamp"] = {"at": parts["alerts_now"], "interval_ms": interval_ms}  # it answered: for the age warning
    return out


@callback(*(Output(i, p) for _, i, p in OUTPUTS),
          Input(ids.URL, "search"), Input(ids.STAMP_STATUS, "data"), Input(ids.LOG_LEVEL, "value"),
          Input(ids.LOG_SEARCH, "value"), Input(ids.DISPLAY_TZ, "data"), State(ids.OVERVIEW_STATE, "data"),
          State(ids.REFRESH, "interval"))
def refresh_overview(search, _stamp, level, text, tz=None, previous=None, interval_ms=None):
    """Counts, tiles, notice, banner, alerts and log for the filters (times in the display zone tz), when the
    data or the minute moved (callbacks.stamps); only what changed is sent."""
    out = overview_update(overview_now(search, level, text, tz), previous, interval_ms)
    return tuple(out[key] for key, _, _ in OUTPUTS)


# In the browser (assets/30_wall.js): the order toggle writes ?order= into the URL, each successful refresh is
# noted for the page's own age warning, and the wall learns the countries it may cycle through.
CLIENTSIDE_CALLBACKS: list = []
# Every tick's heartbeat (callbacks.stamps) moves the tiles' and alerts' ages and notes a successful refresh
# for the age warning, in the browser (assets/20_dashboard.js): the status side itself is asked only when the
# data or the minute moved.
clientside_callback(CLIENTSIDE_CALLBACKS, ClientsideFunction(namespace="latencyMonitor", function_name="heartbeatAges"),
                    Output(ids.TILES, "now", allow_duplicate=True), Output(ids.ALERT_FEED, "now", allow_duplicate=True),
                    Output(ids.OVERVIEW_STAMP, "data", allow_duplicate=True), Input(ids.HEARTBEAT, "data"),
                    prevent_initial_call=True)
clientside_callback(CLIENTSIDE_CALLBACKS, ClientsideFunction(namespace="latencyWall", function_name="overview"),
                    Output(ids.CLIENT_SINK, "data"), Input(ids.ORDER_TOGGLE, "value"),
                    Input(ids.OVERVIEW_STAMP, "data"), Input(ids.WALL_STATE, "data"))
