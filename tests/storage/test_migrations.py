"""One versioned schema path on both backends: a new database, the seed's tables, version 1 and version 2 are all
brought to SCHEMA_VERSION by init_db, keeping every row; concurrent first starts and a failed upgrade are safe.
(The SQLite seed file with its odd timestamps is tested in test_storage.py, version 2 in test_rollups.py.)"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import (Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text, func, inspect,
                        insert, select, text)

from settings import validate_config
from storage import make_engine, open_writer
from storage import migrations, rollups
from storage.migrations import init_db
from storage.schema import (SCHEMA_VERSION, country_rollups, indexes_for, metadata, ping_results, ping_rollups,
                            schema_info, server_latest)
from common.timeutil import utcnow
from tests.conftest import make_config_dict
from tests.seeding import seed_history
from tests.helpers.legacy import as_version_12
from tests.helpers.rows import all_rows, assert_same_rows
# its exact DDL).
seed_metadata = MetaData()
seed_ping_results = Table(
    "ping_results", seed_metadata,
    Column("id", Integer, primary_key=True), Column("server_ip", Text, nullable=False),
    Column("country", Text, nullable=False), Column("partner", Text, nullable=False), Column("dn_ext", Text),
    Column("timestamp", DateTime, nullable=False), Column("packets_transmitted", Integer),
    Column("packets_received", Integer), Column("packets_lost", Integer), Column("loss_percentage", Float),
    Column("min_time", Float), Column("avg_time", Float), Column("max_time", Float), Column("mdev_time", Float),
    Column("is_high_latency", Boolean), Column("success", Boolean), Column("concerns", Text))
seed_logs = Table(
    "logs", seed_metadata,
    Column("id", Integer, primary_key=True), Column("timestamp", DateTime, nullable=False),
    Column("level", String(16), nullable=False), Column("message", Text, nullable=False), Column("module", Text),
    Column("traceback", Text))
T0 = datetime(2024, 5, 1, 10, 0)
SEED_ROWS = [{"server_ip": f"127.0.0.{1 + i % 2}", "country": "Kenya", "partner": "Safari Voice",
              "dn_ext": None, "timestamp": T0 + timedelta(minutes=i), "packets_transmitted": 4,
              "packets_received": 4 - i % 3, "packets_lost": i % 3, "loss_percentage": 25.0 * (i % 3),
              "min_time": 10.0 + i, "avg_time": 20.0 + i, "max_time": 30.0 + i, "mdev_time": 1.0,
              "is_high_latency": False, "success": True, "concerns": None} for i in range(20)]


@pytest.fixture
def engine(empty_database_url):
    """A writer engine on an empty database of the test's backend."""
    eng = make_engine(empty_database_url)
    yield eng
    eng.dispose()


def version_rows(engine) -> list[int]:
    with engine.connect() as conn:
        return conn.execute(select(schema_info.c.version)).scalars().all()


def test_a_new_database_gets_the_whole_schema(engine):
    assert init_db(engine) == -1
    insp = inspect(engine)
    assert set(metadata.tables) <= set(insp.get_table_names())
    for table in metadata.sorted_tables:
        wanted = indexes_for(table, engine.dialect.name)
        assert wanted <= {i["name"] for i in insp.get_indexes(table.name)}, table.name
    assert version_rows(engine) == [SCHEMA_VERSION]
    # Schema 13: the raw rows are compact from the start, read through the ping_results view.
    assert insp.get_view_names() == ["ping_results"] and "ping_results" not in insp.get_table_names()
    assert init_db(engine) == SCHEMA_VERSION  # and a second start finds it done


