"""Create the schema on first run and upgrade older databases in place without losing rows."""
from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlalchemy import bindparam, func, inspect, insert, select, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from storage import compact, incidents, rollups, siprollups
from storage import schema
from storage.engine import lost_lock_race
from storage.schema import (SCHEMA_VERSION, alerts, collectors, country_rollups, logs, maintenance_windows,
                            metadata, ping_rollups, rounds, schema_info, server_latest, sip_results)
# The steps before version 13 work on the ping_results table as it was (compact.upgrade_to_compact replaces it).
from storage.schema import ping_results_v12 as ping_results

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
            _add_missing_columns(conn, {"ping_results": ping_results, "logs": logs}[name])
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


# An alert's log line names its server as "... on <partner> <country> (<server id>)" (collector.alerts.Subject).
_PARENTHESISED = re.compile(r"\(([^()\s]+)\)")


def log_line_server(message: str, known_ids: set[str]) -> str | None:
    """The server an older alert log line is about: the first '(id)' after ' on ' that is a known server id."""
    _, _, subject = (message or "").partition(" on ")
    return next((m.group(1) for m in _PARENTHESISED.finditer(subject) if m.group(1) in known_ids), None)


def _upgrade_add_log_server_id(conn: Connection) -> None:
    """Version 4 to 5: logs.server_id (and its index, made by init_db), filled in for the alert lines already
    stored; from now on the logging handler stores it. Other lines stay NULL: they name no server."""
    _add_missing_columns(conn, logs)
    if "alerts" not in inspect(conn).get_table_names():  # an older database upgraded in one go: no alerts yet
        return
    known = {sid for sid in conn.execute(select(alerts.c.server_id).distinct()).scalars() if sid}
    if not known:
        return
    lines = conn.execute(select(logs.c.id, logs.c.message)
                         .where(logs.c.server_id.is_(None), logs.c.message.like("alert %"))).all()
    found = [{"line_id": line_id, "sid": sid} for line_id, message in lines
             if (sid := log_line_server(message, known)) is not None]
    if found:
        conn.execute(update(logs).where(logs.c.id == bindparam("line_id")).values(server_id=bindparam("sid")),
                     found)


def _upgrade_add_sip_results(conn: Connection) -> None:
    """Version 5 to 6: create sip_results (SIP OPTIONS checks); nothing to carry over. A seed database upgraded
    in one go has no rounds table yet, which sip_results refers to: create_all makes it first (checkfirst)."""
    metadata.create_all(conn, tables=[metadata.tables["rounds"], sip_results])


def _upgrade_add_incidents(conn: Connection) -> None:
    """Version 6 to 7: create incidents and availability_rollups and fill them from the raw rows."""
    metadata.create_all(conn, tables=[schema.incidents, schema.availability_rollups])
    incidents.rebuild(conn)


def _upgrade_add_ack_and_maintenance(conn: Connection) -> None:
    """Version 7 to 8: acknowledgement and path snapshot columns on alerts, and the maintenance_windows table."""
    if "alerts" in inspect(conn).get_table_names():  # a seed database gets the whole table from create_all
        _add_missing_columns(conn, alerts)
    metadata.create_all(conn, tables=[maintenance_windows])


def _upgrade_add_sip_rollups(conn: Connection) -> None:
    """Version 8 to 9: create sip_rollups and fill it from the raw sip_results rows."""
    metadata.create_all(conn, tables=[schema.sip_rollups])
    siprollups.rebuild(conn)


def _upgrade_add_concern_data(conn: Connection) -> None:
    """Version 3 to 4: ping_results.concern_data (rows stored before keep only the concerns text)."""
    _add_missing_columns(conn, ping_results)


def _rekey_by_collector(conn: Connection, table, collector: str, before: dict[int, object] | None = None) -> None:
    """Remake one derived table with the collector in its primary key, keeping its rows under `collector`.

    SQLite cannot ALTER a primary key: the old table is renamed aside, its index names freed, the new one created
    and the rows copied across. `before` (resolution -> bucket start) keeps only the buckets older than that.
    """
    old = f"{table.name}_v9"
    conn.execute(text(f'ALTER TABLE {table.name} RENAME TO {old}'))
    for index in table.indexes:  # index names are per schema on both backends and stay with the renamed table
        conn.execute(text(f'DROP INDEX IF EXISTS {index.name}'))
    if conn.dialect.name == "postgresql":
        conn.execute(text(f'ALTER TABLE {old} RENAME CONSTRAINT {table.name}_pkey TO {old}_pkey'))
    table.create(conn)
    names = ", ".join(f'"{c.name}"' for c in table.columns if c.name != "collector")
    copy = f'INSERT INTO {table.name} ("collector", {names}) SELECT :collector, {names} FROM {old}'
    if before is None:
        conn.execute(text(copy), {"collector": collector})
    else:
        for resolution, start in before.items():
            conn.execute(text(copy + " WHERE resolution_seconds = :res AND bucket_start < :start"),
                         {"collector": collector, "res": resolution, "start": start})
    conn.execute(text(f'DROP TABLE {old}'))


