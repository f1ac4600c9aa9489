"""Data retention: expired rows go in bounded batches through the writer, each kind by its own horizon, and the
collector prunes between rounds; the retention config is validated key by key."""
from __future__ import annotations

import logging
import math
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.dialects import postgresql

from collector import service
from settings import RETENTION_DEFAULTS, RETENTION_SETTINGS, ConfigError, validate_config
from collector.service import Collector
from storage import retention
from storage.retention import PRUNABLE, by_key_delete, expired_keys, horizons, in_subquery_delete, prune
from storage.compact import t_us
from storage.schema import logs, ping_compact, ping_results, ping_rollups, rounds
from tests.conftest import SERVERS, make_config_dict
from tests.seeding import seed_history
from tests.helpers.fakes import FakeClock, FakeFactory, SteppingStop, ticking_now
from tests.helpers.readme import README, table_keys

NOW = datetime(2024, 9, 1, 12, 0, 0)
KEEP_ALL = {"raw_days": None, "five_minute_rollup_days": None, "hourly_rollup_days": None, "logs_days": None,
            "sla_days": None, "batch_rows": 5000}
LOGS_ONLY = {**KEEP_ALL, "logs_days": 90}  # budget tests: no batches spent on other (empty) kinds


def days_ago(days: float) -> datetime:
    """NOW minus a number of days."""
    return NOW - timedelta(days=days)


def store_round(writer, config, at: datetime) -> None:
    """One round of every configured server (4 rows) at `at`, with its rollups."""
    seed_history(writer, config, at, rounds=1)


def store_logs(writer, times: list[datetime]) -> None:
    """One log row per time."""
    writer.write_logs([{"timestamp": t, "level": "INFO", "message": f"at {t}", "module": "test"} for t in times])


def count(writer, table, *where) -> int:
    """Rows of table matching where."""
    with writer.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def column(writer, col, *where) -> list:
    """Distinct values of one column, sorted."""
    with writer.engine.connect() as conn:
        return sorted(set(conn.execute(select(col).where(*where)).scalars()))


def rollup_times(writer, resolution: int) -> list[datetime]:
    """Distinct bucket starts of one rollup resolution."""
    return column(writer, ping_rollups.c.bucket_start, ping_rollups.c.resolution_seconds == resolution)


def settings(**overrides) -> dict:
    """The default retention with some keys changed."""
    return {**RETENTION_DEFAULTS, **overrides}


# --- horizons ------------------------------------------------------------------------------------------

def test_horizons_give_the_oldest_time_kept_per_kind_and_none_for_forever():
    assert horizons(RETENTION_DEFAULTS, NOW) == {"raw": days_ago(90), "five_minute_rollup": days_ago(400),
                                                 "hourly_rollup": None, "logs": days_ago(90), "sla": None}
    aware = NOW.replace(tzinfo=timezone.utc).astimezone(timezone(timedelta(hours=3)))
    assert horizons(settings(raw_days=0.5), aware)["raw"] == NOW - timedelta(hours=12)  # stored times are naive UTC
    assert set(horizons(KEEP_ALL, NOW).values()) == {None}
    assert horizons(settings(raw_days=1e9, logs_days=10**12), NOW)["raw"] is None  # older than year 1: keep all
    assert retention.RESOLUTION_KINDS == {300: "five_minute_rollup", 3600: "hourly_rollup"}


# --- what is deleted -----------------------------------------------------------------------------------

AGES_DAYS = [1, 89, 91, 300, 399, 401, 800]


@pytest.fixture
def history(config, writer):
    """One round (4 servers) at each age in AGES_DAYS, plus log lines at the same ages."""
    for age in AGES_DAYS:
        store_round(writer, config, days_ago(age))
    store_logs(writer, [days_ago(age) for age in AGES_DAYS])
    return writer


