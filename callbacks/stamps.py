"""What an auto-refresh changed: the stamps the overview's graphs, RTT spread, status side and filter dots
listen to, and the heartbeat that moves the page's clock and ages.

Every tick used to run seven callbacks (three series graphs, the RTT spread, the filter options, the overview,
the clock), each answering "nothing new" most of the time; in the browser each answer still cost dash-renderer
work and garbage (~190 ms of main thread per quiet tick at 200 servers, bench/browser_bench.py --profile).
Now one small callback reads the data stamp, sets a stamp only when what its listeners draw can have moved,
and sends the heartbeat: the server's clock, from which the browser counts the tiles' and alerts' ages and
writes the "updated" clock without another request. A new round then costs two requests: this one (with the
filter dots when the status moved and, on the overview, the graphs' wake-up, graph_wakes) and the tiles'.
"""
from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, no_update

from api.cache import current_stamp
from callbacks.common import epoch_seconds, fetch, filters_from_search, is_overview
from callbacks.filter_states import filter_options
from callbacks.registry import callback, clientside_callback
from callbacks.graphs import series_wake
from callbacks.smoke import spread_step_seconds, spread_wake
from common import timezones as tzs
from common.timeutil import utcnow
from layouts import ids
from queries.pingdata import series_bucket_seconds
from runtime import get_runtime

# The status side (counts, tiles, alerts, log, filter dots) changes with the data: every round, every alert the
# stale watcher opens. What the clock alone moves there (the resolved alerts leaving the range, a stale state no
# alert names) is redrawn at most this late; the ages count in the browser from the heartbeat.
STATUS_STEP_SECONDS = 300


def data_part(rt) -> list:
    """The data stamp (newest round, alerts) and the config's generation; a failed read is its own stamp."""
    stamp, error = fetch("the data stamp", current_stamp, rt.read_engine)
    return ["unreadable", error] if error else [*stamp, rt.generation]


def stamps(rt, search, now_s: float) -> tuple[list, list, list]:
    """(series, spread, status) stamps: the data with the clock in the series graphs' bucket, in the RTT
    spread's bucket (each sliding window moves by whole buckets) and in STATUS_STEP_SECONDS (the status side)."""
    filters, _ = filters_from_search(search)
    bucket = series_bucket_seconds(filters, rt.config.interval_seconds, rt.config.retention.as_dict())
    data = data_part(rt)
    return tuple(data + [int(now_s // step)] for step in (bucket, spread_step_seconds(filters), STATUS_STEP_SECONDS))


def heartbeat(now, zone: str | None, interval_ms) -> dict:
    """What every tick sends: the server's clock (seconds), the "updated" text in the display zone, the period."""
    return {"at": epoch_seconds(now), "interval_ms": interval_ms,
            "text": f"updated {tzs.clock_text(now, zone, seconds=True)} {tzs.short_label(zone, now)}"}


@callback(Output(ids.STAMP_SERIES, "data"), Output(ids.STAMP_SPREAD, "data"), Output(ids.STAMP_STATUS, "data"),
          Output(ids.HEARTBEAT, "data"), Output(ids.COUNTRY, "options", allow_duplicate=True),
          Output(ids.PARTNER, "options", allow_duplicate=True), Output(ids.FILTER_STATES, "data", allow_duplicate=True),
          Output(ids.SERIES_WAKE, "data"), Output(ids.SPREAD_WAKE, "data"), Output(ids.WAKE_SEEN, "data"),
          Input(ids.REFRESH, "n_intervals"), State(ids.URL, "search"),
          State(ids.STAMP_SERIES, "data"), State(ids.STAMP_SPREAD, "data"), State(ids.STAMP_STATUS, "data"),
          State(ids.DISPLAY_TZ, "data"), State(ids.REFRESH, "interval"), State(ids.FILTER_STATES, "data"),
          State(ids.URL, "pathname"), State(ids.VIEW_CHOICE, "data"), State(ids.WAKE_SEEN, "data"),
          prevent_initial_call=True)
def refresh_stamps(_n, search, series=None, spread=None, status=None, zone=None, interval_ms=None, dots=None,
                   path="/", view=None, seen=None):
    """At each tick, each stamp that changed (the listeners' first run is the page load's, so none at load),
    the heartbeat, the filter dropdowns' entries when the status stamp moved and their states with it, and on
    the overview the graphs' wake-up when a series stamp moved: a new round asks one more callback (the tiles),
    not one per part."""
    now = utcnow()
    rt = get_runtime()
    found = stamps(rt, search, epoch_seconds(now))
    changed = tuple(new if new != old else no_update for new, old in zip(found, (series, spread, status)))
    options = filter_options(rt, now, dots) if changed[2] is not no_update else (no_update,) * 3
    woke = is_overview(path) and (changed[0] is not no_update or changed[1] is not no_update)
    wakes = graph_wakes(search, *view_choice(view), seen) if woke else (no_update,) * 3
    return (*changed, heartbeat(now, zone, interval_ms), *options, *wakes)


def view_choice(view) -> tuple:
    """(group, zoom, probe, RTT spread servers) from the VIEW_CHOICE store (assets/20_dashboard.js viewChoice)."""
    view = view if isinstance(view, dict) else {}
    return view.get("group"), view.get("zoom"), view.get("probe"), view.get("servers")


def graph_wakes(search, group=None, zoom=None, probe=None, selected=None, seen=None) -> tuple:
    """(series wake, spread wake, digests seen): each wake set only when what its graphs would draw changed. A
    new round changes the stamps, but the graphs are drawn to their last whole bucket, so most rounds change
    nothing drawn; asking the four graph callbacks anyway cost the browser four answers of "nothing new" per
    round."""
    rt, seen = get_runtime(), seen or {}
    now = {"series": series_wake(rt, search, group, zoom, probe), "spread": spread_wake(rt, search, selected)}
    return (*(now[key] if now[key] != seen.get(key) else no_update for key in ("series", "spread")), now)


# In the browser (assets/20_dashboard.js): the heartbeat writes the "updated" clock on every page.
CLIENTSIDE_CALLBACKS: list = []
# The overview's view controls, mirrored into the shell's VIEW_CHOICE for refresh_stamps (no request).
clientside_callback(CLIENTSIDE_CALLBACKS, ClientsideFunction(namespace="latencyMonitor", function_name="viewChoice"),
                    Output(ids.VIEW_CHOICE, "data"), Input(ids.GROUP_TOGGLE, "value"), Input(ids.SERIES_ZOOM, "data"),
                    Input(ids.PROBE_TOGGLE, "value"), Input(ids.SMOKE_SERVERS, "value"))
clientside_callback(CLIENTSIDE_CALLBACKS, ClientsideFunction(namespace="latencyMonitor", function_name="heartbeatText"),
                    Output(ids.UPDATED_AT, "children", allow_duplicate=True), Input(ids.HEARTBEAT, "data"),
                    prevent_initial_call=True)
