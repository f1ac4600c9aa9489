"""The current state of every configured server: its latest stored round, classified."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.config import THRESHOLD_NAMES, Config
from queries.series import clean_number
from storage.schema import ping_results as pr
from storage.timeutil import iso_z, utcnow

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


def quality_of(latency_class) -> str | None:
    """The latency class as an API quality word; None for 'down' or no data."""
    return latency_class if latency_class in THRESHOLD_NAMES else None


def warnings_of(row: dict, config: Config) -> list[str]:
    """Why a server needs attention: the stored round's concerns, plus staleness."""
    found = [c for c in (row.get("concerns") or "").split("; ") if c]
    if row["status"] == "stale":
        found.append(f"no result for {int(row['age_seconds'])} s (stale after {config.stale_after_seconds} s)")
    return found


def status_record(row: dict, config: Config) -> dict:
    """One server_status row in the API's shape (field names carry their units)."""
    stamp = row.get("timestamp")
    return {"id": row["server_id"], "partner": row["partner"], "country": row["country"], "ip": row["ip"],
            "dn_ext": row["dn_ext"], "status": row["status"], "quality": quality_of(row.get("latency_class")),
            "latency_ms": clean_number(row.get("avg_time")), "loss_pct": clean_number(row.get("loss_percentage")),
            "jitter_ms": clean_number(row.get("jitter_time")), "mos": clean_number(row.get("mos")),
            "r_factor": clean_number(row.get("r_factor")),
            "last_check": iso_z(stamp.to_pydatetime()) if stamp is not None else None,
            "stale": bool(row["stale"]), "warnings": warnings_of(row, config)}


def status_records(df: pd.DataFrame, config: Config) -> list[dict]:
    """Every server_status row in the API's shape, in config order."""
    records = df.astype(object).where(df.notna(), None).to_dict("records")
    return [status_record(r, config) for r in records]