def test_each_kind_keeps_exactly_what_is_newer_than_its_horizon(history, config):
    deleted = prune(history, config.retention.as_dict(), NOW)
    assert column(history, ping_results.c.timestamp) == [days_ago(a) for a in (89, 1)]
    assert column(history, rounds.c.started_at) == [days_ago(a) for a in (89, 1)]
    # 5-minute rollups outlive raw rows (400 days); hourly ones are kept forever by default.
    assert [b.date() for b in rollup_times(history, 300)] == [days_ago(a).date() for a in (399, 300, 91, 89, 1)]
    assert [b.date() for b in rollup_times(history, 3600)] == [days_ago(a).date() for a in sorted(AGES_DAYS)[::-1]]
    assert column(history, logs.c.timestamp) == [days_ago(a) for a in (89, 1)]
    # Four servers in three countries: each expired 5-minute bucket is 4 server rows and 3 country rows.
    assert deleted == {"ping_results": 5 * 4, "sip_results": 0, "rounds": 5, "ping_rollups_300s": 2 * 4, "ping_rollups_3600s": 0,
                       "country_rollups_300s": 2 * 3, "country_rollups_3600s": 0, "sip_rollups_300s": 0, "sip_rollups_3600s": 0, "logs": 5, "incidents": 0,
                       "availability_rollups_3600s": 0, "availability_rollups_86400s": 0}


def test_a_second_call_finds_nothing_left(history, config):
    prune(history, config.retention.as_dict(), NOW)
    assert set(prune(history, config.retention.as_dict(), NOW).values()) == {0}


def test_null_keeps_every_kind_forever(history):
    before = {t.name: count(history, t) for t in (ping_results, rounds, ping_rollups, logs)}
    assert set(prune(history, KEEP_ALL, NOW).values()) == {0}
    assert {t.name: count(history, t) for t in (ping_results, rounds, ping_rollups, logs)} == before


def test_hourly_rollups_follow_their_own_horizon(history):
    prune(history, settings(hourly_rollup_days=500, five_minute_rollup_days=100), NOW)
    assert [b.date() for b in rollup_times(history, 3600)] == [days_ago(a).date() for a in (401, 399, 300, 91, 89, 1)]
    assert [b.date() for b in rollup_times(history, 300)] == [days_ago(a).date() for a in (91, 89, 1)]


def test_logs_follow_logs_days_only(history):
    prune(history, settings(raw_days=None, five_minute_rollup_days=None, logs_days=300.5), NOW)
    assert column(history, logs.c.timestamp) == [days_ago(a) for a in (300, 91, 89, 1)]
    assert count(history, ping_results) == 4 * len(AGES_DAYS)


def test_a_row_exactly_on_the_horizon_is_kept(config, writer):
    store_round(writer, config, days_ago(90))
    store_round(writer, config, days_ago(90) - timedelta(microseconds=1000))
    prune(writer, config.retention.as_dict(), NOW)
    assert column(writer, ping_results.c.timestamp) == [days_ago(90)]


# --- rounds --------------------------------------------------------------------------------------------

def test_a_round_goes_only_when_no_result_references_it(config, writer):
    store_round(writer, config, days_ago(100))
    old_round = column(writer, rounds.c.id)[0]
    rounds_entry = next(e for e in PRUNABLE if e.label == "rounds")
    # While its rows are stored the round stays, even past its horizon (the raw pass would delete them first).
    assert retention.delete_batch(writer, rounds_entry, days_ago(90), 100) == 0
    assert column(writer, rounds.c.id) == [old_round]
    writer.write_round("test", days_ago(100), days_ago(100), [])  # old, and never had results
    writer.write_round("test", days_ago(1), days_ago(1), [])  # recent and empty: kept until it is old
    deleted = prune(writer, RETENTION_DEFAULTS, NOW)
    assert deleted["ping_results"] == 4 and deleted["rounds"] == 2
    assert column(writer, rounds.c.started_at) == [days_ago(1)]
    assert count(writer, rounds, rounds.c.servers == 0, rounds.c.started_at == days_ago(100)) == 0


