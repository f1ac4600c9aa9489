"""The auto-refresh's stamps (callbacks/stamps.py): a quiet tick sets nothing, so the graphs, the RTT spread
and the filter options are not asked; new data, a whole bucket of the clock or a new minute set theirs."""
from __future__ import annotations

from datetime import datetime

from dash import no_update

import api.cache
import callbacks.stamps as stamps_cb
from layouts import ids
from tests.seeding import seed_history

NOW_S = 1_800_000_000.0  # a fixed clock: 2027-01-15 08:00 UTC, a whole hour


def listeners(app, component: str) -> set[str]:
    """The outputs of every callback with `component` among its inputs."""
    return {key for key, entry in app.callback_map.items()
            if any(spec["id"] == component for spec in entry.get("inputs", []))}


def test_the_graphs_rtt_spread_and_filter_dots_listen_to_the_stamps_not_to_the_tick(app):
    on_tick = " ".join(listeners(app, ids.REFRESH))
    for graph in (ids.LATENCY_GRAPH, ids.LOSS_GRAPH, ids.JITTER_GRAPH, ids.SMOKE_GRAPH, ids.COUNTRY):
        assert graph not in on_tick
    series, minute = " ".join(listeners(app, ids.STAMP_SERIES)), " ".join(listeners(app, ids.STAMP_MINUTE))
    assert all(g in series for g in (ids.LATENCY_GRAPH, ids.LOSS_GRAPH, ids.JITTER_GRAPH))
    assert ids.SMOKE_GRAPH in minute and ids.COUNTRY in minute
    assert ids.STAMP_SERIES in on_tick and ids.OVERVIEW_STATE in on_tick  # the tiles' ages still tick


def run(ctx, monkeypatch, now_s: float, previous=(None, None), search: str = "?range=24h"):
    """refresh_stamps at a given clock, the data stamp read afresh."""
    monkeypatch.setattr(stamps_cb, "utcnow", lambda: datetime.fromtimestamp(now_s).astimezone())
    api.cache._stamps.clear()
    return stamps_cb.refresh_stamps(1, search, *previous)


def test_a_quiet_tick_sets_no_stamp_and_new_data_sets_both(ctx, monkeypatch, writer, config):
    series, minute = run(ctx, monkeypatch, NOW_S)
    assert series[-1] == NOW_S // 300 and minute[-1] == NOW_S // 60  # 24 h: 5-minute buckets
    assert run(ctx, monkeypatch, NOW_S + 30, (series, minute)) == (no_update, no_update)
    seed_history(writer, config, datetime.utcnow().replace(microsecond=0), rounds=1)
    new_series, new_minute = run(ctx, monkeypatch, NOW_S + 30, (series, minute))
    assert new_series[:-1] != series[:-1] and new_minute[:-1] != minute[:-1]


def test_the_clock_sets_the_minute_stamp_each_minute_and_the_series_one_each_bucket(ctx, monkeypatch):
    series, minute = run(ctx, monkeypatch, NOW_S)
    later_series, later_minute = run(ctx, monkeypatch, NOW_S + 60, (series, minute))
    assert later_series is no_update and later_minute[-1] == minute[-1] + 1
    assert run(ctx, monkeypatch, NOW_S + 300, (series, minute))[0][-1] == series[-1] + 1
    hour_series, _ = run(ctx, monkeypatch, NOW_S, search="?range=1h")  # 1 h: 1-minute buckets
    assert run(ctx, monkeypatch, NOW_S + 60, (hour_series, None), search="?range=1h")[0] != no_update


def test_an_unreadable_database_is_a_stamp_of_its_own(ctx, monkeypatch):
    def broken(_engine):
        raise RuntimeError("database is locked")
    monkeypatch.setattr(stamps_cb, "current_stamp", broken)
    series, minute = run(ctx, monkeypatch, NOW_S)
    assert series[0] == "unreadable" and "database is locked" in series[1]


def test_the_first_layout_holds_the_stamps_so_the_first_quiet_tick_asks_no_listener(app, client, ctx, monkeypatch):
    import callbacks.shell as shell_cb
    from tests.dashboard.test_dashboard_callbacks import layout_ids
    fixed = lambda: datetime.fromtimestamp(NOW_S + 10).astimezone()  # noqa: E731 - one clock for both
    monkeypatch.setattr(shell_cb, "utcnow", fixed)
    monkeypatch.setattr(stamps_cb, "utcnow", fixed)
    found = layout_ids(client, Referer="http://localhost/?range=7d")
    series, minute = found[ids.STAMP_SERIES]["data"], found[ids.STAMP_MINUTE]["data"]
    assert series and minute  # with them empty the first tick would set both and wake seven callbacks
    api.cache._stamps.clear()
    assert stamps_cb.refresh_stamps(1, "?range=7d", series, minute) == (no_update, no_update)
