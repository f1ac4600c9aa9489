"""Create the schema on first run and upgrade older databases in place without losing rows."""
from __future__ import annotations

from sqlalchemy import inspect, insert, select, text, update
from sqlalchemy.engine import Connection, Engine

from storage.schema import SCHEMA_VERSION, metadata, ping_results, schema_info


def current_version(conn: Connection) -> int:
    """The stored schema version: 0 for the seed's tables, -1 for an empty database."""
    tables = set(inspect(conn).get_table_names())
    if "schema_info" in tables:
        return conn.execute(select(schema_info.c.version)).scalar_one()
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


UPGRADES = {0: _upgrade_from_seed}


def init_db(engine: Engine) -> int:
    """Create or upgrade the schema to SCHEMA_VERSION; returns the version found before."""
    with engine.begin() as conn:
        found = current_version(conn)
        version = max(found, 0)
        while version < SCHEMA_VERSION and found >= 0:
            UPGRADES[version](conn)
            version += 1
        metadata.create_all(conn)
        for table in metadata.sorted_tables:  # create_all skips indexes of tables that already existed
            for index in table.indexes:
                index.create(conn, checkfirst=True)
        conn.execute(schema_info.delete())
        conn.execute(insert(schema_info).values(version=SCHEMA_VERSION))
    return found