def test_a_row_stamped_outside_its_round_does_not_hold_it(config, writer):
    # The raw rows have no round_id index: a round is held by its rows within its own span (the collector stamps
    # them at its start). A row moved away in time (a clock that jumped) keeps its round_id, not the round.
    store_round(writer, config, days_ago(100))
    old_round = column(writer, rounds.c.id)[0]
    with writer.engine.begin() as conn:
        first = conn.execute(select(func.min(ping_compact.c.id))).scalar_one()
        conn.execute(update(ping_compact).where(ping_compact.c.id == first).values(t_us=t_us(days_ago(1))))
    deleted = prune(writer, RETENTION_DEFAULTS, NOW)
    assert deleted["ping_results"] == 3 and deleted["rounds"] == 1
    assert column(writer, ping_results.c.round_id) == [old_round]


# --- batches and budget --------------------------------------------------------------------------------

class StatementLog:
    """Records, per transaction on an engine, each statement and its rowcount."""

    def __init__(self, engine):
        self.transactions: list[list[tuple[str, int]]] = []
        event.listen(engine, "begin", lambda conn: self.transactions.append([]))
        event.listen(engine, "after_cursor_execute", self._executed)

    def _executed(self, conn, cursor, statement, parameters, context, executemany):
        self.transactions[-1].append((" ".join(statement.split()), cursor.rowcount))

    def deleting(self, table: str) -> list[list[tuple[str, int]]]:
        """The transactions that ran a DELETE on table."""
        return [t for t in self.transactions if any(s.startswith(f"DELETE FROM {table} ") for s, _ in t)]

    def deleted_per_transaction(self, table: str) -> list[int]:
        """Rows deleted from table by each transaction that deleted any."""
        counts = [sum(n for s, n in t if s.startswith(f"DELETE FROM {table} ")) for t in self.deleting(table)]
        return [n for n in counts if n]


