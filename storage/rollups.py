"""Keep ping_rollups and server_latest up to date as rounds arrive, and rebuild them from raw rows."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, literal, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from storage.schema import ping_results as pr
from storage.schema import ping_rollups, server_latest

RESOLUTIONS_SECONDS = (300, 3600)
_KEY = ["resolution_seconds", "server_id", "bucket_start"]
_SUMMED = ["rounds", "packets_transmitted", "packets_lost", "sum_avg_time", "n_avg_time",
           "sum_jitter_time", "n_jitter_time", "sum_mos", "n_mos"]
_EPOCH = datetime(1970, 1, 1)


def bucket_start(at: datetime, resolution_seconds: int) -> datetime:
    """The start of the bucket a naive UTC time falls in."""
    seconds = int((at - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=seconds - seconds % resolution_seconds)


def _insert_for(dialect: str):
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _least_greatest(dialect: str):
    """Two-argument min/max that ignore NULL, per dialect (SQLite's min(NULL, x) is NULL)."""
    if dialect == "postgresql":
        return func.least, func.greatest
    return (lambda a, b: func.min(func.coalesce(a, b), func.coalesce(b, a)),
            lambda a, b: func.max(func.coalesce(a, b), func.coalesce(b, a)))


def _upsert_rollups(conn: Connection, resolution: int, round_id: int) -> None:
    """Add one round's rows to their buckets in SQL: sums and counts add up, min/max widen."""
    dialect = conn.dialect.name
    rows = _aggregate_select(conn, resolution).where(pr.c.round_id == round_id)
    stmt = _insert_for(dialect)(ping_rollups).from_select(_aggregate_columns(), rows)
    least, greatest = _least_greatest(dialect)
    t, new = ping_rollups.c, stmt.excluded
    updates = {name: t[name] + new[name] for name in _SUMMED}
    updates.update(min_time=least(t.min_time, new.min_time), max_time=greatest(t.max_time, new.max_time),
                   country=new.country, partner=new.partner, server_ip=new.server_ip)
    conn.execute(stmt.on_conflict_do_update(index_elements=_KEY, set_=updates))


def _latest_select():
    """Each server's newest timestamp among the rows selected by the caller's WHERE clause."""
    return (select(pr.c.server_id, func.max(pr.c.timestamp)).where(pr.c.server_id.is_not(None))
            .group_by(pr.c.server_id))


def _upsert_latest(conn: Connection, round_id: int) -> None:
    """Move each server of the round to its new timestamp (never backwards)."""
    stmt = _insert_for(conn.dialect.name)(server_latest).from_select(
        ["server_id", "timestamp"], _latest_select().where(pr.c.round_id == round_id))
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["server_id"], set_={"timestamp": stmt.excluded.timestamp},
        where=stmt.excluded.timestamp >= server_latest.c.timestamp))


def add_round(conn: Connection, round_id: int) -> None:
    """Fold a stored round into the rollups and server_latest, inside the round's transaction."""
    # Done in SQL from the rows just inserted: no per-row Python work on the collector's hot path.
    for resolution in RESOLUTIONS_SECONDS:
        _upsert_rollups(conn, resolution, round_id)
    _upsert_latest(conn, round_id)


def _bucket_sql(dialect: str, resolution_seconds: int):
    """SQL for the bucket start of ping_results.timestamp, in the same text form SQLAlchemy stores."""
    size = literal_column(str(resolution_seconds), Integer)
    if dialect == "sqlite":
        seconds = cast(func.strftime("%s", pr.c.timestamp), Integer)
        # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff'; the same text keeps range comparisons right.
        return func.strftime("%Y-%m-%d %H:%M:%S.000000", (seconds // size) * size, "unixepoch")
    seconds = cast(func.floor(func.extract("epoch", pr.c.timestamp)), Integer)
    return func.timezone("UTC", func.to_timestamp((seconds // size) * size))


def rebuild(conn: Connection) -> None:
    """Recompute ping_rollups and server_latest from every raw row (used when upgrading a database)."""
    conn.execute(ping_rollups.delete())
    conn.execute(server_latest.delete())
    for resolution in RESOLUTIONS_SECONDS:
        conn.execute(ping_rollups.insert().from_select(_aggregate_columns(), _aggregate_select(conn, resolution)))
    conn.execute(server_latest.insert().from_select(["server_id", "timestamp"], _latest_select()))


def _aggregate_columns() -> list[str]:
    return _KEY + ["country", "partner", "server_ip", *_SUMMED[:5], "min_time", "max_time", *_SUMMED[5:]]


def _aggregate_select(conn: Connection, resolution: int):
    """Aggregate raw rows into one resolution's buckets, columns in _aggregate_columns() order."""
    bucket = _bucket_sql(conn.dialect.name, resolution).label("bucket_start")
    return (select(literal(resolution).label("resolution_seconds"), pr.c.server_id, bucket,
                   func.max(pr.c.country), func.max(pr.c.partner), func.max(pr.c.server_ip), func.count(),
                   func.coalesce(func.sum(pr.c.packets_transmitted), 0), func.coalesce(func.sum(pr.c.packets_lost), 0),
                   func.coalesce(func.sum(pr.c.avg_time), 0.0), func.count(pr.c.avg_time),
                   func.min(pr.c.min_time), func.max(pr.c.max_time),
                   func.coalesce(func.sum(pr.c.jitter_time), 0.0), func.count(pr.c.jitter_time),
                   func.coalesce(func.sum(pr.c.mos), 0.0), func.count(pr.c.mos))
            .where(pr.c.server_id.is_not(None)).group_by(pr.c.server_id, bucket))
