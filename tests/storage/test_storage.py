"""Storage: round trip of every column, UTC timestamps, one transaction per round, upgrades, engine roles."""
from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, inspect, insert, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from storage import init_db, make_engine, open_writer
from storage.schema import SCHEMA_VERSION, indexes_for, logs, metadata, ping_results, rounds, schema_info
from common.timeutil import iso_z, to_naive_utc, utcnow

T0 = datetime(2024, 5, 1, 10, 0, 0)
PLUS2 = timezone(timedelta(hours=2))


def full_row(**overrides) -> dict:
    """A ping_results row with a distinct value in every column the collector writes."""
    row = {
        "server_id": "sip.example.com:5061", "server_ip": "sip.example.com", "country": "Kenya",
        "partner": "Safari Voice", "dn_ext": "sip.safari.example", "timestamp": T0,
        "packets_transmitted": 5, "packets_received": 4, "packets_lost": 1, "loss_percentage": 20.0,
        "min_time": 10.5, "avg_time": 12.25, "max_time": 15.0, "mdev_time": 1.75, "median_time": 11.75,
        "jitter_time": 2.5, "is_high_latency": False, "success": True, "concerns": "packet loss 20.0%",
        "probe": "tcp", "latency_class": "excellent", "samples": "[10.5, null, 11.0, 12.5, 15.0]",
        "error": None, "r_factor": 80.12, "mos": 4.05,
    }
    row.update(overrides)
    return row


def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# --- round trip -----------------------------------------------------------------------------------

def test_round_trip_of_every_column(writer):
    row = full_row()
    down = full_row(server_id="127.0.0.9", server_ip="127.0.0.9", packets_received=0, packets_lost=5,
                    loss_percentage=100.0, min_time=None, avg_time=None, max_time=None, mdev_time=None,
                    median_time=None, jitter_time=None, success=False, latency_class="down",
                    samples="[null, null, null, null, null]", error="unknown host", r_factor=None, mos=None,
                    concerns="probe failed: unknown host", dn_ext=None)
    round_id = writer.write_round("lab-1", T0, T0 + timedelta(seconds=2.5), [row, down])
    with writer.engine.connect() as conn:
        stored_round = conn.execute(select(rounds)).mappings().one()
        stored = conn.execute(select(ping_results).order_by(ping_results.c.id)).mappings().all()
    assert dict(stored_round) == {"id": round_id, "collector": "lab-1", "started_at": T0,
                                  "finished_at": T0 + timedelta(seconds=2.5), "duration_ms": 2500.0,
                                  "servers": 2, "failures": 1, "uid": None}
    for expected, got in zip([row, down], stored, strict=True):
        assert {k: got[k] for k in expected} == expected
        assert (got["round_id"], got["collector"]) == (round_id, "lab-1")
    assert set(stored[0]) == set(ping_results.c.keys())


def test_logs_round_trip(writer):
    entry = {"timestamp": T0, "level": "ERROR", "message": "tcp probe failed", "module": "collector.service",
             "traceback": "Traceback ...\nRuntimeError: boom", "collector": "lab-1"}
    writer.write_logs([entry])
    writer.write_logs([])
    with writer.engine.connect() as conn:
        got = conn.execute(select(logs)).mappings().one()
    assert {k: got[k] for k in entry} == entry


# --- time -----------------------------------------------------------------------------------------

