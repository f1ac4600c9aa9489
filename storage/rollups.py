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


def _present(value) -> bool:
    return value is not None


def rollup_row(row: dict, resolution_seconds: int) -> dict:
    """One ping_results row as its contribution to a rollup bucket."""
    avg, jitter, mos = row.get("avg_time"), row.get("jitter_time"), row.get("mos")
    return {
        "resolution_seconds": resolution_seconds, "server_id": row["server_id"],
        "bucket_start": bucket_start(row["timestamp"], resolution_seconds),
        "country": row["country"], "partner": row["partner"], "server_ip": row["server_ip"], "rounds": 1,
        "packets_transmitted": row.get("packets_transmitted") or 0, "packets_lost": row.get("packets_lost") or 0,
        "sum_avg_time": avg or 0.0, "n_avg_time": int(_present(avg)),
        "min_time": row.get("min_time"), "max_time": row.get("max_time"),
        "sum_jitter_time": jitter or 0.0, "n_jitter_time": int(_present(jitter)),
        "sum_mos": mos or 0.0, "n_mos": int(_present(mos)),
    }


def _insert_for(dialect: str):
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _least_greatest(dialect: str):
    """Two-argument min/max that ignore NULL, per dialect (SQLite's min(NULL, x) is NULL)."""
    if dialect == "postgresql":
        return func.least, func.greatest
    return (lambda a, b: func.min(func.coalesce(a, b), func.coalesce(b, a)),
            lambda a, b: func.max(func.coalesce(a, b), func.coalesce(b, a)))


def _upsert_rollups(conn: Connection, rows: list[dict]) -> None:
    """Add rows to their buckets: sums and counts add up, min/max widen, labels follow the newest."""
    dialect = conn.dialect.name
    stmt = _insert_for(dialect)(ping_rollups)
    least, greatest = _least_greatest(dialect)
    t, new = ping_rollups.c, stmt.excluded
    updates = {name: t[name] + new[name] for name in _SUMMED}
    updates.update(min_time=least(t.min_time, new.min_time), max_time=greatest(t.max_time, new.max_time),
                   country=new.country, partner=new.partner, server_ip=new.server_ip)
    conn.execute(stmt.on_conflict_do_update(index_elements=_KEY, set_=updates), rows)


def _upsert_latest(conn: Connection, rows: list[dict]) -> None:
    """Point each server at its newest result (ignoring a row older than the one stored)."""
    dialect = conn.dialect.name
    stmt = _insert_for(dialect)(server_latest)
    newer = stmt.excluded.timestamp >= server_latest.c.timestamp
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["server_id"], set_={"ping_result_id": stmt.excluded.ping_result_id,
                                            "timestamp": stmt.excluded.timestamp}, where=newer), rows)


def add_round(conn: Connection, rows: list[dict], ids: list[int]) -> None:
    """Fold a stored round's rows (with their new ids) into the rollups and server_latest."""
    if not rows:
        return
    _upsert_rollups(conn, [rollup_row(r, res) for res in RESOLUTIONS_SECONDS for r in rows])
    _upsert_latest(conn, [{"server_id": r["server_id"], "ping_result_id": i, "timestamp": r["timestamp"]}
                          for r, i in zip(rows, ids)])


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
        conn.execute(ping_rollups.insert().from_select(_rebuild_columns(), _rebuild_select(conn, resolution)))
    latest = select(pr.c.server_id, func.max(pr.c.id).label("ping_result_id")).group_by(pr.c.server_id).subquery()
    conn.execute(server_latest.insert().from_select(
        ["server_id", "ping_result_id", "timestamp"],
        select(latest.c.server_id, latest.c.ping_result_id, pr.c.timestamp).join(pr, pr.c.id == latest.c.ping_result_id)
        .where(latest.c.server_id.is_not(None))))


def _rebuild_columns() -> list[str]:
    return _KEY + ["country", "partner", "server_ip", *_SUMMED[:5], "min_time", "max_time", *_SUMMED[5:]]


def _rebuild_select(conn: Connection, resolution: int):
    """Aggregate raw rows into one resolution's buckets, columns in _rebuild_columns() order."""
    bucket = _bucket_sql(conn.dialect.name, resolution).label("bucket_start")
    count_of = lambda col: func.count(col)  # noqa: E731 - count() skips NULLs, as n_* needs
    return (select(literal(resolution).label("resolution_seconds"), pr.c.server_id, bucket,
                   func.max(pr.c.country), func.max(pr.c.partner), func.max(pr.c.server_ip), func.count(),
                   func.coalesce(func.sum(pr.c.packets_transmitted), 0), func.coalesce(func.sum(pr.c.packets_lost), 0),
                   func.coalesce(func.sum(pr.c.avg_time), 0.0), count_of(pr.c.avg_time),
                   func.min(pr.c.min_time), func.max(pr.c.max_time),
                   func.coalesce(func.sum(pr.c.jitter_time), 0.0), count_of(pr.c.jitter_time),
                   func.coalesce(func.sum(pr.c.mos), 0.0), count_of(pr.c.mos))
            .where(pr.c.server_id.is_not(None)).group_by(pr.c.server_id, bucket))
