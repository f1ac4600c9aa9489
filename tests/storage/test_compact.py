"""The compact raw-row layout (storage/compact.py, issue 12 Disk, schema version 13): upgrading a version-12
database in place keeps every ping_results row, readable through the ping_results view under the seed's names and
meanings (times in ms, the timestamp as before, samples a JSON list of ms), on both backends; the writer stores
exactly what the upgrade copies; a server's time window reads the clustered primary key."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, inspect, select, text

from collector.probes.base import ProbeResult
from common.timeutil import utcnow
from storage.compact import compact_rows, upgrade_to_compact
from storage.migrations import init_db
from storage.schema import RAW_COLUMNS, SCHEMA_VERSION, ping_compact, ping_results, schema_info, series
from tests.helpers.legacy import as_version_12
from tests.seeding import seed_history


HALF_US = 5.01e-4  # µs rounding: half a µs, and a float's last bit


def varied_profile(server_index: int, round_index: int) -> ProbeResult:
    """RTTs with three decimals, lost packets (null samples), rounds all lost and probes that failed outright."""
    if round_index % 13 == 5:
        return ProbeResult.failed(4, "unknown host")
    if round_index % 11 == 3:
        return ProbeResult(transmitted=4, received=0, samples_ms=[None] * 4)
    base = 20.0 + 37.123 * server_index + (round_index % 7) * 41.007
    samples = [base + 0.001 * j * round_index for j in range(4)]
    if round_index % 3 == 0:
        samples[1] = None
    return ProbeResult(transmitted=4, received=sum(s is not None for s in samples), samples_ms=samples)


@pytest.fixture
def history(writer, config):
    """40 rounds of every configured server with losses, outages, errors and concerns, in a database turned back
    into version 12 (the ping_results table)."""
    seed_history(writer, config, utcnow(), rounds=40, interval_seconds=60, profile=varied_profile)
    as_version_12(writer.engine)
    return writer.engine


def stored_rows(engine) -> list[dict]:
    """Every ping_results row (table or view, the seed's columns and the additions) as a dict, in id order."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(*RAW_COLUMNS).order_by(RAW_COLUMNS[0]))]


def assert_same_meaning(before: dict, after: dict) -> None:
    """One row equal column by column: RTTs to the µs, r_factor to 0.01, mos to 0.001, JSON as data."""
    for name, old in before.items():
        new = after[name]
        if name in ("samples", "concern_data") and old is not None:
            old, new = json.loads(old), json.loads(new)
            if name == "samples":
                assert new == [pytest.approx(v, abs=HALF_US) if v is not None else None for v in old], name
                continue
        if isinstance(old, float):
            tolerance = {"r_factor": 5e-3, "mos": 5.01e-4}.get(name, HALF_US)
            assert new == pytest.approx(old, abs=tolerance), name
        else:
            assert new == old, (name, before["id"])


def upgrade(engine) -> None:
    """Run the compact step in one transaction, as init_db runs a step."""
    with engine.begin() as conn:
        upgrade_to_compact(conn, batch_rows=37)  # several batches even on a small history


def test_every_row_reads_the_same_through_the_view_after_the_upgrade(history):
    before = stored_rows(history)
    assert len(before) > 100
    assert any(r["error"] for r in before) and any(r["concerns"] for r in before)
    assert any(r["samples"] and "null" in r["samples"] for r in before)
    upgrade(history)
    after = stored_rows(history)
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        assert_same_meaning(old, new)
    with history.connect() as conn:
        names = inspect(conn)
        assert "ping_results" in names.get_view_names()
        assert "ping_results" not in names.get_table_names()
        labels = conn.execute(select(series)).all()
        assert len(labels) == len({r["server_id"] for r in before})  # one series per server and vantage point
        assert conn.execute(select(ping_compact.c.id)).all()


def test_the_seed_columns_are_readable_by_plain_sql(history):
    with history.connect() as conn:
        expected = conn.execute(text("SELECT server_id, timestamp, avg_time FROM ping_results "
                                     "ORDER BY id DESC LIMIT 1")).one()
    upgrade(history)
    with history.connect() as conn:
        got = conn.execute(text("SELECT server_id, timestamp, avg_time FROM ping_results "
                                "ORDER BY id DESC LIMIT 1")).one()
    assert got.server_id == expected.server_id and got.timestamp == expected.timestamp
    assert got.avg_time == pytest.approx(expected.avg_time, abs=5e-4)


def test_running_the_step_again_changes_nothing(history):
    upgrade(history)
    once = stored_rows(history)
    upgrade(history)
    assert stored_rows(history) == once


@pytest.mark.sqlite_only("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans by its statistics")
def test_a_server_window_reads_the_clustered_key(history):
    upgrade(history)
    since = int((utcnow() - timedelta(minutes=10)).timestamp() * 1e6)
    with history.connect() as conn:
        plan = " ".join(r[-1] for r in conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT avg_time FROM ping_results WHERE series_id = 1 AND t_us >= :since"),
            {"since": since}))
    assert "USING PRIMARY KEY (series_id=? AND t_us>?)" in plan, plan