def test_the_seeds_tables_are_upgraded_keeping_every_row(engine):
    seed_metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(seed_ping_results), SEED_ROWS)
        conn.execute(insert(seed_logs), [{"timestamp": T0, "level": "INFO", "message": "seed", "module": "p"}])
    assert init_db(engine) == 0
    insp = inspect(engine)
    assert {c.name for c in ping_results.columns} <= {c["name"] for c in insp.get_columns("ping_results")}
    with engine.connect() as conn:
        rows = conn.execute(select(ping_results).order_by(ping_results.c.id)).mappings().all()
        assert [r["server_id"] for r in rows] == [r["server_ip"] for r in SEED_ROWS]  # the IP was the identity
        assert [r["timestamp"] for r in rows] == [r["timestamp"] for r in SEED_ROWS]
        hourly = conn.execute(select(ping_rollups.c.server_id, ping_rollups.c.rounds)
                              .where(ping_rollups.c.resolution_seconds == 3600)
                              .order_by(ping_rollups.c.server_id)).all()
        assert [tuple(r) for r in hourly] == [("127.0.0.1", 10), ("127.0.0.2", 10)]  # built from the raw rows
        latest = conn.execute(select(server_latest.c.server_id, server_latest.c.timestamp).order_by(server_latest.c.server_id)).all()
        assert [tuple(r) for r in latest] == [("127.0.0.1", T0 + timedelta(minutes=18)),
                                             ("127.0.0.2", T0 + timedelta(minutes=19))]
    assert version_rows(engine) == [SCHEMA_VERSION]
    # The upgraded database takes new rounds through the writer, ids carrying on after the seed's.
    writer = open_writer(str(engine.url.render_as_string(hide_password=False)))
    row = dict(SEED_ROWS[0], server_id="127.0.0.1", timestamp=T0 + timedelta(hours=1))
    writer.write_round("lab-1", row["timestamp"], row["timestamp"], [row])
    with writer.engine.connect() as conn:
        assert conn.execute(select(ping_results.c.id).order_by(ping_results.c.id.desc())).first()[0] == 21
    writer.engine.dispose()


@pytest.fixture
def history(empty_database_url, tmp_path):
    """A database written by today's writer, turned back into version 12 (the ping_results table): 6 h of
    5-minute rounds of the test config's servers."""
    config = validate_config(make_config_dict(tmp_path), source=str(tmp_path / "config.json"))
    writer = open_writer(empty_database_url)
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=72, interval_seconds=300)
    as_version_12(writer.engine)
    yield writer.engine
    writer.engine.dispose()


def test_version_1_gets_its_rollups_built_from_the_raw_rows(history):
    before = {t.name: all_rows(history, t) for t in (ping_rollups, country_rollups)}
    latest = all_rows(history, server_latest)
    with history.begin() as conn:  # what a version-1 database had: no rollups, no server_latest
        for name in ("country_rollups", "ping_rollups", "server_latest"):
            conn.execute(text(f"DROP TABLE {name}"))
        conn.execute(schema_info.update().values(version=1))
    assert init_db(history) == 1
    for table in (ping_rollups, country_rollups):
        assert_same_rows(before[table.name], all_rows(history, table))
    assert all_rows(history, server_latest) == latest and len(latest) == 4
    assert version_rows(history) == [SCHEMA_VERSION]


def test_a_failed_upgrade_leaves_the_database_as_it_was(history, monkeypatch):
    with history.begin() as conn:
        conn.execute(text("DROP TABLE country_rollups"))
        conn.execute(schema_info.update().values(version=2))

    def upgrade_then_crash(conn):
        migrations._upgrade_add_country_rollups(conn)
        raise RuntimeError("power cut")

    monkeypatch.setitem(migrations.UPGRADES, 2, upgrade_then_crash)
    with pytest.raises(RuntimeError, match="power cut"):
        init_db(history)
    assert "country_rollups" not in inspect(history).get_table_names()  # the CREATE TABLE was rolled back too
    assert version_rows(history) == [2]
    monkeypatch.undo()
    assert init_db(history) == 2


def test_concurrent_first_starts_create_the_schema_once(empty_database_url):
    # Collectors and web workers starting together on an empty database must all come up.
    engines = [make_engine(empty_database_url) for _ in range(4)]
    barrier, errors, found = threading.Barrier(len(engines)), [], []

    def start(engine):
        barrier.wait()
        try:
            found.append(init_db(engine))
        except Exception as exc:  # noqa: BLE001 - collected and reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(found) == [-1] + [SCHEMA_VERSION] * 3  # one created it, the others waited and found it done
    assert version_rows(engines[0]) == [SCHEMA_VERSION]
    for engine in engines:
        engine.dispose()


