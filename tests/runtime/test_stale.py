"""StaleWatcher: 'stale' alerts from stored timestamps alone, single across watchers, resolved by fresh rows."""
from __future__ import annotations

import dataclasses
import logging
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from collector.notify import Notifier, apprise_channel
from runtime.stale import StaleWatcher, default_interval
from storage.engine import make_engine
from storage.schema import alerts
from common.timeutil import utcnow
from tests.seeding import seed_history, steady_profile
from tests.helpers.webhook import Receiver


@pytest.fixture
def read_engine(config, writer):
    """The web app's read-only engine on the test database."""
    engine = make_engine(config.database_target(), readonly=True)
    yield engine
    engine.dispose()


@pytest.fixture
def clock():
    """A settable 'now' for the watcher, starting at the current time."""
    state = {"now": utcnow().replace(microsecond=0)}

    def now() -> datetime:
        return state["now"]

    now.advance = lambda seconds: state.update(now=state["now"] + timedelta(seconds=seconds))
    return now


def stale_rows(writer) -> list[dict]:
    """The 'stale' rows of the alerts table, in id order."""
    with writer.engine.connect() as conn:
        stmt = select(alerts).where(alerts.c.kind == "stale").order_by(alerts.c.id)
        return [dict(r._mapping) for r in conn.execute(stmt)]


def store_fresh_row(writer, config, server_index: int, at: datetime) -> None:
    """One round holding a single server's result at `at` (through the real write path)."""
    only = dataclasses.replace(config, servers=(config.servers[server_index],))
    seed_history(writer, only, at, rounds=1, profile=lambda _k, r: steady_profile(server_index, r))


def test_servers_silent_for_longer_than_stale_after_get_one_alert_each(config, writer, read_engine, clock, caplog):
    caplog.set_level(logging.INFO, logger="runtime.stale")
    last = clock() - timedelta(seconds=config.stale_after_seconds + 600)
    seed_history(writer, config, last, rounds=3)
    events = StaleWatcher(config, writer, read_engine, now=clock).check_once()
    rows = stale_rows(writer)
    assert sorted(r["server_id"] for r in rows) == sorted(s.id for s in config.servers)
    assert {(r["state"], r["severity"], r["started_at"]) for r in rows} == {("open", "warning", last)}
    assert [e.action for e in events] == ["open"] * len(config.servers)
    warnings = [r for r in caplog.records if r.name == "runtime.stale" and r.levelno == logging.WARNING]
    assert len(warnings) == len(config.servers)


def test_fresh_servers_are_not_stale(config, writer, read_engine, clock):
    seed_history(writer, config, clock() - timedelta(seconds=config.stale_after_seconds - 30), rounds=3)
    assert StaleWatcher(config, writer, read_engine, now=clock).check_once() == []
    assert stale_rows(writer) == []


def test_repeated_checks_and_a_second_watcher_do_not_duplicate(config, writer, read_engine, clock, caplog):
    caplog.set_level(logging.INFO, logger="runtime.stale")
    seed_history(writer, config, clock() - timedelta(hours=1), rounds=2)
    first, second = (StaleWatcher(config, writer, read_engine, now=clock) for _ in range(2))
    first.check_once()
    clock.advance(60)
    later = second.check_once() + first.check_once()
    assert len(stale_rows(writer)) == len(config.servers)
    assert {e.action for e in later} == {"update"}  # only the growing age is recorded
    assert {r["peak"] for r in stale_rows(writer)} == {3660.0}
    opened = [r for r in caplog.records if r.name == "runtime.stale" and r.levelno >= logging.WARNING]
    assert len(opened) == len(config.servers)


def test_a_fresh_row_resolves_only_that_server(config, writer, read_engine, clock, caplog):
    caplog.set_level(logging.INFO, logger="runtime.stale")
    seed_history(writer, config, clock() - timedelta(hours=1), rounds=2)
    watcher = StaleWatcher(config, writer, read_engine, now=clock)
    watcher.check_once()
    clock.advance(30)
    store_fresh_row(writer, config, 0, clock())
    events = watcher.check_once()
    assert [(e.action, e.server_id) for e in events if e.action != "update"] == \
        [("resolve", config.servers[0].id)]
    states = {r["server_id"]: r["state"] for r in stale_rows(writer)}
    assert states == {s.id: "resolved" if i == 0 else "open" for i, s in enumerate(config.servers)}
    resolved = [r for r in caplog.records if r.name == "runtime.stale" and r.levelno == logging.INFO]
    assert len(resolved) == 1 and config.servers[0].id in resolved[0].getMessage()


