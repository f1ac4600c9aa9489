"""The auto-refresh's stamps (callbacks/stamps.py): a quiet tick sets no stamp, so the graphs, the RTT spread,
the status side and the filter options are not asked; new data, or a whole bucket of the clock, sets theirs; and
every tick sends the heartbeat that moves the clock and the ages in the browser."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dash import no_update

import api.cache
import callbacks.stamps as stamps_cb
from layouts import ids
from tests.seeding import seed_history

NOW_S = 1_800_000_000.0  # a fixed clock: 2027-01-15 08:00 UTC, a whole hour
NO_STAMP = (no_update,) * 3


def utc(seconds: float) -> datetime:
    """Epoch seconds as the naive UTC datetime utcnow() gives."""
    return datetime.fromtimestamp(seconds, timezone.utc).replace(tzinfo=None)


def listeners(app, component: str) -> set[str]:
    """The outputs of every callback with `component` among its inputs."""
    return {key for key, entry in app.callback_map.items()
            if any(spec["id"] == component for spec in entry.get("inputs", []))}


def test_the_graphs_spread_status_side_and_filter_dots_listen_to_the_stamps_not_to_the_tick(app):
    on_tick = " ".join(listeners(app, ids.REFRESH))
    for part in (ids.LATENCY_GRAPH, ids.LOSS_GRAPH, ids.JITTER_GRAPH, ids.SMOKE_GRAPH, ids.TILES,
                 ids.ALERT_FEED, ids.UPDATED_AT):
        assert part not in on_tick
    assert ids.STAMP_SERIES in on_tick and ids.HEARTBEAT in on_tick  # the one callback a tick asks
    # the tick's own answer wakes the graphs (graph_wakes) only when what they draw changed; nothing else listens
    # to the series stamps, and the graphs wait for no callback of the overview's at load
    assert ids.SERIES_WAKE in on_tick and ids.SPREAD_WAKE in on_tick
    assert not listeners(app, ids.STAMP_SERIES) and not listeners(app, ids.STAMP_SPREAD)
    series = " ".join(listeners(app, ids.SERIES_WAKE))
    assert all(g in series for g in (ids.LATENCY_GRAPH, ids.LOSS_GRAPH, ids.JITTER_GRAPH))
    assert ids.SMOKE_GRAPH in " ".join(listeners(app, ids.SPREAD_WAKE))
    status = " ".join(listeners(app, ids.STAMP_STATUS))
    assert ids.TILES in status and ids.COUNTRY not in status  # the filter dots come with the stamps
    assert f"{ids.COUNTRY}.options" in on_tick  # with the stamps, sent only when the status moved
    beat = " ".join(listeners(app, ids.HEARTBEAT))  # ages and the clock, in the browser
    assert f"{ids.TILES}.now" in beat and f"{ids.ALERT_FEED}.now" in beat and ids.UPDATED_AT in beat
    assert not any("callback" in app.callback_map[k] for k in listeners(app, ids.HEARTBEAT))  # clientside only


def run(ctx, monkeypatch, now_s: float, previous=(None, None, None), search: str = "?range=24h", zone=None,
        dots=None, path="/", seen=None):
    """refresh_stamps at a given clock, the data stamp read afresh."""
    monkeypatch.setattr(stamps_cb, "utcnow", lambda: utc(now_s))
    api.cache._stamps.clear()
    view = {"group": "country", "zoom": None, "probe": "network", "servers": None}
    return stamps_cb.refresh_stamps(1, search, *previous, zone, 30000, dots, path, view, seen)


def test_the_tick_wakes_the_graphs_on_the_overview_only_and_once_per_drawing(ctx, monkeypatch, writer, config):
    seed_history(writer, config, datetime.utcnow().replace(microsecond=0) - timedelta(hours=1), rounds=3)
    first = run(ctx, monkeypatch, NOW_S)
    series, spread, seen = first[7:]
    assert series and spread and seen == {"series": series, "spread": spread}
    assert run(ctx, monkeypatch, NOW_S, path="/server/127.0.0.1")[7:] == NO_STAMP  # no graphs there to wake
    again = run(ctx, monkeypatch, NOW_S, seen=seen)  # the stamps moved (none held), the drawing did not
    assert again[0] is not no_update and again[7:9] == (no_update, no_update)
    assert run(ctx, monkeypatch, NOW_S + 30, first[:3], seen=seen)[7:] == NO_STAMP  # a quiet tick: not even read


def test_the_filter_dots_come_with_the_stamps_when_the_status_moved_and_their_states_with_it(
        ctx, monkeypatch, writer, config):
    found = run(ctx, monkeypatch, NOW_S)
    countries, partners, dots = found[4:7]
    assert {o["value"] for o in countries} == {s["country"] for s in config.raw["servers"]} and dots
    assert run(ctx, monkeypatch, NOW_S + 30, found[:3], dots=dots)[4:7] == NO_STAMP  # quiet: nothing asked
    seed_history(writer, config, datetime.utcnow().replace(microsecond=0), rounds=1)
    moved = run(ctx, monkeypatch, NOW_S + 30, found[:3], dots=dots)
    assert moved[2] is not no_update and moved[4:7] != NO_STAMP  # the servers went from waiting to up
    assert moved[6] != dots
    again = run(ctx, monkeypatch, NOW_S + 60, found[:3], dots=moved[6])
    assert again[2] is not no_update and again[4:7] == NO_STAMP  # status moved, the dots did not: not sent


def test_a_quiet_tick_sets_no_stamp_and_new_data_sets_every_one(ctx, monkeypatch, writer, config):
    *found, beat = run(ctx, monkeypatch, NOW_S)[:4]
    series, spread, status = found
    # 24 h: the series graphs in 5-minute buckets, the RTT spread's finest bucket, the status side's step
    assert series[-1] == NOW_S // 300 and status[-1] == NOW_S // stamps_cb.STATUS_STEP_SECONDS
    assert spread[-1] == NOW_S // stamps_cb.spread_step_seconds(stamps_cb.filters_from_search("?range=24h")[0])
    assert tuple(run(ctx, monkeypatch, NOW_S + 30, found)[:3]) == NO_STAMP
    seed_history(writer, config, datetime.utcnow().replace(microsecond=0), rounds=1)
    renewed = run(ctx, monkeypatch, NOW_S + 30, found)[:3]
    assert all(new is not no_update and new[:-1] != old[:-1] for new, old in zip(renewed, found))


def test_every_tick_sends_the_heartbeat_with_the_servers_clock_in_the_display_zone(ctx, monkeypatch):
    found = run(ctx, monkeypatch, NOW_S)[:3]
    beat = run(ctx, monkeypatch, NOW_S + 30, found, zone="Asia/Kolkata")[3]
    assert beat["at"] == NOW_S + 30 and beat["interval_ms"] == 30000
    assert beat["text"] == "updated 13:30:30 UTC+05:30"  # 08:00:30 UTC


def test_the_clock_sets_each_stamp_at_its_own_granularity(ctx, monkeypatch):
    found = run(ctx, monkeypatch, NOW_S)[:3]
    assert tuple(run(ctx, monkeypatch, NOW_S + 60, found)[:3:2]) == (no_update, no_update)  # series, status
    step = stamps_cb.STATUS_STEP_SECONDS
    assert run(ctx, monkeypatch, NOW_S + step, found)[2][-1] == found[2][-1] + 1
    assert run(ctx, monkeypatch, NOW_S + 300, found)[0][-1] == found[0][-1] + 1
    hour = run(ctx, monkeypatch, NOW_S, search="?range=1h")[:3]  # 1 h: 1-minute buckets
    assert run(ctx, monkeypatch, NOW_S + 60, hour, search="?range=1h")[0] is not no_update


def test_the_spread_moves_with_its_own_bucket_not_every_minute(ctx, monkeypatch):
    step = stamps_cb.spread_step_seconds(stamps_cb.filters_from_search("?range=24h")[0])
    assert step > 60  # 24 h in at most 600 points
    found = run(ctx, monkeypatch, NOW_S)[:3]
    assert run(ctx, monkeypatch, NOW_S + step - 1, found)[1] is no_update
    assert run(ctx, monkeypatch, NOW_S + step, found)[1] is not no_update


def test_an_unreadable_database_is_a_stamp_of_its_own(ctx, monkeypatch):
    def broken(_engine):
        raise RuntimeError("database is locked")
    monkeypatch.setattr(stamps_cb, "current_stamp", broken)
    series, *_ = run(ctx, monkeypatch, NOW_S)
    assert series[0] == "unreadable" and "database is locked" in series[1]


def test_the_first_layout_holds_the_stamps_so_the_first_quiet_tick_asks_no_listener(app, client, ctx, monkeypatch):
    import callbacks.shell as shell_cb
    from tests.dashboard.test_dashboard_callbacks import layout_ids
    fixed = lambda: utc(NOW_S + 10)  # noqa: E731 - one clock for both
    monkeypatch.setattr(shell_cb, "utcnow", fixed)
    monkeypatch.setattr(stamps_cb, "utcnow", fixed)
    found = layout_ids(client, Referer="http://localhost/?range=7d")
    held = tuple(found[i]["data"] for i in (ids.STAMP_SERIES, ids.STAMP_SPREAD, ids.STAMP_STATUS))
    assert all(held)  # with them empty the first tick would set each and wake every listener
    api.cache._stamps.clear()
    assert stamps_cb.refresh_stamps(1, "?range=7d", *held)[:3] == NO_STAMP


def test_the_graphs_are_woken_only_when_what_they_draw_changed(ctx, monkeypatch, writer, config):
    import callbacks.graphs as graphs_cb
    import callbacks.smoke as smoke_cb
    from callbacks.common import filters_from_search
    now = datetime.utcnow().replace(microsecond=0)
    whole = now - timedelta(seconds=(now - datetime(1970, 1, 1)).total_seconds() % 300)
    for module in (graphs_cb, smoke_cb):  # the clock 200 s into a 5-minute bucket
        monkeypatch.setattr(module, "filters_from_search",
                            lambda search: filters_from_search(search, whole + timedelta(seconds=200)))
    seed_history(writer, config, whole - timedelta(hours=1), rounds=12)
    wake = lambda seen: stamps_cb.graph_wakes("?range=24h", "country", None, "network", ["127.0.0.2"], seen)
    series, spread, seen = wake(None)
    assert series and spread and seen == {"series": series, "spread": spread}
    seed_history(writer, config, whole + timedelta(seconds=100), rounds=1)  # lands in the bucket still filling
    assert wake(seen)[:2] == (no_update, no_update)
    seed_history(writer, config, whole - timedelta(seconds=10), rounds=1)  # late, in the last whole bucket
    later_series, later_spread, _ = wake(seen)
    assert later_series not in (no_update, series) and later_spread not in (no_update, spread)
