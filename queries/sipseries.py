"""SIP OPTIONS history: response time, loss, worst code and share of up rounds per bucket, and SIP rows for export.

SIP rows are read joined to the same round's ping_results row of the server (same round_id and server_id),
which carries the country, partner and ip the filters and labels need; sip_results itself stays small.
Series in buckets that a stored resolution divides are read from sip_rollups (kept by the writer, retained like
ping_rollups), so they reach back as far as the network series do; finer ones from the raw rows.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from queries.filters import Filters
from queries.pingdata import rollup_resolution_for
from queries.sqlutil import bucket_expr, dialect_of, where_filters
from storage.schema import ping_results as pr
from storage.rollups import bucket_start
from storage.schema import sip_results as sr
from storage.schema import sip_rollups

SIP_POINT_FIELDS = ("response_ms", "loss_pct", "code", "up_pct", "rounds")
SIP_EXPORT_COLUMNS = ["timestamp", "server_id", "server_ip", "country", "partner", "round_id", "collector",
                      *[c.name for c in sr.columns if c.name not in ("id", "round_id", "server_id", "timestamp",
                                                                       "collector")]]
_SAME_ROUND = (sr.c.round_id == pr.c.round_id) & (sr.c.server_id == pr.c.server_id)


def _keys(group: str) -> tuple[list, list]:
    """(grouping key, label columns) for a group, labels aggregated as in ping_series."""
    if group == "server":
        return [sr.c.server_id.label("key")], [func.max(pr.c.server_ip).label("server_ip"),
                                               func.max(pr.c.partner).label("partner"),
                                               func.max(pr.c.country).label("country")]
    return [pr.c.country.label("key")], []


def _raw_stmt(filters: Filters, group: str, bucket_seconds: int, dialect: str):
    """The series straight from sip_results, for buckets finer than any rollup."""
    bucket = bucket_expr(sr.c.timestamp, bucket_seconds, dialect).label("bucket")
    keys, labels = _keys(group)
    loss = 100.0 * (func.sum(sr.c.sent - sr.c.answered) * 1.0) / func.nullif(func.sum(sr.c.sent), 0)
    up = 100.0 * func.sum(case((sr.c.status == "up", 1), else_=0)) * 1.0 / func.count()
    stmt = (select(*keys, *labels, bucket, func.avg(sr.c.response_avg_ms).label("response_ms"),
                   loss.label("loss_pct"), func.max(sr.c.code).label("code"), up.label("up_pct"),
                   func.count().label("rounds"))
            .select_from(sr.join(pr, _SAME_ROUND)))
    return where_filters(stmt, filters).group_by(*keys, bucket)


def _rollup_stmt(filters: Filters, group: str, bucket_seconds: int, resolution: int, dialect: str):
    """The series from sip_rollups' stored sums, merged into buckets of bucket_seconds (exactly what raw rows give)."""
    t = sip_rollups.c
    bucket = bucket_expr(t.bucket_start, bucket_seconds, dialect).label("bucket")
    keys = [t.server_id.label("key")] if group == "server" else [t.country.label("key")]
    labels = ([func.max(t.server_ip).label("server_ip"), func.max(t.partner).label("partner"),
               func.max(t.country).label("country")] if group == "server" else [])
    ratio = lambda num, den: (func.sum(num) * 1.0) / func.nullif(func.sum(den), 0)  # noqa: E731
    stmt = select(*keys, *labels, bucket, ratio(t.sum_response_ms, t.n_response).label("response_ms"),
                  (100.0 * ratio(t.sent - t.answered, t.sent)).label("loss_pct"), func.max(t.max_code).label("code"),
                  (100.0 * ratio(t.up_rounds, t.rounds)).label("up_pct"), func.sum(t.rounds).label("rounds"))
    aligned = replace(filters, start=bucket_start(filters.start, resolution))
    stmt = where_filters(stmt.where(t.resolution_seconds == resolution), aligned, sip_rollups, "bucket_start")
    return stmt.group_by(*keys, bucket)


def sip_series(engine: Engine, filters: Filters, group: str, bucket_seconds: int) -> pd.DataFrame:
    """One row per (key, bucket): mean response time, request loss %, the highest final code, % of up rounds."""
    resolution, dialect = rollup_resolution_for(bucket_seconds), dialect_of(engine)
    stmt = (_raw_stmt(filters, group, bucket_seconds, dialect) if resolution is None
            else _rollup_stmt(filters, group, bucket_seconds, resolution, dialect))
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    df["bucket"] = pd.to_datetime(df["bucket"].astype("int64"), unit="s")
    df["code"] = df["code"].astype("Float64")  # null where no request of the bucket was answered
    return df.sort_values(["key", "bucket"], kind="stable", ignore_index=True)


def sip_row_count(engine: Engine, filters: Filters) -> int:
    """How many SIP checks the filters select (one per server and round)."""
    stmt = where_filters(select(func.count()).select_from(sr.join(pr, _SAME_ROUND)), filters)
    with engine.connect() as conn:
        return conn.execute(stmt).scalar()


def sip_export_chunks(engine: Engine, filters: Filters, chunk_rows: int = 5000) -> Iterator[pd.DataFrame]:
    """The selected SIP rows with their server's labels, oldest first, a chunk at a time."""
    columns = [pr.c.server_ip, pr.c.country, pr.c.partner]
    stmt = (select(sr.c.timestamp, sr.c.server_id, *columns, sr.c.round_id, sr.c.collector,
                   *[sr.c[name] for name in SIP_EXPORT_COLUMNS[7:]])
            .select_from(sr.join(pr, _SAME_ROUND)))
    stmt = where_filters(stmt, filters).order_by(sr.c.timestamp, sr.c.id)
    with engine.connect().execution_options(stream_results=True) as conn:
        yield from pd.read_sql(stmt, conn, chunksize=chunk_rows, dtype_backend="numpy_nullable")
