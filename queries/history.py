"""Per-round history of chosen servers: RTT samples for the smoke view and the RTT distribution,
recent results for the status cards' heartbeat strip, and a cheap version stamp of a window's data."""
from __future__ import annotations

import json

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from queries.filters import Filters
from queries.sqlutil import where_filters
from storage.schema import ping_results as pr

SAMPLE_COLUMNS = [pr.c.server_id, pr.c.timestamp, pr.c.samples, pr.c.packets_transmitted, pr.c.packets_received]
BEAT_COLUMNS = [pr.c.server_id, pr.c.timestamp, pr.c.latency_class, pr.c.success, pr.c.avg_time,
                pr.c.loss_percentage, pr.c.concerns]
QUANTILES = {"p10": 0.10, "p25": 0.25, "median": 0.50, "p75": 0.75, "p90": 0.90}
BAND_COLUMNS = ["server_id", "bucket", "rtt_min", *QUANTILES, "rtt_max", "loss_pct", "rounds", "replies"]


def data_version(engine: Engine, filters: Filters) -> tuple:
    """(row count, newest id, newest time) of the rows a filter selects: equal stamps mean equal data."""
    stmt = where_filters(select(func.count(), func.max(pr.c.id), func.max(pr.c.timestamp)), filters)
    with engine.connect() as conn:
        count, newest_id, newest_at = conn.execute(stmt).one()
    return count, newest_id, None if newest_at is None else str(newest_at)


def round_samples(engine: Engine, filters: Filters, server_ids: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """The selected servers' rounds in the window (time, samples JSON, packets), oldest first."""
    stmt = (where_filters(select(*SAMPLE_COLUMNS), filters).where(pr.c.server_id.in_(list(server_ids)))
            .order_by(pr.c.server_id, pr.c.timestamp))
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


def explode_samples(rounds: pd.DataFrame) -> pd.DataFrame:
    """One row per stored sample: server_id, timestamp, rtt_ms (NaN for a lost packet)."""
    if rounds.empty:
        return pd.DataFrame({"server_id": pd.Series(dtype=object), "timestamp": pd.Series(dtype="datetime64[ns]"),
                             "rtt_ms": pd.Series(dtype=float)})
    long = rounds.assign(rtt_ms=rounds["samples"].map(_parse_samples)).explode("rtt_ms")
    long["rtt_ms"] = pd.to_numeric(long["rtt_ms"], errors="coerce")
    return long[["server_id", "timestamp", "rtt_ms"]].reset_index(drop=True)


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


def recent_results(engine: Engine, server_ids: list[str], per_server: int = 30) -> pd.DataFrame:
    """The last `per_server` rounds of each server (class, success, latency, loss, concerns), oldest first."""
    frames = []
    with engine.connect() as conn:
        for sid in server_ids:
            stmt = select(*BEAT_COLUMNS).where(pr.c.server_id == sid).order_by(pr.c.timestamp.desc()).limit(per_server)
            frames.append(pd.read_sql(stmt, conn))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=[c.name for c in BEAT_COLUMNS])
    df = pd.concat(frames, ignore_index=True)
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    return df.sort_values(["server_id", "timestamp"], ignore_index=True)


def distribution_summary(values: pd.Series) -> dict[str, float | int | None]:
    """Count, median, 95th and 99th percentile of RTT values (None when there are none)."""
    clean = pd.to_numeric(values, errors="coerce").dropna()
    if clean.empty:
        return {"count": 0, "p50": None, "p95": None, "p99": None}
    q = clean.quantile([0.5, 0.95, 0.99])
    return {"count": int(clean.size), "p50": float(q[0.5]), "p95": float(q[0.95]), "p99": float(q[0.99])}