def _upgrade_per_collector(conn: Connection) -> None:
    """Version 9 to 10: rollups and server_latest keyed by (collector, server), rounds.uid, the collectors table.

    With one collector in the raw rows (every single-site database) the stored buckets are kept whole under its
    name, so history older than retention's raw_days survives. With several, the raw rows (which always carried
    their collector) are rolled up again per vantage point and only older buckets, blended, stay under ''.
    """
    metadata.create_all(conn, tables=[collectors])
    _add_missing_columns(conn, rounds)
    tables = (ping_rollups, country_rollups, server_latest, schema.sip_rollups)
    present = {c["name"] for c in inspect(conn).get_columns(ping_rollups.name)}
    if "collector" in present:  # a seed..v1 database upgraded in one go: made with the collector key already
        return
    names = [n or "" for n in conn.execute(select(ping_results.c.collector).distinct()).scalars()]
    if len(set(names)) <= 1:
        for table in tables:
            _rekey_by_collector(conn, table, names[0] if names else "")
        return
    first = conn.execute(select(func.min(ping_results.c.timestamp))).scalar_one()
    first = first if isinstance(first, datetime) else datetime.fromisoformat(str(first))
    before = {res: rollups.bucket_start(first, res) for res in rollups.RESOLUTIONS_SECONDS}
    for table in (ping_rollups, schema.sip_rollups):
        _rekey_by_collector(conn, table, "", before)
    for table in (country_rollups, server_latest):  # remade from the tables above and the raw rows
        _rekey_by_collector(conn, table, "", {})
    rollups.add_raw_rows(conn)
    siprollups.add_raw_rows(conn)


def _upgrade_sla_per_collector(conn: Connection) -> None:
    """Version 10 to 11: incidents and availability_rollups per (collector, server); touches only those two tables.

    As the v10 step did for the rollups: with one collector in the raw rows every stored incident and bucket moves
    under its name (SLA history older than raw_days survives); with several, buckets and incidents older than the
    oldest raw row stay, blended, under '' (open ones ended there) and the rest is rebuilt per vantage point.
    """
    present = {c["name"] for c in inspect(conn).get_columns(schema.incidents.name)}
    if "collector" in present:  # made at version 7 by this code's create_all: already keyed by collector
        return
    conn.execute(text('ALTER TABLE incidents ADD COLUMN "collector" VARCHAR(255) NOT NULL DEFAULT \'\''))
    names = [n or "" for n in conn.execute(select(ping_results.c.collector).distinct()).scalars()]
    if len(set(names)) <= 1:
        name = names[0] if names else ""
        conn.execute(update(schema.incidents).values(collector=name))
        _rekey_by_collector(conn, schema.availability_rollups, name)
        return
    first = conn.execute(select(func.min(ping_results.c.timestamp))).scalar_one()
    first = first if isinstance(first, datetime) else datetime.fromisoformat(str(first))
    inc = schema.incidents
    conn.execute(inc.delete().where(inc.c.started_at >= first))
    conn.execute(update(inc).where(inc.c.ended_at.is_(None) | (inc.c.ended_at > first)).values(ended_at=first))
    before = {res: rollups.bucket_start(first, res) for res in incidents.AVAILABILITY_RESOLUTIONS_SECONDS}
    _rekey_by_collector(conn, schema.availability_rollups, "", before)
    incidents.rebuild(conn, since=first)


def _upgrade_hot_rollups(conn: Connection) -> None:
    """Version 11 to 12, PostgreSQL only: room on each page for HOT updates of the tables every round rewrites,
    and no covering index on availability_rollups (its replacement is made by init_db's index pass).

    The fill factor applies to pages written from now on; existing full pages stay as they are."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("DROP INDEX IF EXISTS ix_availability_rollups_time"))
    for table in (schema.ping_rollups, schema.country_rollups, schema.server_latest, schema.availability_rollups):
        fillfactor = table.dialect_options["postgresql"]["with"]["fillfactor"]
        conn.execute(text(f'ALTER TABLE "{table.name}" SET (fillfactor = {int(fillfactor)})'))


UPGRADES = {0: _upgrade_from_seed, 1: _upgrade_add_rollups, 2: _upgrade_add_country_rollups,
            3: _upgrade_add_concern_data, 4: _upgrade_add_log_server_id, 5: _upgrade_add_sip_results,
            6: _upgrade_add_incidents, 7: _upgrade_add_ack_and_maintenance,
            8: _upgrade_add_sip_rollups, 9: _upgrade_per_collector,
            10: _upgrade_sla_per_collector, 11: _upgrade_hot_rollups, 12: compact.upgrade_to_compact}


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
            # README, PostgreSQL) can start on a database the collector's role has created.
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
        compact.ensure_layout(conn)  # the ping_results view and the raw-row id source, new or upgraded
        conn.execute(schema_info.delete())
        conn.execute(insert(schema_info).values(version=SCHEMA_VERSION))
    return found
