"""Create the schema on first run and upgrade older databases in place without losing rows."""
from __future__ import annotations

import logging

from sqlalchemy import inspect, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from storage import rollups
from storage.engine import lost_lock_race
from storage.schema import (SCHEMA_VERSION, collectors, country_rollups, metadata, ping_results, ping_rollups,
                            rounds, schema_info, server_latest)

log = logging.getLogger(__name__)


def current_version(conn: Connection) -> int:
    """The stored schema version: 0 for the seed's tables, -1 for an empty database."""
    tables = set(inspect(conn).get_table_names())
    if "schema_info" in tables:
        # Empty only if an earlier init_db died between creating it and recording the version (possible
        # where DDL commits on its own); the upgrades are idempotent, so redo them from the seed.
        stored = conn.execute(select(schema_info.c.version)).scalar()
        if stored is not None:
            return stored
    return 0 if "ping_results" in tables else -1


def _add_missing_columns(conn: Connection, table) -> None:
    """ALTER TABLE ADD COLUMN for every column the model has and the database lacks."""
    present = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for column in table.columns:
        if column.name not in present:
            ddl_type = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {ddl_type}'))


def _upgrade_from_seed(conn: Connection) -> None:
    """Version 0 (the seed's ping_results and logs) to 1: add the new columns and tables."""
    for name in ("ping_results", "logs"):
        if name in inspect(conn).get_table_names():
            _add_missing_columns(conn, metadata.tables[name])
    # The seed had no server id: the IP was the identity.
    conn.execute(update(ping_results).where(ping_results.c.server_id.is_(None))
                 .values(server_id=ping_results.c.server_ip))
    if conn.dialect.name == "sqlite":
        for name in ("ping_results", "logs"):
            if name in inspect(conn).get_table_names():
                _normalise_seed_timestamps(conn, name)


def _normalise_seed_timestamps(conn: Connection, table: str) -> None:
    """Rewrite seed timestamps stored as ISO 'T' text or with an offset as naive UTC 'YYYY-MM-DD HH:MM:SS.SSS'.

    Range filters compare the stored text, and '2024-05-01T10:00' sorts after every '2024-05-01 ...' bound.
    Naive seed values are kept as they are: the seed did not record which zone they were in.
    """
    conn.execute(text(
        f"UPDATE {table} SET timestamp = strftime('%Y-%m-%d %H:%M:%f', timestamp) "
        "WHERE (timestamp GLOB '*T*' OR timestamp GLOB '*Z' OR timestamp GLOB '*[+-][0-9][0-9]:[0-9][0-9]') "
        "AND strftime('%Y-%m-%d %H:%M:%f', timestamp) IS NOT NULL"))


def _upgrade_add_rollups(conn: Connection) -> None:
    """Version 1 to 2: create ping_rollups and server_latest and fill them from the raw rows."""
    metadata.create_all(conn, tables=[ping_rollups, country_rollups, server_latest])
    rollups.rebuild(conn)


def _upgrade_add_country_rollups(conn: Connection) -> None:
    """Version 2 to 3: create country_rollups and fill it by merging ping_rollups (no raw rows read)."""
    metadata.create_all(conn, tables=[country_rollups])
    rollups.rebuild_country_rollups(conn)


def _upgrade_per_collector(conn: Connection) -> None:
    """Version 3 to 4: rollups and server_latest keyed by (collector, server), rounds.uid, the collectors table.

    The rollups' primary keys gain the collector, which SQLite cannot ALTER: the three derived tables are dropped
    and rebuilt from the raw rows (which always carried their collector), so each vantage point's buckets are apart.
    """
    for table in (server_latest, country_rollups, ping_rollups):
        table.drop(conn, checkfirst=True)
    metadata.create_all(conn, tables=[ping_rollups, country_rollups, server_latest, collectors])
    if "rounds" in inspect(conn).get_table_names():  # from the seed it is created at the end, whole
        _add_missing_columns(conn, rounds)
    rollups.rebuild(conn)


UPGRADES = {0: _upgrade_from_seed, 1: _upgrade_add_rollups, 2: _upgrade_add_country_rollups,
            3: _upgrade_per_collector}


# The key of the transaction-level advisory lock that serialises schema changes on PostgreSQL (any fixed bigint;
# this one spells "LATENCY" in ASCII hex).
SCHEMA_LOCK_KEY = 0x4C4154454E4359


def _lock_for_schema_change(conn: Connection) -> None:
    """Take the database's schema lock before looking at the schema, so only one process creates or upgrades it.

    Python's sqlite3 runs DDL outside any transaction unless one was begun explicitly, so without this two
    processes starting together (app workers, app + pinger.py) both see an empty file and the second dies
    with "table ... already exists", and a crash mid-upgrade leaves half a schema. BEGIN IMMEDIATE makes
    the whole of init_db one transaction; a second process waits (busy_timeout) and then finds it done.
    PostgreSQL's DDL is transactional already, but two collectors on other hosts would still both see an empty
    database and race on CREATE TABLE; an advisory lock held until COMMIT makes the second wait and find it done.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})


def init_db(engine: Engine, attempts: int = 3) -> int:
    """Create or upgrade the schema to SCHEMA_VERSION; returns the version found before."""
    # The whole upgrade is one transaction, so when SQLite gives up on a WAL lock race at COMMIT
    # (SQLITE_PROTOCOL; nothing was applied) running it again is safe.
    for attempt in range(1, attempts + 1):
        try:
            return _init_db_once(engine)
        except OperationalError as exc:
            if attempt == attempts or not lost_lock_race(exc.orig):
                raise
            log.warning("schema setup lost a SQLite lock race (%s); retrying (%d of %d)", exc.orig, attempt, attempts)
    raise AssertionError("unreachable")


def _init_db_once(engine: Engine) -> int:
    """One attempt at init_db, in one transaction."""
    with engine.begin() as conn:
        _lock_for_schema_change(conn)
        found = current_version(conn)
        if found == SCHEMA_VERSION:
            # Nothing to do, and nothing written: a role that may only read and write rows (the web app's,
            # docs/postgresql.md) can start on a database the collector's role has created.
            return found
        version = max(found, 0)
        if found < 0:  # a new, empty database: create everything, nothing to carry over
            version = SCHEMA_VERSION
        while version < SCHEMA_VERSION:
            UPGRADES[version](conn)
            version += 1
        metadata.create_all(conn)
        for table in metadata.sorted_tables:  # create_all skips indexes of tables that already existed
            for index in table.indexes:
                index.create(conn, checkfirst=True)
        conn.execute(schema_info.delete())
        conn.execute(insert(schema_info).values(version=SCHEMA_VERSION))
    return found
