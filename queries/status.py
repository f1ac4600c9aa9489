"""The current state of every configured server: its latest stored round, classified, and its open alerts."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.config import THRESHOLD_NAMES, Config
from queries.alerts import open_alerts_by_server
from queries.series import clean_number
from storage.schema import ping_results as pr
from storage.schema import server_latest
from storage.timeutil import iso_z, utcnow

STATUSES = ("up", "degraded", "down", "stale", "unknown")
LATEST_COLUMNS = [pr.c.server_id, pr.c.timestamp, pr.c.avg_time, pr.c.min_time, pr.c.max_time,
                  pr.c.loss_percentage, pr.c.jitter_time, pr.c.latency_class, pr.c.success, pr.c.error,
                  pr.c.concerns, pr.c.mos, pr.c.r_factor, pr.c.probe, pr.c.collector]


def latest_rows(engine: Engine, server_ids: list[str]) -> pd.DataFrame:
    """The newest stored row of each server id, through the writer-maintained server_latest table."""
    # server_latest holds each server's newest timestamp, so this is one join over a few hundred rows
    # (index seeks on server_id, timestamp); ids are chunked to stay under SQLite's bound-variable limit.
    frames = []
    with engine.connect() as conn:
        for i in range(0, len(server_ids), 500):
            newest = (server_latest.c.server_id == pr.c.server_id) & (server_latest.c.timestamp == pr.c.timestamp)
            stmt = (select(*LATEST_COLUMNS).join(server_latest, newest)
                    .where(server_latest.c.server_id.in_(server_ids[i:i + 500])))
            frames.append(pd.read_sql(stmt, conn))
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[c.name for c in LATEST_COLUMNS])


def has_open_stale_alert(row: dict) -> bool:
    """True when the stale watcher holds an open 'stale' alert for this server."""
    return any(a["kind"] == "stale" for a in row.get("open_alerts") or [])


def classify(row: dict, config: Config, now: datetime) -> str:
    """up, degraded, down, stale or unknown for one server's latest row (and its open alerts, if given)."""
    # The watcher's open stale alert wins, so the status and the alert list never disagree about staleness.
    if has_open_stale_alert(row):
        return "stale"
    if row.get("timestamp") is None or pd.isna(row.get("timestamp")):
        return "unknown"
    if now - row["timestamp"] > timedelta(seconds=config.stale_after_seconds):
        return "stale"
    if not row.get("success"):
        return "down"
    return "degraded" if row.get("concerns") else "up"


def server_status(engine: Engine, config: Config, now: datetime | None = None) -> pd.DataFrame:
    """One row per configured server, in config order, with its latest values, open alerts and status."""
    now = now or utcnow()
    servers = pd.DataFrame([{"server_id": s.id, "partner": s.partner, "country": s.country, "ip": s.ip,
                             "dn_ext": s.dn_ext, "configured_probe": s.probe} for s in config.servers],
                           columns=["server_id", "partner", "country", "ip", "dn_ext", "configured_probe"])
    latest = latest_rows(engine, list(servers["server_id"]))
    df = servers.merge(latest, on="server_id", how="left")
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    opened = open_alerts_by_server(engine, list(servers["server_id"]))
    df["open_alerts"] = pd.Series([opened.get(sid, []) for sid in df["server_id"]], index=df.index, dtype=object)
    records = df.astype(object).where(df.notna(), None).to_dict("records")
    df["status"] = [classify(r, config, now) for r in records]
    df["stale"] = df["status"] == "stale"
    df["age_seconds"] = (now - df["timestamp"]).dt.total_seconds()
    return df


def quality_of(latency_class) -> str | None:
    """The latency class as an API quality word; None for 'down' or no data."""
    return latency_class if latency_class in THRESHOLD_NAMES else None


def warnings_of(row: dict, config: Config) -> list[str]:
    """Why a server needs attention: the stored round's concerns, staleness, then each open alert (kind: message)."""
    found = [c for c in (row.get("concerns") or "").split("; ") if c]
    alerts = row.get("open_alerts") or []
    if row["status"] == "stale" and not has_open_stale_alert(row):
        found.append(f"no result for {int(row['age_seconds'])} s (stale after {config.stale_after_seconds} s)")
    return found + [f"{a['kind']}: {a['message']}" for a in alerts]


def open_alert_summary(alerts: list[dict] | None) -> list[dict]:
    """A server's open alerts in the API's shape: id, kind, severity, started_at."""
    return [{"id": int(a["id"]), "kind": a["kind"], "severity": a["severity"], "started_at": iso_z(a["started_at"])}
            for a in alerts or []]


def status_record(row: dict, config: Config) -> dict:
    """One server_status row in the API's shape (field names carry their units)."""
    stamp = row.get("timestamp")
    return {"id": row["server_id"], "partner": row["partner"], "country": row["country"], "ip": row["ip"],
            "dn_ext": row["dn_ext"], "status": row["status"], "quality": quality_of(row.get("latency_class")),
            "latency_ms": clean_number(row.get("avg_time")), "loss_pct": clean_number(row.get("loss_percentage")),
            "jitter_ms": clean_number(row.get("jitter_time")), "mos": clean_number(row.get("mos")),
            "r_factor": clean_number(row.get("r_factor")),
            "last_check": iso_z(stamp.to_pydatetime()) if stamp is not None else None,
            "stale": bool(row["stale"]), "warnings": warnings_of(row, config),
            "open_alerts": open_alert_summary(row.get("open_alerts"))}


def status_records(df: pd.DataFrame, config: Config) -> list[dict]:
    """Every server_status row in the API's shape, in config order."""
    records = df.astype(object).where(df.notna(), None).to_dict("records")
    return [status_record(r, config) for r in records]