def _v9_tables():
    """The rollup tables and server_latest as version 9 had them: keyed by server alone (no collector column)."""
    from sqlalchemy import MetaData, Table
    from storage.schema import sip_rollups
    old = MetaData()
    return [Table(t.name, old, *[c._copy() for c in t.columns if c.name != "collector"],
                  **({"sqlite_with_rowid": False} if t is country_rollups else {}))
            for t in (ping_rollups, country_rollups, server_latest, sip_rollups)], old


def _as_version_9(engine, before: dict) -> None:
    """Turn a database into what version 9 had, its derived tables holding `before`'s rows without the collector."""
    tables, old = _v9_tables()
    with engine.begin() as conn:
        for table in tables:
            conn.execute(text(f"DROP TABLE {table.name}"))
        conn.execute(text("DROP TABLE collectors"))
        old.create_all(conn)
        for table in tables:
            rows = [{k: v for k, v in r._mapping.items() if k != "collector"} for r in before.get(table.name, [])]
            if rows:
                conn.execute(insert(table), rows)
        conn.execute(text("DROP INDEX ux_rounds_uid"))
        conn.execute(text("ALTER TABLE rounds DROP COLUMN uid"))
        conn.execute(schema_info.update().values(version=9))


def _without_collector(rows) -> list[dict]:
    return [{k: v for k, v in r._mapping.items() if k != "collector"} for r in rows]


def test_version_9_keeps_its_rollups_under_the_only_collector(history):
    # Retention has already deleted the older half of the raw rows: the buckets must survive the re-keying.
    from storage.schema import rounds
    before = {t.name: all_rows(history, t) for t in (ping_rollups, country_rollups, server_latest)}
    _as_version_9(history, before)
    with history.begin() as conn:
        cut = conn.execute(select(func.min(ping_results.c.timestamp))).scalar_one() + timedelta(hours=3)
        conn.execute(ping_results.delete().where(ping_results.c.timestamp < cut))
    assert init_db(history) == 9
    for name in ("ping_rollups", "country_rollups", "server_latest"):
        after = all_rows(history, metadata_table(name))
        assert {r._mapping["collector"] for r in after} == {"test"}, name
        kept, had = _without_collector(after), _without_collector(before[name])
        assert len(kept) == len(had) > 0, name
        for a, b in zip(kept, had):
            assert a == {k: pytest.approx(v) if isinstance(v, float) else v for k, v in b.items()}, name
    assert "uid" in {c["name"] for c in inspect(history).get_columns("rounds")}
    assert "collectors" in inspect(history).get_table_names()
    assert version_rows(history) == [SCHEMA_VERSION]
    with history.connect() as conn:  # the unique index on the new uid column was made too
        assert "ux_rounds_uid" in {i["name"] for i in inspect(conn).get_indexes(rounds.name)}


def test_version_9_with_two_collectors_is_rolled_up_per_vantage_point(history):
    before = {t.name: all_rows(history, t) for t in (ping_rollups, country_rollups, server_latest)}
    _as_version_9(history, before)
    with history.begin() as conn:  # half the rounds came from a second vantage point
        conn.execute(text("UPDATE ping_results SET collector = 'other' WHERE round_id % 2 = 0"))
    assert init_db(history) == 9
    after = all_rows(history, ping_rollups)
    assert {r._mapping["collector"] for r in after} == {"test", "other"}
    total = lambda rows, res: sum(r._mapping["rounds"] for r in rows if r._mapping["resolution_seconds"] == res)  # noqa: E731
    for res in (300, 3600):  # nothing lost, nothing counted twice: every round is in exactly one vantage point
        assert total(after, res) == total(before["ping_rollups"], res)
    latest = all_rows(history, server_latest)
    assert {r._mapping["collector"] for r in latest} == {"test", "other"} and len(latest) == 8


def metadata_table(name: str):
    from storage.schema import metadata
    return metadata.tables[name]


# -- version 10 to 11: incidents and availability per vantage point ------------------------------------------------

def _down_first_server(first: int, stop: int):
    """A seed profile: server 0 down in rounds [first, stop), the rest up."""
    from collector.probes.base import ProbeResult

    def profile(server_index: int, round_index: int, count: int = 4) -> ProbeResult:
        if server_index == 0 and first <= round_index < stop:
            return ProbeResult(transmitted=count, received=0)
        return ProbeResult(transmitted=count, received=count, samples_ms=[20.0] * count)
    return profile