@pytest.mark.parametrize("rows", [1, 7, 20, 21, 50])
def test_batch_rows_bounds_every_transaction(writer, rows):
    store_logs(writer, [days_ago(200) + timedelta(seconds=i) for i in range(rows)])
    seen = StatementLog(writer.engine)
    deleted = prune(writer, settings(batch_rows=7), NOW)
    assert deleted["logs"] == rows and count(writer, logs) == 0
    assert seen.deleted_per_transaction("logs") == [7] * (rows // 7) + ([rows % 7] if rows % 7 else [])
    assert len(seen.deleted_per_transaction("logs")) == math.ceil(rows / 7)
    for transaction in seen.deleting("logs"):  # one DELETE per transaction, nothing else written with it
        assert sum(s.startswith("DELETE") for s, _ in transaction) == 1


def test_composite_key_rollups_are_deleted_in_bounded_batches_too(config, writer):
    for i in range(6):  # 6 rounds x 4 servers, each round in its own 5-minute bucket
        store_round(writer, config, days_ago(500) + timedelta(minutes=5 * i))
    seen = StatementLog(writer.engine)
    deleted = prune(writer, settings(batch_rows=7), NOW)
    assert deleted["ping_rollups_300s"] == 24 and rollup_times(writer, 300) == []
    assert seen.deleted_per_transaction("ping_rollups") == [7, 7, 7, 3]
    assert count(writer, ping_rollups, ping_rollups.c.resolution_seconds == 3600) == 4  # hourly: kept forever


def test_oldest_rows_go_first_and_the_next_call_continues(writer):
    times = [days_ago(200) + timedelta(minutes=i) for i in range(30)]
    store_logs(writer, list(reversed(times)))  # ids in the opposite order of time
    first = prune(writer, {**LOGS_ONLY, "batch_rows": 7}, NOW, max_batches=2)
    assert first["logs"] == 14 and column(writer, logs.c.timestamp) == times[14:]
    assert prune(writer, {**LOGS_ONLY, "batch_rows": 7}, NOW)["logs"] == 16 and count(writer, logs) == 0


def test_every_batch_counts_against_the_budget_even_an_empty_one(writer):
    store_logs(writer, [days_ago(200)])
    # ping_results, sip_results and rounds come first and have nothing to delete: their three empty batches
    # spend the budget.
    assert prune(writer, RETENTION_DEFAULTS, NOW, max_batches=3)["logs"] == 0
    # Then the three kept 5-minute rollups (ping, country, sip; hourly ones are kept forever by default), and logs.
    assert prune(writer, RETENTION_DEFAULTS, NOW, max_batches=6)["logs"] == 0
    assert prune(writer, RETENTION_DEFAULTS, NOW, max_batches=7)["logs"] == 1


def test_the_time_budget_ends_a_call_between_batches(writer):
    store_logs(writer, [days_ago(200) + timedelta(seconds=i) for i in range(50)])
    ticks = iter(range(1000))
    # The deadline is 2.5 "seconds" after the first tick; each check moves the fake clock by one.
    deleted = prune(writer, {**LOGS_ONLY, "batch_rows": 5}, NOW, budget_seconds=2.5, clock=lambda: next(ticks))
    assert deleted["logs"] == 10


def test_a_stop_request_ends_pruning_between_batches_with_the_lock_released(writer):
    store_logs(writer, [days_ago(200) + timedelta(seconds=i) for i in range(50)])
    asked, lock_free = [], []

    def should_stop() -> bool:
        free = writer._lock.acquire(blocking=False)  # a round's write could take the lock right now
        lock_free.append(free)
        if free:
            writer._lock.release()
        asked.append(1)
        return len(asked) > 3  # stop after three batches

    deleted = prune(writer, {**LOGS_ONLY, "batch_rows": 5}, NOW, should_stop=should_stop)
    assert deleted["logs"] == 15 and count(writer, logs) == 35
    assert lock_free and all(lock_free)


def test_every_delete_runs_inside_the_writers_lock(config, writer):
    store_round(writer, config, days_ago(500))
    store_logs(writer, [days_ago(200)])
    held = []

    def record(conn, cursor, statement, *_):
        if statement.startswith("DELETE"):
            held.append((writer._lock.locked(), writer.writing_in_this_thread()))

    event.listen(writer.engine, "before_cursor_execute", record)
    prune(writer, settings(batch_rows=3), NOW)
    assert len(held) > 5 and set(held) == {(True, True)}


def verb_and_table(statement: str) -> str:
    """'DELETE logs' for 'DELETE FROM logs WHERE ...', 'INSERT rounds' for 'INSERT INTO rounds ...'."""
    words = statement.split()
    return f"{words[0]} {words[2]}" if len(words) > 2 else words[0]


def test_round_writes_interleave_between_batches(config, writer):
    store_logs(writer, [days_ago(200) + timedelta(seconds=i) for i in range(20)])
    order = []
    event.listen(writer.engine, "after_cursor_execute",
                 lambda conn, cursor, statement, *_: order.append(verb_and_table(statement)))

    def write_a_round_between_batches() -> bool:
        if order.count("DELETE logs") == 2 and "INSERT rounds" not in order:
            # From another thread, as the collector's round would: it must get the lock before the next batch.
            writing = threading.Thread(target=store_round, args=(writer, config, NOW))
            writing.start()
            writing.join(10)
            assert not writing.is_alive(), "the round's write waited for the whole pruning step"
        return False

    prune(writer, {**LOGS_ONLY, "batch_rows": 5}, NOW, should_stop=write_a_round_between_batches)
    deletes = [i for i, s in enumerate(order) if s == "DELETE logs"]
    write = order.index("INSERT rounds")
    assert deletes[1] < write < deletes[2] and count(writer, logs) == 0 and count(writer, rounds) == 1


def test_statements_are_portable_sqlalchemy_core():
    # Nothing SQLite-only: every statement a batch runs also compiles for PostgreSQL.
    dialect = postgresql.dialect()
    for entry in PRUNABLE:
        chosen = expired_keys(entry, NOW, 7)
        assert "LIMIT" in str(chosen.compile(dialect=dialect))
        for statement in (in_subquery_delete(entry, chosen), by_key_delete(entry)):
            assert str(statement.compile(dialect=dialect)).startswith(f"DELETE FROM {entry.table.name} ")


# --- the collector -------------------------------------------------------------------------------------

T0 = datetime(2024, 5, 1, 10, 0, 0)


def collector_on(tmp_path, writer, clock=None, **config) -> Collector:
    """A collector with fake probes, one server, rounds stamped T0, T0+1 s, ..."""
    cfg = validate_config(make_config_dict(tmp_path, servers=[dict(SERVERS[0])], **config))
    return Collector(cfg, writer, probe_factory=FakeFactory(), auto_kind="ping", now=ticking_now(T0),
                     clock=clock or FakeClock(), name="lab-1")


def run_loop(collector: Collector, rounds_count: int) -> None:
    """Run the collector's loop for rounds_count rounds on its fake clock."""
    collector._stop = SteppingStop(collector.clock, rounds=rounds_count)
    collector._loop()


def test_the_collector_prunes_between_rounds_and_logs_the_counts(tmp_path, config, writer, db_logging):
    store_round(writer, config, T0 - timedelta(days=100))
    store_round(writer, config, T0 - timedelta(days=10))
    store_logs(writer, [T0 - timedelta(days=95)])
    collector = collector_on(tmp_path, writer)
    run_loop(collector, 2)
    assert min(column(writer, ping_results.c.timestamp)) == T0 - timedelta(days=10)
    assert count(writer, ping_results) == 4 + 2  # the 10-day-old round, and the collector's two (one server)
    assert count(writer, rounds) == 3 and collector.rounds_run == 2
    lines = [m for m in column(writer, logs.c.message, logs.c.module == "collector.service")
             if m.startswith("retention:")]
    assert lines == ["retention: deleted 4 ping_results, 1 rounds, 1 logs"]  # once: the second step finds nothing


def test_retention_from_a_reloaded_config_applies_next_round(tmp_path, config, writer):
    store_round(writer, config, T0 - timedelta(days=10))
    collector = collector_on(tmp_path, writer)
    run_loop(collector, 1)
    assert count(writer, ping_results, ping_results.c.timestamp < T0) == 4
    collector.reload(validate_config(make_config_dict(tmp_path, retention={"raw_days": 5})))
    run_loop(collector, 1)
    assert count(writer, ping_results, ping_results.c.timestamp < T0) == 0


def test_a_single_round_never_prunes(tmp_path, config, writer):
    # pinger.py --once calls run_round() alone; only the loop prunes.
    store_round(writer, config, T0 - timedelta(days=100))
    collector_on(tmp_path, writer).run_round()
    assert count(writer, ping_results, ping_results.c.timestamp < T0) == 4


def test_no_pruning_when_the_next_round_is_too_close(tmp_path, config, writer):
    store_round(writer, config, T0 - timedelta(days=100))
    collector = collector_on(tmp_path, writer)
    collector.run_round()
    collector._prune_in_slack(0.05)
    assert count(writer, ping_results, ping_results.c.timestamp < T0) == 4
    collector._prune_in_slack(10)
    assert count(writer, ping_results, ping_results.c.timestamp < T0) == 0


def test_stop_interrupts_the_collectors_pruning_between_batches(tmp_path, config, writer):
    store_logs(writer, [T0 - timedelta(days=200, seconds=i) for i in range(30)])
    collector = collector_on(tmp_path, writer, retention={"batch_rows": 5})
    collector.run_round()

    def stop_after_first_delete(conn, cursor, statement, *_):
        if statement.startswith("DELETE FROM logs"):
            collector._stop.set()  # what stop() does, from another thread

    event.listen(writer.engine, "after_cursor_execute", stop_after_first_delete)
    collector._prune_in_slack(60)
    assert count(writer, logs) == 25


def test_a_failing_prune_is_logged_once_and_rounds_go_on(tmp_path, writer, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("disk I/O error")

    monkeypatch.setattr(service, "prune", broken)
    collector = collector_on(tmp_path, writer)
    with caplog.at_level(logging.DEBUG, logger="collector.service"):
        run_loop(collector, 3)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "expired" in r.getMessage()]
    assert warnings == ["could not delete expired rows (RuntimeError: disk I/O error); retrying between rounds"]
    assert collector.rounds_run == 3


def test_no_pruning_while_rounds_cannot_be_stored(tmp_path, config, writer, monkeypatch):
    store_round(writer, config, T0 - timedelta(days=100))
    calls = []
    monkeypatch.setattr(service, "prune", lambda *a, **k: calls.append(1) or {})
    collector = collector_on(tmp_path, writer)
    collector._prune_in_slack(60)  # no round stored yet
    collector.last_round_at, collector.last_error = T0, "OperationalError: disk is full"
    collector._prune_in_slack(60)
    assert calls == []


# --- config --------------------------------------------------------------------------------------------

def errors_of(tmp_path, retention_value) -> list[str]:
    """The error lines of a config whose retention is retention_value."""
    with pytest.raises(ConfigError) as info:
        validate_config(make_config_dict(tmp_path, retention=retention_value))
    return str(info.value).splitlines()


@pytest.mark.parametrize("given, message", [
    ({"raw_days": 0}, "retention.raw_days: 0 must be a positive number of days, or null to keep forever"),
    ({"raw_days": -3}, "retention.raw_days: -3 must be a positive number of days"),
    ({"logs_days": "90"}, 'retention.logs_days: "90" must be a positive number of days'),
    ({"logs_days": True}, "retention.logs_days: true must be a positive number of days"),
    ({"five_minute_rollup_days": math.nan}, "retention.five_minute_rollup_days: NaN must be a positive number"),
    ({"hourly_rollup_days": math.inf}, "retention.hourly_rollup_days: Infinity must be a positive number"),
    ({"batch_rows": 0}, "retention.batch_rows: 0 must be a positive whole number of rows"),
    ({"batch_rows": 2.5}, "retention.batch_rows: 2.5 must be a positive whole number of rows"),
    ({"batch_rows": None}, "retention.batch_rows: null must be a positive whole number of rows"),
    ({"raw_day": 30}, "retention.raw_day: unknown key (did you mean raw_days?)"),
    ({"keep": 30}, "retention.keep: unknown key; expected one of raw_days, five_minute_rollup_days, "
                   "hourly_rollup_days, logs_days, sla_days, batch_rows"),
    (30, "retention: 30 must be an object with any of raw_days"),
    (None, "retention: null must be an object"),
    ({"raw_days": 500}, "retention.five_minute_rollup_days: 400 (the default) is shorter than retention.raw_days "
                        "(500); rollups must be kept at least as long as the rows they summarise"),
    ({"raw_days": None}, "retention.five_minute_rollup_days: 400 (the default) is shorter than retention.raw_days "
                         "(null)"),
    ({"five_minute_rollup_days": 30}, "retention.five_minute_rollup_days: 30 is shorter than retention.raw_days "
                                      "(90 (the default))"),
    ({"hourly_rollup_days": 365}, "retention.hourly_rollup_days: 365 is shorter than "
                                  "retention.five_minute_rollup_days (400 (the default))"),
    ({"five_minute_rollup_days": None, "hourly_rollup_days": 1000},
     "retention.hourly_rollup_days: 1000 is shorter than retention.five_minute_rollup_days (null)"),
], ids=["zero", "negative", "string", "bool", "nan", "infinity", "batch zero", "batch fraction", "batch null",
        "typo", "unknown", "not an object", "null", "raw beyond 5-minute default", "raw forever",
        "5-minute below raw", "hourly below 5-minute", "hourly below forever"])
def test_bad_retention_is_named_by_its_key_path(tmp_path, given, message):
    lines = errors_of(tmp_path, given)
    assert any(line.startswith(message) for line in lines), lines


def test_a_misspelt_retention_section_gets_a_hint(tmp_path):
    with pytest.raises(ConfigError, match=r"retension: unknown key \(did you mean retention\?\)"):
        validate_config(make_config_dict(tmp_path, retension={"raw_days": 30}))


def test_one_bad_value_is_not_also_reported_as_out_of_order(tmp_path):
    assert errors_of(tmp_path, {"raw_days": -1, "five_minute_rollup_days": 30}) == [
        "retention.raw_days: -1 must be a positive number of days, or null to keep forever"]


@pytest.mark.parametrize("given", [
    {}, {"raw_days": 0.5}, {"raw_days": 7, "five_minute_rollup_days": 7, "hourly_rollup_days": 7},
    {"raw_days": None, "five_minute_rollup_days": None}, {"logs_days": None, "batch_rows": 1},
    {"raw_days": 30, "five_minute_rollup_days": 60, "hourly_rollup_days": 3650},
])
def test_good_retention_is_accepted_and_subsets_keep_the_defaults(tmp_path, given):
    config = validate_config(make_config_dict(tmp_path, retention=given))
    assert config.retention.as_dict() == {**RETENTION_DEFAULTS, **given}


def test_without_a_retention_section_the_defaults_apply(config):
    assert config.retention.as_dict() == {"raw_days": 90, "five_minute_rollup_days": 400, "hourly_rollup_days": None,
                                "logs_days": 90, "sla_days": None, "batch_rows": 5000}


def test_every_retention_key_has_a_row_in_the_readme():
    keys = table_keys(README.read_text(encoding="utf-8"))
    assert {f"retention.{s.name}" for s in RETENTION_SETTINGS} <= keys


def test_every_retention_key_is_used_by_the_pruner():
    used = {e.retention_key for e in PRUNABLE} | {"batch_rows"}
    assert used == set(RETENTION_DEFAULTS)


@pytest.mark.sqlite_only
def test_the_loop_checkpoints_the_wal_after_each_stored_round(tmp_path, writer, monkeypatch):
    copied = []
    real = writer.checkpoint
    monkeypatch.setattr(writer, "checkpoint", lambda: copied.append(real()) or copied[-1])
    run_loop(collector_on(tmp_path, writer), 2)
    assert len(copied) == 2
    assert all(frames > 0 and done == frames for frames, done in copied)  # no reader held pages back


def test_sla_history_follows_sla_days_and_outlives_raw_rows(config, writer):
    """Incidents and availability rollups go after sla_days (default: never), not with the raw rows."""
    from collector.probes.base import ProbeResult
    from storage.schema import availability_rollups, incidents

    def down_then_up(server_index: int, round_index: int) -> ProbeResult:
        if server_index == 0 and round_index == 0:
            return ProbeResult(transmitted=4, received=0)
        return ProbeResult(transmitted=4, received=4, samples_ms=[20.0] * 4)

    for age in (400, 100, 1):  # one finished incident of server 0 at each age: a down round, then an up one
        seed_history(writer, config, days_ago(age), 2, 60, down_then_up)
    assert count(writer, incidents) == 3
    prune(writer, settings(sla_days=None), NOW)
    assert count(writer, incidents) == 3 and count(writer, ping_results) == 2 * 4  # raw rows gone, SLA history kept
    deleted = prune(writer, settings(sla_days=200), NOW)
    assert deleted["incidents"] == 1 and deleted["availability_rollups_3600s"] == 2 * 4  # 11:59 and 12:00
    assert deleted["availability_rollups_86400s"] == 4
    assert sorted(t.date() for t in column(writer, incidents.c.started_at)) == [days_ago(a).date() for a in (100, 1)]
    assert min(column(writer, availability_rollups.c.bucket_start)) >= days_ago(200)


def test_sla_days_shorter_than_raw_days_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"retention.sla_days: 30 is shorter than retention.raw_days"):
        validate_config(make_config_dict(tmp_path, retention={"sla_days": 30}))
