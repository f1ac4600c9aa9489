"""Per-round history of chosen servers: RTT samples for the smoke view and the RTT distribution,
min/mean/max summaries from the rollups for wide smoke views, recent results for the status cards'
heartbeat strip, and a cheap version stamp of a window's data."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from dataclasses import replace
from itertools import chain

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from queries.filters import Filters
from queries.pingdata import ping_series
from queries.sqlutil import where_filters
from storage.rollups import RESOLUTIONS_SECONDS
from storage.compact import newest_id
from storage.schema import ping_results as pr
from common.timeutil import to_naive_utc

SAMPLE_COLUMNS = [pr.c.server_id, pr.c.timestamp, pr.c.samples, pr.c.packets_transmitted, pr.c.packets_received]
QUANTILES = {"p10": 0.10, "p25": 0.25, "median": 0.50, "p75": 0.75, "p90": 0.90}
BAND_COLUMNS = ["server_id", "bucket", "rtt_min", *QUANTILES, "rtt_max", "loss_pct", "rounds", "replies"]
EPOCH = datetime(1970, 1, 1)
SUMMARY_COLUMNS = ["server_id", "bucket", "rtt_min", "rtt_mean", "rtt_max", "loss_pct", "rounds"]


def data_version(engine: Engine, filters: Filters, step_seconds: int = 60) -> tuple:
    """A cheap stamp of what a view would draw: the table's newest row id and the window's start, floored to the
    view's step (its bucket).

    Equal stamps mean nothing new to draw. Not a count of the selected rows: over 30 days of every server
    that reads 8.6 M index entries on every auto-refresh. Every round adds rows with new ids (and retention
    deletes only right after a round), so the newest id moves whenever the selection can have changed; the
    start moves a sliding window (24h, 7d ...) along even while no rounds arrive, but only by whole buckets:
    a 24 h view in 5-minute buckets looks the same until the window's first bucket changes, so redrawing it
    every minute would cost the browser a full plot for nothing.
    """
    with engine.connect() as conn:
        newest = newest_id(conn)
    step = max(1, int(step_seconds))
    start = to_naive_utc(filters.start).replace(microsecond=0)
    floored = start - timedelta(seconds=int((start - EPOCH).total_seconds()) % step)
    return newest, str(floored)


def row_count(engine: Engine, filters: Filters) -> int:
    """How many stored rounds the filters select (one per server and round)."""
    with engine.connect() as conn:
        return conn.execute(where_filters(select(func.count()), filters)).scalar()


def round_samples(engine: Engine, filters: Filters, server_ids: list[str] | tuple[str, ...],
                  every: int = 1) -> pd.DataFrame:
    """The selected servers' rounds in the window (time, samples JSON, packets), oldest first; with every > 1,
    only rounds whose id is a multiple of it (an even sample: ids follow time, rounds alternate servers)."""
    stmt = (where_filters(select(*SAMPLE_COLUMNS), filters).where(pr.c.server_id.in_(list(server_ids)))
            .order_by(pr.c.server_id, pr.c.t_us))
    if every > 1:
        # Tested on the key (it holds the id), so skipped rounds' rows are never decoded.
        stmt = stmt.where(pr.c.id % every == 0)
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    return df


def _parse_samples(text) -> list:
    """The JSON list of per-packet RTTs of one round; [] when missing or unreadable."""
    if not isinstance(text, str) or not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _empty_samples() -> pd.DataFrame:
    """An explode_samples frame without rows."""
    return pd.DataFrame({"server_id": pd.Series(dtype=object), "timestamp": pd.Series(dtype="datetime64[ns]"),
                         "rtt_ms": pd.Series(dtype=float)})


def _explode_fast(rounds: pd.DataFrame) -> pd.DataFrame:
    """explode_samples in one json.loads of all rounds and numpy repeats; raises on any unusual row."""
    texts = rounds["samples"].fillna("[]").replace("", "[]")
    lists = json.loads("[" + ",".join(texts) + "]")  # TypeError / ValueError on a non-string or broken row
    if len(lists) != len(rounds) or not all(isinstance(v, list) for v in lists):
        raise ValueError("a round's samples are not one list")
    lengths = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    values = np.array(list(chain.from_iterable(lists)), dtype=float)  # null (lost packet) becomes NaN
    return pd.DataFrame({"server_id": np.repeat(rounds["server_id"].to_numpy(), lengths),
                         "timestamp": np.repeat(rounds["timestamp"].to_numpy(), lengths), "rtt_ms": values})


def _explode_slow(rounds: pd.DataFrame) -> pd.DataFrame:
    """explode_samples row by row, tolerating missing, broken or odd JSON."""
    parsed = rounds["samples"].map(_parse_samples)
    long = rounds.assign(rtt_ms=parsed)[parsed.map(len) > 0].explode("rtt_ms")
    long["rtt_ms"] = pd.to_numeric(long["rtt_ms"], errors="coerce")
    return long[["server_id", "timestamp", "rtt_ms"]].reset_index(drop=True)


def explode_samples(rounds: pd.DataFrame) -> pd.DataFrame:
    """One row per stored sample: server_id, timestamp, rtt_ms (NaN for a lost packet)."""
    if rounds.empty:
        return _empty_samples()
    try:
        # About 5x faster than a json.loads and a list per row; any odd row falls back to that.
        return _explode_fast(rounds)
    except (TypeError, ValueError):
        return _explode_slow(rounds)


def _bucketed(frame: pd.DataFrame, bucket_seconds: int) -> pd.DataFrame:
    """The frame with a `bucket` column: its timestamp floored to the bucket (epoch-aligned, as in SQL)."""
    return frame.assign(bucket=frame["timestamp"].dt.floor(f"{int(bucket_seconds)}s"))


def _loss_by_bucket(rounds: pd.DataFrame) -> pd.DataFrame:
    """Packet-weighted loss % and round count per (server, bucket), from the packet counters."""
    sums = rounds.groupby(["server_id", "bucket"])[["packets_transmitted", "packets_received"]].sum()
    sent = sums["packets_transmitted"].where(sums["packets_transmitted"] > 0)
    loss = 100.0 * (sent - sums["packets_received"]) / sent
    counts = rounds.groupby(["server_id", "bucket"]).size()
    return pd.DataFrame({"loss_pct": loss, "rounds": counts})


def _spread_by_bucket(samples: pd.DataFrame) -> pd.DataFrame:
    """Min, quantiles and max of the answered samples per (server, bucket)."""
    answered = samples.dropna(subset=["rtt_ms"])
    grouped = answered.groupby(["server_id", "bucket"])["rtt_ms"]
    spread = grouped.quantile(list(QUANTILES.values())).unstack()
    spread.columns = list(QUANTILES)
    return spread.assign(rtt_min=grouped.min(), rtt_max=grouped.max(), replies=grouped.size())


def smoke_bands(rounds: pd.DataFrame, bucket_seconds: int) -> pd.DataFrame:
    """SmokePing-style spread per server and bucket: min, p10, p25, median, p75, p90, max and loss %."""
    if rounds.empty:
        return pd.DataFrame(columns=BAND_COLUMNS)
    rounds = _bucketed(rounds, bucket_seconds)
    samples = _bucketed(explode_samples(rounds), bucket_seconds)
    loss = _loss_by_bucket(rounds)
    if samples["rtt_ms"].notna().any():
        loss = loss.join(_spread_by_bucket(samples), how="left")
    out = loss.reset_index().reindex(columns=BAND_COLUMNS)
    out["replies"] = out["replies"].fillna(0).astype(int)
    return out.sort_values(["server_id", "bucket"], ignore_index=True)


def rtt_values(rounds: pd.DataFrame) -> pd.Series:
    """Every answered RTT (ms) in the rounds, for a distribution."""
    return explode_samples(rounds)["rtt_ms"].dropna().astype(float).reset_index(drop=True)


def summary_bucket_seconds(bucket_seconds: int) -> int:
    """The bucket size nearest above that the stored rollups can answer exactly (a multiple of 300 s)."""
    finest = min(RESOLUTIONS_SECONDS)
    return max(finest, -(-int(bucket_seconds) // finest) * finest)


def summary_bands(series: pd.DataFrame) -> pd.DataFrame:
    """A per-server ping_series frame as smoke rows: fastest, mean and slowest RTT and loss per bucket."""
    names = {"key": "server_id", "min_ms": "rtt_min", "latency_ms": "rtt_mean", "max_ms": "rtt_max"}
    out = series.rename(columns=names).reindex(columns=SUMMARY_COLUMNS)
    out["server_id"] = out["server_id"].astype(str)
    return out.sort_values(["server_id", "bucket"], ignore_index=True)


def rollup_bands(engine: Engine, filters: Filters, server_ids, bucket_seconds: int) -> pd.DataFrame:
    """Min, mean and max RTT and loss per server and bucket from ping_rollups (no per-round rows read)."""
    chosen = replace(filters, servers=tuple(server_ids))
    return summary_bands(ping_series(engine, chosen, "server", summary_bucket_seconds(bucket_seconds)))


def distribution_summary(values: pd.Series) -> dict[str, float | int | None]:
    """Count, median, 95th and 99th percentile of RTT values (None when there are none)."""
    clean = pd.to_numeric(values, errors="coerce").dropna()
    if clean.empty:
        return {"count": 0, "p50": None, "p95": None, "p99": None}
    q = clean.quantile([0.5, 0.95, 0.99])
    return {"count": int(clean.size), "p50": float(q[0.5]), "p95": float(q[0.95]), "p99": float(q[0.99])}
