"""Keep ping_rollups, country_rollups and server_latest up to date as rounds arrive, and rebuild them."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import BigInteger, Integer, bindparam, cast, func, literal, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from storage.compact import t_us
from storage.schema import country_rollups, ping_rollups, server_latest
from storage.schema import ping_results as pr

RESOLUTIONS_SECONDS = (300, 3600)
_SUMMED = ["rounds", "packets_transmitted", "packets_lost", "sum_avg_time", "n_avg_time",
           "sum_jitter_time", "n_jitter_time", "sum_mos", "n_mos"]
_EPOCH = datetime(1970, 1, 1)
# The rounds being folded, as a list (not an id range: on a shared database another collector's round can
# take an id between two of ours, and would be added twice).
ROUND_IDS = bindparam("round_ids", type_=Integer, expanding=True)


def round_rows():
    """WHERE for the raw rows of the rounds being folded: their ids, within the rows' time span (:t_first to
    :t_last, integer µs), so each series is one short range of ping_compact's key (it has no round_id index)."""
    return pr.c.round_id.in_(ROUND_IDS) & pr.c.t_us.between(bindparam("t_first", type_=BigInteger),
                                                            bindparam("t_last", type_=BigInteger))


def rows_span(batches: list[list[dict]]) -> tuple[int, int]:
    """The (first, last) t_us of the rows of rounds being stored, for round_params."""
    times = [t_us(row["timestamp"]) for rows in batches for row in rows]
    return (min(times), max(times)) if times else (0, 0)


def round_params(round_ids: list[int], span: tuple[int, int]) -> dict:
    """The bound values of round_rows(): the round ids and the (first, last) t_us of their rows."""
    return {"round_ids": list(round_ids), "t_first": span[0], "t_last": span[1]}


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


def _upsert(dialect: str, table, key: list[str], columns: list[str], rows, labels: tuple[str, ...] = ()):
    """INSERT rows ... ON CONFLICT (key): sums and counts add up, min/max widen, labels take the new value."""
    stmt = _insert_for(dialect)(table).from_select(columns, rows)
    least, greatest = _least_greatest(dialect)
    t, new = table.c, stmt.excluded
    updates = {name: t[name] + new[name] for name in _SUMMED}
    updates.update(min_time=least(t.min_time, new.min_time), max_time=greatest(t.max_time, new.max_time))
    updates.update({name: new[name] for name in labels})
    return stmt.on_conflict_do_update(index_elements=key, set_=updates)


def _collector():
    """The row's collector as a rollup key ('' for rows stored before collectors had names)."""
    return func.coalesce(pr.c.collector, literal("")).label("collector")


def _server_columns() -> list[str]:
    return ["resolution_seconds", "collector", "server_id", "bucket_start", "country", "partner", "server_ip", *_SUMMED,
            "min_time", "max_time"]


def _country_columns() -> list[str]:
    return ["resolution_seconds", "bucket_start", "country", "collector", *_SUMMED, "min_time", "max_time"]


def _sums():
    """The summed statistics of raw rows, in _SUMMED order, then min and max RTT."""
    return [func.count(), func.coalesce(func.sum(pr.c.packets_transmitted), 0),
            func.coalesce(func.sum(pr.c.packets_lost), 0), func.coalesce(func.sum(pr.c.avg_time), 0.0),
            func.count(pr.c.avg_time), func.coalesce(func.sum(pr.c.jitter_time), 0.0), func.count(pr.c.jitter_time),
            func.coalesce(func.sum(pr.c.mos), 0.0), func.count(pr.c.mos), func.min(pr.c.min_time),
            func.max(pr.c.max_time)]


def _server_select(dialect: str, resolution: int):
    """Raw rows aggregated into one resolution's per-server buckets, columns in _server_columns() order."""
    bucket = _bucket_sql(dialect, resolution).label("bucket_start")
    collector = _collector()
    return (select(literal(resolution).label("resolution_seconds"), collector, pr.c.server_id, bucket,
                   func.max(pr.c.country), func.max(pr.c.partner), func.max(pr.c.server_ip), *_sums())
            .where(pr.c.server_id.is_not(None)).group_by(collector, pr.c.server_id, bucket))


def _country_select(dialect: str, resolution: int):
    """Raw rows aggregated into one resolution's per-country buckets, columns in _country_columns() order."""
    bucket = _bucket_sql(dialect, resolution).label("bucket_start")
    collector = _collector()
    return (select(literal(resolution).label("resolution_seconds"), bucket, pr.c.country, collector, *_sums())
            .where(pr.c.server_id.is_not(None)).group_by(bucket, pr.c.country, collector))


