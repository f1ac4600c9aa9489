"""Latency, loss and jitter over time, bucketed so a series stays at a few thousand points at most."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Iterator

import pandas as pd
from sqlalchemy import func, literal, select, union
from sqlalchemy.engine import Engine

from queries.filters import Filters
from queries.sqlutil import bucket_expr, dialect_of, raw_bucket, where_filters
from storage.retention import RESOLUTION_KINDS, horizons
from storage.rollups import RESOLUTIONS_SECONDS, bucket_start
from storage.schema import RAW_COLUMNS
from storage.schema import ping_results as pr
from storage.schema import country_rollups, ping_rollups, server_latest
from common.timeutil import utcnow

# Every size is a multiple of a stored rollup resolution (300 s or 3600 s) or small enough for raw rows,
# so a wide window is always answered from ping_rollups. MAX_POINTS keeps a trace light for the browser.
BUCKET_LADDER_SECONDS = (60, 300, 900, 3600, 10800, 21600, 43200, 86400)
MAX_POINTS = 1000
GROUPS = ("country", "server")
SERIES_COLUMNS = ["key", "bucket", "latency_ms", "min_ms", "max_ms", "loss_pct", "jitter_ms", "mos", "rounds"]
EXPORT_COLUMNS = [c.name for c in RAW_COLUMNS]


def bucket_seconds_for(filters: Filters, max_points: int = MAX_POINTS,
                       kept_since: dict[int, datetime | None] | None = None) -> int:
    """The smallest bucket on the ladder that keeps the window under max_points buckets.

    With kept_since (see kept_since()), a bucket is skipped when the rows that answer it no longer reach
    back to the window's start: a day from last year is drawn from hourly rollups, not pruned raw rows.
    """
    span = (filters.end - filters.start).total_seconds()
    fitting = [size for size in BUCKET_LADDER_SECONDS if span / size <= max_points] or [BUCKET_LADDER_SECONDS[-1]]
    kept = [size for size in fitting if _reaches_back(size, filters.start, kept_since or {})]
    return (kept or fitting)[0]


def series_bucket_seconds(filters: Filters, interval_seconds: float, retention: dict,
                          now: datetime | None = None) -> int:
    """The bucket size of a window's latency/loss/jitter series: the one rule the API and the dashboard share.

    bucket_seconds_for() under the retention horizons, but not finer than the collector's interval: finer
    buckets (a zoom into a few hours of 5-minute rounds) would only leave empty cells between rounds."""
    bucket = bucket_seconds_for(filters, kept_since=kept_since(retention, now))
    floor = next((s for s in BUCKET_LADDER_SECONDS if s >= interval_seconds), BUCKET_LADDER_SECONDS[-1])
    return max(bucket, floor)


def _reaches_back(size: int, start: datetime, kept_since: dict[int, datetime | None]) -> bool:
    """True when the stored resolution answering `size` still holds rows from `start` on."""
    horizon = kept_since.get(rollup_resolution_for(size) or 0)
    return horizon is None or start >= horizon


def kept_since(retention: dict, now: datetime | None = None) -> dict[int, datetime | None]:
    """Per stored resolution (0 = raw rows, 300, 3600) the oldest time retention keeps; None = forever."""
    kept = horizons(retention, now or utcnow())
    return {0: kept["raw"], **{resolution: kept[kind] for resolution, kind in RESOLUTION_KINDS.items()}}


def _group_columns(group: str) -> tuple[list, list]:
    """(grouping key, label columns) for a group; labels are aggregated so a key is one series
    even if a server's partner or country was renamed in the config during the window."""
    if group == "server":
        labels = [func.max(pr.c.server_ip).label("server_ip"), func.max(pr.c.partner).label("partner"),
                  func.max(pr.c.country).label("country")]
        return [pr.c.server_id.label("key")], labels
    return [pr.c.country.label("key")], []