def test_a_server_never_measured_is_stale_once_the_watcher_has_waited_long_enough(config, writer, read_engine,
                                                                                clock):
    watcher = StaleWatcher(config, writer, read_engine, now=clock)
    assert watcher.check_once() == []
    clock.advance(config.stale_after_seconds + 1)
    events = watcher.check_once()
    assert len(events) == len(config.servers) and all("no result stored yet" in e.message for e in events)


def test_a_restarted_watcher_does_not_resolve_without_a_real_row(config, writer, read_engine, clock):
    first = StaleWatcher(config, writer, read_engine, now=clock)
    clock.advance(config.stale_after_seconds + 1)
    first.check_once()
    restarted = StaleWatcher(config, writer, read_engine, now=clock)  # its own wait has only begun
    assert [e.action for e in restarted.check_once()] == []
    assert {r["state"] for r in stale_rows(writer)} == {"open"}


def test_the_thread_opens_alerts_and_stops_cleanly(config, writer, read_engine):
    seed_history(writer, config, utcnow() - timedelta(hours=2), rounds=2)
    watcher = StaleWatcher(config, writer, read_engine, interval_seconds=0.05).start()
    deadline = time.monotonic() + 5
    while len(stale_rows(writer)) < len(config.servers) and time.monotonic() < deadline:
        time.sleep(0.02)
    watcher.stop()
    watcher.stop()
    assert not watcher.is_alive()
    assert len(stale_rows(writer)) == len(config.servers)


def test_a_broken_database_is_logged_once_and_the_thread_keeps_going(config, writer, tmp_path, caplog):
    missing = make_engine(f"sqlite:///{tmp_path / 'missing.db'}", readonly=True)
    watcher = StaleWatcher(config, writer, missing, interval_seconds=0.02).start()
    try:
        time.sleep(0.2)
        assert watcher.is_alive()
    finally:
        watcher.stop()
        missing.dispose()
    failures = [r for r in caplog.records if r.name == "runtime.stale" and r.levelno == logging.ERROR]
    assert len(failures) == 1


def test_stale_alert_is_sent_to_the_webhook(config, writer, read_engine, clock):
    receiver = Receiver()
    notifier = Notifier([apprise_channel(receiver.url())], public_url="http://noc.example").start()
    try:
        seed_history(writer, config, clock() - timedelta(seconds=config.stale_after_seconds - 10), rounds=1)
        store_fresh_row(writer, config, 1, clock())
        clock.advance(20)
        StaleWatcher(config, writer, read_engine, notifier, now=clock).check_once()
        assert notifier.wait_idle(5)
    finally:
        notifier.stop(timeout=2)
        receiver.close()
    stale = [s for i, s in enumerate(config.servers) if i != 1]
    titles = sorted(body["title"] for body in receiver.delivered())
    assert titles == sorted(f"[WARNING] No results (stale): {s.partner} ({s.country}) {s.id}" for s in stale)
    assert all("Link: http://noc.example/server/" in body["message"] for body in receiver.delivered())


def test_default_interval_is_a_fifth_of_stale_after_within_bounds():
    assert (default_interval(300), default_interval(3), default_interval(3600)) == (60.0, 1.0, 60.0)
    assert default_interval(100) == 20.0


def test_a_server_added_while_running_is_unknown_not_stale_until_stale_after_from_its_addition(
        config, writer, read_engine, clock):
    seed_history(writer, config, clock(), rounds=1)  # every configured server is fresh
    watcher = StaleWatcher(config, writer, read_engine, now=clock)
    clock.advance(13 * 60)  # the app has run for 13 minutes when the server is added
    seed_history(writer, config, clock(), rounds=1)
    added = clock()
    watcher.reload(config.replace(servers=[*config.raw["servers"],
                                           {"partner": "Gh", "country": "Ghana", "ip": "127.0.0.9"}]))
    clock.advance(60)  # its first round is not in yet
    assert watcher.check_once() == [] and stale_rows(writer) == []
    clock.advance(config.stale_after_seconds - 60 - 1)
    seed_history(writer, config, clock(), rounds=1)  # the others keep reporting; 127.0.0.9 never does
    assert watcher.check_once() == []
    clock.advance(2)
    events = watcher.check_once()
    assert [(e.server_id, e.action) for e in events] == [("127.0.0.9", "open")]
    assert stale_rows(writer)[0]["started_at"] == added  # counted from when it was added, not the app's start