def test_init_db_upgrades_a_version_12_database_keeping_every_row(history):
    before = stored_rows(history)
    assert init_db(history) == 12
    with history.connect() as conn:
        assert conn.execute(select(schema_info.c.version)).scalar_one() == SCHEMA_VERSION == 13
        assert "ping_results" in inspect(conn).get_view_names()
        assert "ping_results" not in inspect(conn).get_table_names()
    after = stored_rows(history)
    assert len(after) == len(before) > 100
    for old, new in zip(before, after, strict=True):
        assert_same_meaning(old, new)


def test_the_first_round_after_the_upgrade_takes_ids_past_the_copied_ones(history, writer, config):
    highest = max(r["id"] for r in stored_rows(history))
    init_db(history)
    seed_history(writer, config, utcnow() + timedelta(minutes=5), rounds=1)
    with history.connect() as conn:
        new = conn.execute(select(ping_results.c.id).where(ping_results.c.id > highest)).scalars().all()
    assert sorted(new) == list(range(highest + 1, highest + 1 + len(config.servers)))


def test_a_database_made_by_the_seed_scripts_upgrades_to_compact(empty_database_url):
    from storage import make_engine
    from tests.storage.test_migrations import SEED_ROWS, seed_metadata, seed_ping_results
    engine = make_engine(empty_database_url)
    try:
        seed_metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(seed_ping_results.insert(), SEED_ROWS)
        assert init_db(engine) == 0
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(ping_compact)).scalar_one() == len(SEED_ROWS)
        after = stored_rows(engine)
        assert [r["id"] for r in after] == list(range(1, len(SEED_ROWS) + 1))
        for old, new in zip(SEED_ROWS, after, strict=True):
            assert new["server_id"] == old["server_ip"] and new["round_id"] is None  # as the v0 -> 1 step fills it
            assert_same_meaning(old, {k: new[k] for k in old})
    finally:
        engine.dispose()


def test_a_new_database_stores_raw_rows_compact_from_the_start(writer, config):
    seed_history(writer, config, utcnow(), rounds=3, interval_seconds=60, profile=varied_profile)
    with writer.engine.connect() as conn:
        assert "ping_results" in inspect(conn).get_view_names()
        assert conn.execute(select(func.count()).select_from(ping_compact)).scalar_one() == 3 * len(config.servers)
        rows = conn.execute(text("SELECT server_id, timestamp, avg_time, samples FROM ping_results")).all()
    assert len(rows) == 3 * len(config.servers) and all(r.server_id for r in rows)


def test_the_writer_encodes_rows_exactly_as_the_upgrade_copies_them(history):
    seed_shaped = stored_rows(history)  # as the writer stored them: floats in ms, JSON samples
    upgrade(history)
    with history.begin() as conn:
        copied = conn.execute(select(ping_compact).order_by(ping_compact.c.id)).all()
        conn.execute(ping_compact.delete())
        conn.execute(ping_compact.insert(), compact_rows(conn, seed_shaped))
        encoded = conn.execute(select(ping_compact).order_by(ping_compact.c.id)).all()
    assert encoded == copied