def _series_aggregates() -> list:
    """The per-bucket statistics; loss is packet-weighted, not a mean of per-round percentages."""
    loss = 100.0 * (func.sum(pr.c.packets_lost) * 1.0) / func.nullif(func.sum(pr.c.packets_transmitted), 0)
    return [func.avg(pr.c.avg_time).label("latency_ms"), func.min(pr.c.min_time).label("min_ms"),
            func.max(pr.c.max_time).label("max_ms"), loss.label("loss_pct"),
            func.avg(pr.c.jitter_time).label("jitter_ms"), func.avg(pr.c.mos).label("mos"),
            func.count().label("rounds")]


def rollup_resolution_for(bucket_seconds: int) -> int | None:
    """The coarsest stored rollup resolution that divides the bucket size; None means read raw rows."""
    fitting = [r for r in RESOLUTIONS_SECONDS if bucket_seconds % r == 0]
    return max(fitting) if fitting else None


def series_source(filters: Filters, group: str, bucket_seconds: int) -> str:
    """Which table answers a series: 'country_rollups', 'ping_rollups' or 'ping_results' (raw rows)."""
    if rollup_resolution_for(bucket_seconds) is None:
        return "ping_results"
    # Per-country sums cannot be split by partner or server again, so those filters read per-server buckets.
    if group == "country" and not filters.partners and not filters.servers:
        return "country_rollups"
    return "ping_rollups"


def _same(column):
    return column


def _rollup_aggregates(t, merge: bool) -> list:
    """Per-bucket statistics from stored sums and counts (exactly what raw rows would give); with merge,
    several stored buckets or servers are summed into one first."""
    total, lowest, highest = (func.sum, func.min, func.max) if merge else (_same, _same, _same)
    ratio = lambda num, den: (total(num) * 1.0) / func.nullif(total(den), 0)  # noqa: E731
    return [ratio(t.sum_avg_time, t.n_avg_time).label("latency_ms"), lowest(t.min_time).label("min_ms"),
            highest(t.max_time).label("max_ms"), (100.0 * ratio(t.packets_lost, t.packets_transmitted))
            .label("loss_pct"), ratio(t.sum_jitter_time, t.n_jitter_time).label("jitter_ms"),
            ratio(t.sum_mos, t.n_mos).label("mos"), total(t.rounds).label("rounds")]


def _rollup_keys(table, group: str, merge: bool) -> tuple[list, list]:
    """(grouping key, label columns) of a rollup table for a group."""
    t = table.c
    if group == "server":
        label = func.max if merge else _same
        return [t.server_id.label("key")], [label(t.server_ip).label("server_ip"), label(t.partner).label("partner"),
                                             label(t.country).label("country")]
    return [t.country.label("key")], []


def _rollup_series_stmt(filters: Filters, group: str, size: int, resolution: int, dialect: str, table=ping_rollups):
    """The series from a rollup table: stored buckets as they are, or merged into buckets of `size` seconds."""
    t = table.c
    # Each stored row is already one point when the bucket is the stored resolution and the table is keyed
    # by the series' key: no GROUP BY (a temp B-tree over every row, half the query's time at 30 days).
    # Since v4 a bucket is stored per collector: unless one collector is selected, its rows are summed (exactly)
    # into the series of the selected vantage points.
    merge = size != resolution or (group == "country" and table is ping_rollups) or len(filters.collectors) != 1
    bucket = bucket_expr(t.bucket_start, size, dialect).label("bucket")
    keys, labels = _rollup_keys(table, group, merge)
    aligned = replace(filters, start=bucket_start(filters.start, resolution))
    stmt = select(*keys, *labels, bucket, *_rollup_aggregates(t, merge)).where(t.resolution_seconds == resolution)
    stmt = where_filters(stmt, aligned, table, "bucket_start")
    if table is ping_rollups and filters.servers and not filters.collectors:
        stmt = stmt.where(t.collector.in_(_collectors_of(filters.servers)))
    return stmt.group_by(*keys, bucket) if merge else stmt


def _collectors_of(server_ids):
    """Every collector key the servers' ping_rollups rows can have: theirs in server_latest (kept for good), and ''
    (buckets blended before collectors had names). With it the read is one range of ping_rollups' primary key
    (resolution, collector, server, time) per collector and server, instead of every server's buckets of the
    window through ix_ping_rollups_time, each then looked up in the table."""
    return union(select(server_latest.c.collector).where(server_latest.c.server_id.in_(list(server_ids))),
                 select(literal("")))