def _latest_select():
    """Each (collector, server)'s newest timestamp among the rows selected by the caller's WHERE clause."""
    collector = _collector()
    return (select(collector, pr.c.server_id, func.max(pr.c.timestamp)).where(pr.c.server_id.is_not(None))
            .group_by(collector, pr.c.server_id))


def _latest_upsert(dialect: str):
    """Move each server of the round to its new timestamp (never backwards)."""
    stmt = _insert_for(dialect)(server_latest).from_select(
        ["collector", "server_id", "timestamp"], _latest_select().where(round_rows()))
    return stmt.on_conflict_do_update(index_elements=["collector", "server_id"], set_={"timestamp": stmt.excluded.timestamp},
                                      where=stmt.excluded.timestamp >= server_latest.c.timestamp)


@lru_cache(maxsize=4)
def round_statements(dialect: str) -> tuple:
    """The statements that fold stored rounds (round_params) into every rollup and server_latest.

    Built once per dialect: constructing them costs ~3 ms each, paid on every round otherwise.
    """
    statements = []
    for resolution in RESOLUTIONS_SECONDS:
        server_rows = _server_select(dialect, resolution).where(round_rows())
        statements.append(_upsert(dialect, ping_rollups, ["resolution_seconds", "collector", "server_id", "bucket_start"],
                                  _server_columns(), server_rows, labels=("country", "partner", "server_ip")))
        country_rows = _country_select(dialect, resolution).where(round_rows())
        statements.append(_upsert(dialect, country_rollups, ["resolution_seconds", "bucket_start", "country", "collector"],
                                  _country_columns(), country_rows))
    return (*statements, _latest_upsert(dialect))


def add_rounds(conn: Connection, round_ids: list[int], span: tuple[int, int]) -> None:
    """Fold stored rounds (their rows' (first, last) t_us: span) into the rollups and server_latest, inside the
    transaction that stored them."""
    # Done in SQL from the rows just inserted: no per-row Python work on the collector's hot path.
    if not round_ids:
        return
    for stmt in round_statements(conn.dialect.name):
        conn.execute(stmt, round_params(round_ids, span))


def _bucket_sql(dialect: str, resolution_seconds: int):
    """SQL for the bucket start of ping_results.timestamp, in the same text form SQLAlchemy stores."""
    size = literal_column(str(resolution_seconds), Integer)
    if dialect == "sqlite":
        seconds = cast(func.strftime("%s", pr.c.timestamp), Integer)
        # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff'; the same text keeps range comparisons right.
        return func.strftime("%Y-%m-%d %H:%M:%S.000000", (seconds // size) * size, "unixepoch")
    # BigInteger: PostgreSQL's INTEGER is 32-bit, and epoch seconds pass it in 2038.
    seconds = cast(func.floor(func.extract("epoch", pr.c.timestamp)), BigInteger)
    return func.timezone("UTC", func.to_timestamp((seconds // size) * size))


def rebuild_country_rollups(conn: Connection) -> None:
    """Recompute country_rollups by merging ping_rollups (exact: sums and counts add, min/max widen)."""
    t = ping_rollups.c
    merged = select(t.resolution_seconds, t.bucket_start, t.country, t.collector,
                    *(func.sum(t[name]) for name in _SUMMED), func.min(t.min_time),
                    func.max(t.max_time)).group_by(t.resolution_seconds, t.bucket_start, t.country, t.collector)
    conn.execute(country_rollups.delete())
    conn.execute(country_rollups.insert().from_select(_country_columns(), merged))


def rebuild(conn: Connection) -> None:
    """Recompute every rollup and server_latest from the raw rows (used when upgrading a database)."""
    conn.execute(ping_rollups.delete())
    conn.execute(server_latest.delete())
    add_raw_rows(conn)


def add_raw_rows(conn: Connection) -> None:
    """Insert every raw row's buckets into ping_rollups and server_latest (which lack them), then re-merge countries."""
    dialect = conn.dialect.name
    for resolution in RESOLUTIONS_SECONDS:
        conn.execute(ping_rollups.insert().from_select(_server_columns(), _server_select(dialect, resolution)))
    conn.execute(server_latest.insert().from_select(["collector", "server_id", "timestamp"], _latest_select()))
    rebuild_country_rollups(conn)