def test_new_labels_and_classes_get_new_series_and_class_ids(history):
    upgrade(history)
    with history.begin() as conn:
        row = dict(conn.execute(select(*RAW_COLUMNS).limit(1)).one()._mapping)
        stored = conn.execute(select(func.count()).select_from(series)).scalar()
        new = dict(row, id=None, server_id="new-one", latency_class="brand-new", timestamp=row["timestamp"])
        conn.execute(ping_compact.insert(), compact_rows(conn, [new]))
        assert conn.execute(select(func.count()).select_from(series)).scalar() == stored + 1
        back = conn.execute(select(ping_results).where(ping_results.c.server_id == "new-one")).one()
    assert back.latency_class == "brand-new" and back.timestamp == row["timestamp"]
    assert back.avg_time == pytest.approx(row["avg_time"], abs=HALF_US)


def test_a_class_id_another_collector_took_meanwhile_is_skipped(writer, config):
    from storage.compact import _add_class
    from storage.schema import ping_classes
    seed_history(writer, config, utcnow(), rounds=2, interval_seconds=60)
    with writer.engine.begin() as conn:
        classes = dict(conn.execute(select(ping_classes.c.name, ping_classes.c.id)).all())
        taken = max(classes.values()) + 1
        conn.execute(ping_classes.insert().values(id=taken, name="theirs"))  # not in our (stale) classes
        _add_class(conn, "mine", classes)
        _add_class(conn, "theirs", classes)  # already stored under their id: read back, not added again
        stored = dict(conn.execute(select(ping_classes.c.name, ping_classes.c.id)).all())
    assert classes["theirs"] == stored["theirs"] == taken and classes["mine"] == stored["mine"] == taken + 1


@pytest.mark.sqlite_only("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans by its statistics")
def test_the_apps_raw_reads_drive_series_then_one_key_range_each(writer, config):
    # No ANALYZE statistics (as in every database the app makes): without the view's CROSS JOIN SQLite scanned
    # all of ping_compact for the writer's folds.
    from queries.filters import Filters
    from queries.pingdata import _raw_series_stmt
    from storage.rollups import _server_select, round_params, round_rows
    seed_history(writer, config, utcnow(), rounds=5, interval_seconds=60)
    now = utcnow()
    window = _raw_series_stmt(Filters(start=now - timedelta(hours=1), end=now), "country", 60, "sqlite")
    with writer.engine.connect() as conn:
        fold = _server_select("sqlite", 300).where(round_rows())  # what the writer's first fold reads
        plans = [_plan(conn, fold.params(round_params([1, 2], (0, 2 ** 62)))),
                 _plan(conn, window)]
    for details in plans:
        assert any(d.startswith("SEARCH c USING PRIMARY KEY (series_id=? AND t_us>") for d in details), details
        assert not any(d.startswith("SCAN c") for d in details), details


def _plan(conn, stmt) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN lines of a statement, its values inlined."""
    sql = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True, "render_postcompile": True})
    return [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]


@pytest.mark.sqlite_only("EXPLAIN QUERY PLAN is SQLite's; PostgreSQL plans by its statistics")
def test_the_oldest_and_newest_row_are_one_key_seek_per_series(writer, config):
    # Every page load asks for the oldest stored round (a fresh install opens on the last hour). The correlated
    # subquery once lost its correlation and joined series itself: the whole table scanned, 100 ms at 200
    # servers × 2 days, seconds at 30 days.
    from sqlalchemy import func as sqlfunc
    from storage.compact import _per_series, newest_at, oldest_at
    seed_history(writer, config, utcnow(), rounds=3, interval_seconds=60)
    seen = []

    class Recording:
        def __init__(self, conn):
            self.conn = conn

        def execute(self, stmt):
            seen.append(_plan(self.conn, stmt))
            return self.conn.execute(stmt)

    with writer.engine.connect() as conn:
        _per_series(Recording(conn), sqlfunc.min)
        _per_series(Recording(conn), sqlfunc.max, series.c.server_id == config.servers[0].id)
        assert oldest_at(conn) is not None and newest_at(conn, config.servers[0].id) is not None
    for details in seen:
        assert not any(d.startswith("SCAN ping_compact") for d in details), details
        assert any(d.startswith("SEARCH ping_compact USING PRIMARY KEY (series_id=?)") for d in details), details