def _raw_series_stmt(filters: Filters, group: str, size: int, dialect: str):
    """The series straight from ping_results, for buckets finer than any rollup."""
    bucket = raw_bucket(size).label("bucket")
    keys, labels = _group_columns(group)
    stmt = select(*keys, *labels, bucket, *_series_aggregates())
    return where_filters(stmt, filters).group_by(*keys, bucket)


def ping_series(engine: Engine, filters: Filters, group: str = "country",
                bucket_seconds: int | None = None) -> pd.DataFrame:
    """One row per (key, bucket): mean latency, min, max, loss %, mean jitter, mean MOS, round count."""
    size = bucket_seconds or bucket_seconds_for(filters)
    source, dialect = series_source(filters, group, size), dialect_of(engine)
    if source == "ping_results":
        stmt = _raw_series_stmt(filters, group, size, dialect)
    else:
        table = country_rollups if source == "country_rollups" else ping_rollups
        stmt = _rollup_series_stmt(filters, group, size, rollup_resolution_for(size), dialect, table)
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    df["bucket"] = pd.to_datetime(df["bucket"].astype("int64"), unit="s")
    # Sorted here rather than in SQL: rollup rows come in time order from the index, and a sort of the result
    # costs less than SQLite sorting every row it reads.
    return df.sort_values(["key", "bucket"], kind="stable", ignore_index=True)


# The export reads its window this much at a time: the raw rows' key is (series, time), so "oldest first" over
# all series is a sort, and one sort of a whole month kept the first byte waiting minutes and held every row.
EXPORT_SLICE = timedelta(hours=1)


def export_chunks(engine: Engine, filters: Filters, chunk_rows: int = 5000) -> Iterator[pd.DataFrame]:
    """Every stored column of the selected rows, oldest first, chunk_rows at a time (for streaming); an empty
    selection gives one empty chunk (the columns)."""
    with engine.connect().execution_options(stream_results=True) as conn:
        yield from _rechunked(_slice_frames(conn, filters, chunk_rows), chunk_rows)


def _slice_frames(conn, filters: Filters, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The export's rows read EXPORT_SLICE of the window at a time, each slice in time order."""
    for part in _slices(filters, EXPORT_SLICE):
        stmt = where_filters(select(*RAW_COLUMNS), part).order_by(pr.c.t_us, pr.c.id)
        # Nullable dtypes: with numpy ones an integer column turns float in any chunk holding a null
        # (old rows lack round_id, packets_*), so the same column would print 277 and 277.0.
        yield from pd.read_sql(stmt, conn, chunksize=chunk_rows, dtype_backend="numpy_nullable")


def _rechunked(frames: Iterator[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """The frames' rows regrouped into chunks of `size` (the last one shorter; one empty frame if no rows)."""
    held, count, blank = [], 0, None
    for frame in frames:
        if not len(frame):
            blank = frame
            continue
        held.append(frame)
        count += len(frame)
        while count >= size:
            whole = pd.concat(held, ignore_index=True)
            yield whole.iloc[:size].reset_index(drop=True)
            held, count = [whole.iloc[size:]], count - size
    if count:
        yield pd.concat(held, ignore_index=True)
    elif blank is not None and not held:
        yield blank


def _slices(filters: Filters, size: timedelta) -> Iterator[Filters]:
    """The filters' window cut into consecutive [start, end) pieces of at most `size`."""
    start = filters.start
    while True:
        end = min(start + size, filters.end)
        yield replace(filters, start=start, end=end)
        if end >= filters.end:
            return
        start = end


def server_rounds(engine: Engine, server_id: str, filters: Filters, limit: int = 500) -> pd.DataFrame:
    """The most recent raw rounds of one server within the window, newest first."""
    stmt = (where_filters(select(*RAW_COLUMNS), filters).where(pr.c.server_id == server_id)
            .order_by(pr.c.t_us.desc()).limit(limit))
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn)
