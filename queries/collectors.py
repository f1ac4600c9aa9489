"""The collectors (vantage points) writing this database: their heartbeat and whether they still report."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from common.timeutil import iso_z, utcnow
from storage.schema import collectors


def collector_status(last_round_at: datetime | None, stale_after_seconds: float, now: datetime) -> str:
    """'up' while the collector's last round is newer than stale_after_seconds, else 'stale'."""
    if last_round_at is None or now - last_round_at > timedelta(seconds=stale_after_seconds):
        return "stale"
    return "up"


def list_collectors(engine: Engine, stale_after_seconds: float, now: datetime | None = None) -> list[dict]:
    """Every collector that wrote a heartbeat, by name, in the API's shape."""
    now = now or utcnow()
    with engine.connect() as conn:
        rows = conn.execute(select(collectors).order_by(collectors.c.name)).mappings().all()
    return [{"name": r["name"], "location": r["location"] or r["name"], "version": r["version"],
             "status": collector_status(r["last_round_at"], stale_after_seconds, now),
             "started_at": iso_z(r["started_at"]), "last_round_at": iso_z(r["last_round_at"]),
             "servers_probed": r["servers_probed"], "last_error": r["last_error"],
             "rounds_waiting": r["rounds_waiting"] or 0} for r in rows]
