"""The current state of every configured server: its latest stored round, classified."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.config import Config
from storage.schema import ping_results as pr
from storage.timeutil import utcnow

STATUSES = ("up", "degraded", "down", "stale", "unknown")
LATEST_COLUMNS = [pr.c.server_id, pr.c.timestamp, pr.c.avg_time, pr.c.min_time, pr.c.max_time,
                  pr.c.loss_percentage, pr.c.jitter_time, pr.c.latency_class, pr.c.success, pr.c.error,
                  pr.c.concerns, pr.c.mos, pr.c.r_factor, pr.c.probe, pr.c.collector]


def latest_rows(engine: Engine, server_ids: list[str]) -> pd.DataFrame:
    """The newest stored row of each server id (one index seek per server)."""
    frames = []
    with engine.connect() as conn:
        for sid in server_ids:
            stmt = select(*LATEST_COLUMNS).where(pr.c.server_id == sid).order_by(pr.c.timestamp.desc()).limit(1)
            frames.append(pd.read_sql(stmt, conn))
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[c.name for c in LATEST_COLUMNS])


def classify(row: dict, config: Config, now: datetime) -> str:
    """up, degraded, down, stale or unknown for one server's latest row."""
    if row.get("timestamp") is None or pd.isna(row.get("timestamp")):
        return "unknown"
    if now - row["timestamp"] > timedelta(seconds=config.stale_after_seconds):
        return "stale"
    if not row.get("success"):
        return "down"
    return "degraded" if row.get("concerns") else "up"


def server_status(engine: Engine, config: Config, now: datetime | None = None) -> pd.DataFrame:
    """One row per configured server, in config order, with its latest values and status."""
    now = now or utcnow()
    servers = pd.DataFrame([{"server_id": s.id, "partner": s.partner, "country": s.country, "ip": s.ip,
                             "dn_ext": s.dn_ext, "configured_probe": s.probe} for s in config.servers],
                           columns=["server_id", "partner", "country", "ip", "dn_ext", "configured_probe"])
    latest = latest_rows(engine, list(servers["server_id"]))
    df = servers.merge(latest, on="server_id", how="left")
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    records = df.astype(object).where(df.notna(), None).to_dict("records")
    df["status"] = [classify(r, config, now) for r in records]
    df["stale"] = df["status"] == "stale"
    df["age_seconds"] = (now - df["timestamp"]).dt.total_seconds()
    return df
