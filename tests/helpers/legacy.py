"""Older databases for the upgrade tests: a database written by today's writer turned back into what version 12
had (the ping_results table with its indexes, no series/ping_compact), keeping every row and id."""
from __future__ import annotations

from sqlalchemy import insert, select, text

from storage.schema import RAW_COLUMNS, legacy_metadata, ping_results_v12, schema_info


def as_version_12(engine) -> int:
    """Replace the compact raw rows by the version-12 ping_results table holding the same rows; returns how many."""
    with engine.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(*RAW_COLUMNS).order_by(RAW_COLUMNS[0]))]
        conn.execute(text("DROP VIEW ping_results"))
        for name in ("ping_compact", "series", "ping_classes", "ping_ids"):
            conn.execute(text(f"DROP TABLE {name}"))
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SEQUENCE ping_compact_id_seq"))
        legacy_metadata.create_all(conn)
        if rows:
            conn.execute(insert(ping_results_v12), rows)
        if conn.dialect.name == "postgresql":  # as the serial column would stand after these inserts
            conn.execute(text("SELECT setval(pg_get_serial_sequence('ping_results', 'id'), "
                              "COALESCE((SELECT MAX(id) FROM ping_results), 0) + 1, false)"))
        conn.execute(schema_info.update().values(version=12))
    return len(rows)
