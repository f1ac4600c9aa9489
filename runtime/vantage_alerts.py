"""The alerts about vantage points, judged by the web app's stale watcher (it sees every collector's rows).

- collector_stale: one per collector whose heartbeat is older than stale_after_seconds (server_id NULL, collector
  = its name), resolved when it reports again. It replaces the per-server stale alerts its silence would cause.
- vantage: one per server that is down from some or all of the collectors that measured it recently, when more
  than one did ("down from all 3 vantage points", "down from Nairobi only"); critical when down from all.
"""
from __future__ import annotations

from datetime import datetime

from collector.alerts import AlertEvent
from common.timeutil import iso_z

COLLECTOR_STALE = "collector_stale"
VANTAGE = "vantage"


def _event(action: str, kind: str, severity: str, message: str, at: datetime, started_at: datetime,
           server: dict | None = None, collector: str | None = None, peak: float | None = None) -> AlertEvent:
    """An AlertEvent for one of these kinds (they have no measured value)."""
    server = server or {}
    return AlertEvent(action=action, kind=kind, condition=kind.replace("_", " "), severity=severity,
                      server_id=server.get("server_id"), partner=server.get("partner"), country=server.get("country"),
                      value=None, value_text="-", peak=peak, peak_text="-", started_at=started_at, at=at,
                      message=message, collector=collector)


def collector_stale_events(beats: list[dict], open_rows: dict[str, dict], stale_after_seconds: float,
                           now: datetime) -> list[AlertEvent]:
    """Open collector_stale for each silent collector, resolve it for each that reports again."""
    events = []
    for beat in beats:
        name, last = beat["name"], beat["last_round_at"]
        where = beat.get("location") or name
        row = open_rows.get(name)
        age = (now - last).total_seconds() if last is not None else None
        if age is None or age > stale_after_seconds:
            if row is None:
                message = (f"Collector {name} ({where}) stopped reporting: last round "
                           f"{iso_z(last) if last else 'never'}, stale after {stale_after_seconds:g} s")
                events.append(_event("open", COLLECTOR_STALE, "warning", message, now, last or now,
                                     collector=name, peak=age))
        elif row is not None:
            message = f"Collector {name} ({where}) reports again (last round {iso_z(last)})"
            events.append(_event("resolve", COLLECTOR_STALE, row["severity"], message, now, row["started_at"],
                                 collector=name))
    return events


def vantage_text(down_from: list[str], measured: list[str], locations: dict[str, str]) -> str:
    """'down from all 3 vantage points', 'down from Nairobi only', 'down from Nairobi and London (2 of 3 ...)'."""
    names = [locations.get(c) or c for c in down_from]
    if len(down_from) == len(measured):
        return f"down from all {len(measured)} vantage points"
    if len(names) == 1:
        return f"down from {names[0]} only"
    return f"down from {', '.join(names[:-1])} and {names[-1]} ({len(names)} of {len(measured)} vantage points)"


def vantage_events(status_rows: list[dict], open_rows: dict[str, dict], locations: dict[str, str],
                   now: datetime) -> list[AlertEvent]:
    """Open, escalate, reword or resolve the merged alert of each server from its merged status."""
    events = []
    for row in status_rows:
        views = row.get("vantage_points") or []
        measured = [v["collector"] for v in views if v["status"] in ("up", "degraded", "down")]
        down_from = [v["collector"] for v in views if v["status"] == "down"]
        current = open_rows.get(row["server_id"])
        if len(measured) > 1 and down_from:
            severity = "critical" if len(down_from) == len(measured) else "warning"
            where = f"{row['partner']} {row['country']} ({row['server_id']})"
            message = f"{where} is {vantage_text(down_from, measured, locations)}"
            if current is None:
                events.append(_event("open", VANTAGE, severity, message, now, now, row))
            elif current["message"] != message:
                action = "escalate" if severity == "critical" and current["severity"] != "critical" else "update"
                events.append(_event(action, VANTAGE, severity, message, now, current["started_at"], row))
        elif current is not None:
            message = f"{row['partner']} {row['country']} ({row['server_id']}) answers from every vantage point again"
            events.append(_event("resolve", VANTAGE, current["severity"], message, now, current["started_at"], row))
    return events