@pytest.fixture
def sla_history(empty_database_url, tmp_path):
    """(engine, end): 120 one-minute rounds; collector 'test' sees server 0 down in rounds 30-39 and 100 on."""
    config = validate_config(make_config_dict(tmp_path), source=str(tmp_path / "config.json"))
    writer = open_writer(empty_database_url)
    end = datetime(2026, 11, 2, 11, 59)
    seed_history(writer, config, end, 120, 60, lambda k, r: _down_first_server(30, 40)(k, r)
                 if r < 100 else _down_first_server(0, 999)(k, r))
    as_version_12(writer.engine)
    yield writer.engine, config
    writer.engine.dispose()


def _as_version_10(engine, incidents_rows: list[dict], availability_rows: list[dict]) -> None:
    """Turn a database into what version 10 had: incidents and availability_rollups keyed by server alone."""
    from storage.schema import availability_rollups, incidents
    old = MetaData()
    tables = [Table(t.name, old, *[c._copy() for c in t.columns if c.name != "collector"])
              for t in (incidents, availability_rollups)]
    with engine.begin() as conn:
        for table in tables:
            conn.execute(text(f"DROP TABLE {table.name}"))
        old.create_all(conn)
        for table, rows in zip(tables, (incidents_rows, availability_rows)):
            if rows:
                conn.execute(insert(table), [{k: v for k, v in r.items() if k != "collector"} for r in rows])
        conn.execute(schema_info.update().values(version=10))


def _rows(engine, table) -> list[dict]:
    return [dict(r._mapping) for r in all_rows(engine, table)]


def test_version_10_keeps_incidents_and_availability_under_the_only_collector(sla_history):
    from storage.schema import availability_rollups, incidents
    engine, _config = sla_history
    had_incidents, had_availability = _rows(engine, incidents), _rows(engine, availability_rollups)
    assert [(r["down_rounds"], r["ended_at"] is None) for r in had_incidents] == [(10, False), (20, True)]
    _as_version_10(engine, had_incidents, had_availability)
    with engine.begin() as conn:  # retention deleted the older raw rows: stored SLA history must survive anyway
        conn.execute(ping_results.delete().where(ping_results.c.timestamp < datetime(2026, 11, 2, 11, 30)))
    assert init_db(engine) == 10
    assert _rows(engine, incidents) == had_incidents and {r["collector"] for r in had_incidents} == {"test"}
    got = sorted(_rows(engine, availability_rollups), key=lambda r: (r["resolution_seconds"], r["bucket_start"],
                                                                      r["server_id"]))
    want = sorted(had_availability, key=lambda r: (r["resolution_seconds"], r["bucket_start"], r["server_id"]))
    assert got == want and len(got) == (2 + 1) * 4  # (2 hours + 1 day) x 4 servers, under 'test'
    assert version_rows(engine) == [SCHEMA_VERSION]


def test_version_10_with_two_collectors_is_rebuilt_per_vantage_point(sla_history):
    from storage.schema import availability_rollups, incidents
    engine, config = sla_history
    day_before = datetime(2026, 11, 1, 6)
    old_bucket = {"resolution_seconds": 3600, "server_id": config.servers[0].id, "bucket_start": day_before,
                  "partner": "P", "country": "C", "rounds": 60, "down_rounds": 5, "degraded_rounds": 0}
    old_incident = {"id": 1000, "server_id": config.servers[0].id, "partner": "P", "country": "C",
                    "started_at": day_before, "ended_at": None, "last_down_at": day_before, "down_rounds": 7,
                    "cause": "no reply"}  # still open when the raw rows begin: ended there
    _as_version_10(engine, [old_incident], [old_bucket])
    with engine.begin() as conn:  # every other round came from a second vantage point
        conn.execute(text("UPDATE ping_results SET collector = 'other' WHERE round_id % 2 = 0"))
        first = conn.execute(select(func.min(ping_results.c.timestamp))).scalar_one()
    assert init_db(engine) == 10
    found = _rows(engine, incidents)
    kept = [r for r in found if r["collector"] == ""]
    assert [(r["id"], r["started_at"], r["ended_at"]) for r in kept] == [(1000, day_before, first)]
    per_collector = sorted((r["collector"], r["down_rounds"], r["ended_at"] is None) for r in found if r["collector"])
    # 'test' has the odd rounds, 'other' the even: rounds 30-39 are 5 down rounds each, 100-119 10 each (open).
    assert per_collector == [("other", 5, False), ("other", 10, True), ("test", 5, False), ("test", 10, True)]
    buckets = _rows(engine, availability_rollups)
    assert [r for r in buckets if r["collector"] == ""] == [dict(old_bucket, collector="")]
    hourly = {}
    for r in buckets:
        if r["collector"] and r["resolution_seconds"] == 3600:
            hourly[r["collector"]] = hourly.get(r["collector"], 0) + r["rounds"]
    assert hourly == {"test": 60 * 4, "other": 60 * 4}