def test_utcnow_is_naive_utc():
    now = utcnow()
    assert now.tzinfo is None
    assert abs(now - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(seconds=5)


def test_to_naive_utc_and_iso_z():
    assert to_naive_utc(datetime(2024, 5, 1, 12, 0, tzinfo=PLUS2)) == T0
    assert to_naive_utc(T0) == T0
    assert iso_z(T0) == "2024-05-01T10:00:00Z"
    assert iso_z(datetime(2024, 5, 1, 12, 0, tzinfo=PLUS2)) == "2024-05-01T10:00:00Z"
    assert iso_z(None) is None


def test_aware_datetimes_are_stored_as_naive_utc(writer):
    local = T0.replace(hour=12, tzinfo=PLUS2)  # 12:00 at +02:00 is 10:00 UTC
    writer.write_round("lab-1", local, local + timedelta(seconds=1), [full_row(timestamp=local)])
    writer.write_logs([{"timestamp": local, "level": "INFO", "message": "m", "module": "x"}])
    with writer.engine.connect() as conn:
        assert conn.execute(select(rounds.c.started_at, rounds.c.finished_at)).one() == (T0, T0 + timedelta(seconds=1))
        assert conn.execute(select(ping_results.c.timestamp)).scalar_one() == T0
        assert conn.execute(select(logs.c.timestamp)).scalar_one() == T0
        raw = conn.execute(text("SELECT timestamp FROM ping_results")).scalar_one()
    # SQLite keeps the text SQLAlchemy wrote; PostgreSQL a timestamp without time zone.
    assert raw == ("2024-05-01 10:00:00.000000" if writer.engine.dialect.name == "sqlite" else T0)


# --- one transaction per round -----------------------------------------------------------------

def test_a_failing_result_insert_leaves_no_round_behind(writer):
    writer.write_round("lab-1", T0, T0, [full_row()])
    bad = full_row(server_id="x", country=None)  # NOT NULL
    with pytest.raises(IntegrityError):
        writer.write_round("lab-1", T0 + timedelta(minutes=1), T0 + timedelta(minutes=1), [full_row(), bad])
    assert count(writer.engine, rounds) == 1
    assert count(writer.engine, ping_results) == 1
    # The writer is usable afterwards.
    writer.write_round("lab-1", T0, T0, [full_row()])
    assert count(writer.engine, rounds) == 2


def test_a_batch_of_rounds_keeps_each_rounds_rows_with_it(writer):
    batch = [(T0 + timedelta(minutes=i), T0 + timedelta(minutes=i, seconds=1),
              [full_row(server_id=f"s{k}", timestamp=T0 + timedelta(minutes=i)) for k in range(n)])
             for i, n in enumerate([3, 0, 1, 2])]
    ids = writer.write_rounds("lab-1", batch)
    assert ids == sorted(ids) and len(set(ids)) == 4
    with writer.engine.connect() as conn:
        for round_id, (started, _finished, rows) in zip(ids, batch):
            stored = conn.execute(select(rounds.c.started_at, rounds.c.servers).where(rounds.c.id == round_id)).one()
            assert tuple(stored) == (started, len(rows))
            times = conn.execute(select(ping_results.c.timestamp).where(ping_results.c.round_id == round_id)).scalars()
            assert list(times) == [started] * len(rows)


def test_an_empty_round_is_still_recorded(writer):
    round_id = writer.write_round("lab-1", T0, T0, [])
    with writer.engine.connect() as conn:
        assert conn.execute(select(rounds.c.servers, rounds.c.failures).where(rounds.c.id == round_id)).one() == (0, 0)


def test_writer_marks_the_thread_that_is_writing(writer):
    seen = []
    event.listen(writer.engine, "before_cursor_execute", lambda *a: seen.append(writer.writing_in_this_thread()))
    assert not writer.writing_in_this_thread()
    writer.write_round("lab-1", T0, T0, [full_row()])
    assert seen and all(seen)
    assert not writer.writing_in_this_thread()


# --- schema versions and upgrades ----------------------------------------------------------------

SEED_SCHEMA = """
CREATE TABLE ping_results (
    id INTEGER PRIMARY KEY AUTOINCREMENT, server_ip TEXT NOT NULL, country TEXT NOT NULL, partner TEXT NOT NULL,
    dn_ext TEXT, timestamp TEXT NOT NULL, packets_transmitted INTEGER, packets_received INTEGER,
    packets_lost INTEGER, loss_percentage REAL, min_time REAL, avg_time REAL, max_time REAL, mdev_time REAL,
    is_high_latency BOOLEAN, success BOOLEAN, concerns TEXT);
CREATE TABLE logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, timestamp TEXT NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL,
    module TEXT, traceback TEXT);
"""
SEED_ROWS = [
    # id, server_ip, country, partner, dn_ext, timestamp, tx, rx, lost, loss%, min, avg, max, mdev, high, ok, concerns
    (1, "127.0.0.1", "Kenya", "Safari Voice", "sip.safari.example", "2024-05-01 10:00:00",
     4, 4, 0, 0.0, 1.0, 2.0, 3.0, 0.5, 0, 1, None),
    (2, "127.0.0.2", "Kenya", "Safari Voice", "sip2.safari.example", "2024-05-01T10:05:00",
     4, 2, 2, 50.0, 10.0, 200.0, 390.0, 95.0, 1, 1, "High latency; packet loss"),
    (3, "127.0.0.3", "Nigeria", "Lagos Link", None, "2024-05-01T12:10:00+02:00",
     4, 0, 4, 100.0, None, None, None, None, 0, 0, "Server unreachable"),
]
SEED_TIMES = [datetime(2024, 5, 1, 10, 0), datetime(2024, 5, 1, 10, 5), datetime(2024, 5, 1, 10, 10)]
SEED_LOGS = [(1, "2024-05-01 10:00:01", "INFO", "Ping round complete", "pinger", None),
             (2, "2024-05-01 10:05:01", "ERROR", "ping failed", "pinger", "Traceback (most recent call last): ...")]
OLD_COLUMNS = ["id", "server_ip", "country", "partner", "dn_ext", "packets_transmitted", "packets_received",
               "packets_lost", "loss_percentage", "min_time", "avg_time", "max_time", "mdev_time",
               "is_high_latency", "success", "concerns"]


@pytest.fixture
def seed_db(tmp_path):
    """A database file with the original seed schema and a few rows, made with raw SQL."""
    path = tmp_path / "seed.db"
    conn = sqlite3.connect(path)
    conn.executescript(SEED_SCHEMA)
    conn.executemany(f"INSERT INTO ping_results VALUES ({','.join('?' * 17)})", SEED_ROWS)
    conn.executemany("INSERT INTO logs VALUES (?,?,?,?,?,?)", SEED_LOGS)
    conn.commit()
    conn.close()
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def test_upgrade_from_the_seed_schema_keeps_every_row(seed_db):
    assert init_db(seed_db) == 0
    with seed_db.connect() as conn:
        old = conn.execute(text(f"SELECT {', '.join(OLD_COLUMNS)} FROM ping_results ORDER BY id")).all()
        assert [tuple(r) for r in old] == [r[:5] + r[6:] for r in SEED_ROWS]
        upgraded = conn.execute(select(ping_results).order_by(ping_results.c.id)).mappings().all()
        assert [r["server_id"] for r in upgraded] == [r[1] for r in SEED_ROWS]
        assert [r["timestamp"] for r in upgraded] == SEED_TIMES
        assert all(r["round_id"] is None and r["jitter_time"] is None for r in upgraded)
        stored_logs = conn.execute(select(logs).order_by(logs.c.id)).mappings().all()
        assert [(r["id"], r["level"], r["message"], r["module"], r["traceback"]) for r in stored_logs] == \
               [(r[0], r[2], r[3], r[4], r[5]) for r in SEED_LOGS]
        assert conn.execute(select(schema_info.c.version)).scalars().all() == [SCHEMA_VERSION]


def test_upgrade_adds_columns_tables_and_indexes(seed_db):
    init_db(seed_db)
    insp = inspect(seed_db)
    assert set(metadata.tables) <= set(insp.get_table_names())
    for table in metadata.sorted_tables:
        assert {c.name for c in table.columns} <= {c["name"] for c in insp.get_columns(table.name)}, table.name
        wanted = indexes_for(table, seed_db.dialect.name)
        assert wanted <= {i["name"] for i in insp.get_indexes(table.name)}, table.name


def test_old_and_new_rows_filter_by_time_together(seed_db):
    init_db(seed_db)
    writer = open_writer(str(seed_db.url))
    writer.write_round("lab-1", datetime(2024, 5, 1, 10, 7), datetime(2024, 5, 1, 10, 7, 1),
                       [full_row(timestamp=datetime(2024, 5, 1, 10, 7))])
    cutoff = datetime(2024, 5, 1, 10, 3)
    with seed_db.connect() as conn:
        ids = conn.execute(select(ping_results.c.id).where(ping_results.c.timestamp >= cutoff)
                           .order_by(ping_results.c.timestamp)).scalars().all()
    # 10:05 (old, was ISO 'T'), 10:07 (new), 10:10 (old, was +02:00); not 10:00.
    assert ids == [2, 4, 3]
    writer.engine.dispose()


def test_init_db_twice_is_harmless(seed_db):
    assert init_db(seed_db) == 0
    assert init_db(seed_db) == SCHEMA_VERSION
    assert count(seed_db, ping_results) == len(SEED_ROWS) and count(seed_db, logs) == len(SEED_LOGS)
    with seed_db.connect() as conn:
        assert conn.execute(select(schema_info.c.version)).scalars().all() == [SCHEMA_VERSION]


def test_init_db_on_a_new_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert init_db(engine) == -1
    assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        assert conn.execute(select(schema_info.c.version)).scalar_one() == SCHEMA_VERSION
    engine.dispose()


def test_init_db_recovers_when_the_version_row_is_missing(writer):
    # SQLite runs DDL outside the transaction: a crash can leave schema_info created but empty.
    with writer.engine.begin() as conn:
        conn.execute(schema_info.delete())
    init_db(writer.engine)
    with writer.engine.connect() as conn:
        assert conn.execute(select(schema_info.c.version)).scalars().all() == [SCHEMA_VERSION]


# --- engines -------------------------------------------------------------------------------------

@pytest.mark.sqlite_only
def test_writer_engine_uses_wal_and_waits_for_locks(writer):
    with writer.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_read_only_engine_reads_but_cannot_write(config, writer):
    writer.write_round("lab-1", T0, T0, [full_row()])
    reader = make_engine(config.database_target(), readonly=True)
    try:
        with reader.connect() as conn:
            assert conn.execute(select(ping_results.c.server_id)).scalar_one() == "sip.example.com:5061"
            for statement in (insert(schema_info).values(version=99), text("DELETE FROM ping_compact"),
                              text("CREATE TABLE x (a INTEGER)")):
                # SQLite: "attempt to write a readonly database"; PostgreSQL: "... in a read-only transaction".
                with pytest.raises(DBAPIError, match="readonly|read-only"):
                    conn.execute(statement)
                conn.rollback()
        assert count(writer.engine, ping_results) == 1
    finally:
        reader.dispose()


def test_read_only_engine_never_creates_a_database(tmp_path):
    path = tmp_path / "absent.db"
    reader = make_engine(f"sqlite:///{path}", readonly=True)
    with pytest.raises(OperationalError):
        reader.connect().close()
    assert not path.exists()
    reader.dispose()


@pytest.mark.parametrize("folder", ["a#b", "a?b", "a%25b", "a&mode=rwc"])
def test_read_only_engine_opens_paths_with_uri_characters(tmp_path, folder):
    from settings import validate_config
    from tests.conftest import make_config_dict

    config = validate_config(make_config_dict(tmp_path, database_path=str(tmp_path / folder / "m.db")))
    writer = open_writer(config.database_target())
    writer.write_round("lab-1", T0, T0, [full_row()])
    assert (tmp_path / folder / "m.db").exists()
    reader = make_engine(config.database_target(), readonly=True)
    try:
        assert count(reader, ping_results) == 1
        with reader.connect() as conn, pytest.raises(OperationalError, match="readonly"):
            conn.execute(text("DELETE FROM ping_compact"))
    finally:
        reader.dispose()
        writer.engine.dispose()


def test_concurrent_first_starts_do_not_collide(tmp_path):
    # App workers and pinger.py starting together on a new file must all come up.
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engines = [make_engine(url) for _ in range(4)]
    barrier, errors = threading.Barrier(len(engines)), []

    def start(engine):
        barrier.wait()
        try:
            init_db(engine)
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for engine in engines:
        engine.dispose()
    assert errors == []
    check = make_engine(url)
    with check.connect() as conn:
        assert conn.execute(select(schema_info.c.version)).scalars().all() == [SCHEMA_VERSION]
    check.dispose()


def test_a_failed_upgrade_changes_nothing(seed_db, monkeypatch):
    from storage import migrations

    def upgrade_then_crash(conn):
        migrations._upgrade_from_seed(conn)
        raise RuntimeError("power cut")

    monkeypatch.setitem(migrations.UPGRADES, 0, upgrade_then_crash)
    with pytest.raises(RuntimeError, match="power cut"):
        init_db(seed_db)
    insp = inspect(seed_db)
    assert set(insp.get_table_names()) - {"sqlite_sequence"} == {"ping_results", "logs"}
    assert [c["name"] for c in insp.get_columns("ping_results")] == OLD_COLUMNS[:5] + ["timestamp"] + OLD_COLUMNS[5:]
    with seed_db.connect() as conn:
        assert conn.execute(text("SELECT timestamp FROM ping_results WHERE id = 2")).scalar_one() == "2024-05-01T10:05:00"
    monkeypatch.undo()
    assert init_db(seed_db) == 0  # and a later start still upgrades it


@pytest.mark.sqlite_only
def test_checkpoint_copies_the_wal_into_the_database(writer, config):
    from tests.seeding import seed_history
    from common.timeutil import utcnow
    seed_history(writer, config, utcnow(), rounds=6, interval_seconds=60)
    frames, copied = writer.checkpoint()
    assert frames > 0 and copied == frames
    # Everything was copied, so the next round starts the WAL again from its beginning instead of growing it.
    seed_history(writer, config, utcnow() + timedelta(minutes=10), rounds=1, interval_seconds=60)
    after_one_round, _ = writer.checkpoint()
    assert 0 < after_one_round < frames