HOT_TABLES = ("ping_rollups", "country_rollups", "server_latest", "availability_rollups")


def _fillfactors(conn) -> dict[str, str | None]:
    """Each rollup table's fillfactor storage parameter on PostgreSQL (None when unset)."""
    rows = conn.execute(text("SELECT relname, array_to_string(reloptions, ',') FROM pg_class WHERE relname = ANY(:t)"),
                        {"t": list(HOT_TABLES)}).all()
    return {name: opts for name, opts in rows}


def test_version_11_gets_room_for_hot_updates_on_postgresql(history):
    rows = {t.name: all_rows(history, t) for t in (ping_rollups, server_latest)}
    postgres = history.dialect.name == "postgresql"
    with history.begin() as conn:  # what version 11 had: full pages and a covering availability index
        if postgres:
            for name in HOT_TABLES:
                conn.execute(text(f"ALTER TABLE {name} RESET (fillfactor)"))
            conn.execute(text("DROP INDEX ix_availability_rollups_bucket"))
            conn.execute(text("CREATE INDEX ix_availability_rollups_time ON availability_rollups (resolution_seconds, "
                              "bucket_start, server_id, collector, rounds, down_rounds, degraded_rounds)"))
        conn.execute(schema_info.update().values(version=11))
    assert init_db(history) == 11
    indexes = {i["name"] for i in inspect(history).get_indexes("availability_rollups")}
    if postgres:
        with history.connect() as conn:
            assert _fillfactors(conn) == {name: "fillfactor=70" for name in HOT_TABLES}
        assert "ix_availability_rollups_time" not in indexes and "ix_availability_rollups_bucket" in indexes
    else:  # nothing changes on SQLite
        assert "ix_availability_rollups_time" in indexes and "ix_availability_rollups_bucket" not in indexes
    assert {t.name: all_rows(history, t) for t in (ping_rollups, server_latest)} == rows
    assert version_rows(history) == [SCHEMA_VERSION]


def test_a_new_postgresql_database_updates_rollups_hot(pg_database, tmp_path):
    """Each round rewrites its bucket's rollup rows: on PostgreSQL those must be heap-only (HOT) updates."""
    config = validate_config(make_config_dict(tmp_path), source=str(tmp_path / "config.json"))
    writer = open_writer(pg_database)
    start = rollups.bucket_start(utcnow(), 3600)
    for i in range(4):  # a round per write, as the collector stores them: the first inserts, the rest update
        seed_history(writer, config, start + timedelta(seconds=10 * i), rounds=1)
    writer.engine.dispose()  # a backend flushes its table statistics when it exits
    reader = make_engine(pg_database)
    try:
        for _ in range(50):  # the exits are asynchronous: wait for the counts to arrive
            with reader.connect() as conn:
                counts = {name: (upd, hot) for name, upd, hot in conn.execute(text(
                    "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = ANY(:t)"),
                    {"t": list(HOT_TABLES)})}
                fillfactors = _fillfactors(conn)
            if all(counts[name][0] for name in ("ping_rollups", "server_latest", "availability_rollups")):
                break
            time.sleep(0.1)
    finally:
        reader.dispose()
    assert fillfactors == {name: "fillfactor=70" for name in HOT_TABLES}
    for name in ("ping_rollups", "server_latest", "availability_rollups"):
        upd, hot = counts[name]
        assert upd > 0 and hot == upd, counts  # every update stayed on its page, with no index entry to add
