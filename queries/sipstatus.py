"""Each server's latest SIP OPTIONS check (sip_results), its API object, and what it does to the server's status.

A server whose network path answers but whose SIP check is down is "down for calls": its status is down
(red, counted as down), with down_for_calls true and a warning saying why, so a green ping never hides a
dead trunk. A 503 with Retry-After (maintenance) makes an otherwise up server degraded.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from queries.series import clean_number
from storage.schema import sip_results as sr
from common.timeutil import iso_z

ID_CHUNK = 500  # stays under SQLite's bound-variable limit
SIP_COLUMNS = ["status", "failure", "detail", "code", "reason", "server_header", "transport", "sent", "answered",
               "loss_pct", "response_min_ms", "response_avg_ms", "response_max_ms", "connect_ms",
               "tls_handshake_ms", "tls_days_left", "tls_verified", "timestamp"]
PREFIX = "sip_"


def latest_sip_rows(engine: Engine, server_ids: list[str]) -> pd.DataFrame:
    """The newest sip_results row of each server id, its columns prefixed sip_ (server_id as is)."""
    columns = ["server_id"] + [PREFIX + c for c in SIP_COLUMNS]
    frames = []
    with engine.connect() as conn:
        for i in range(0, len(server_ids), ID_CHUNK):
            chunk = server_ids[i:i + ID_CHUNK]
            # max(timestamp) per server is one backward seek of ix_sip_results_server_time each.
            newest = (select(sr.c.server_id, func.max(sr.c.timestamp).label("newest"))
                      .where(sr.c.server_id.in_(chunk)).group_by(sr.c.server_id).subquery())
            stmt = (select(sr.c.server_id, *[sr.c[c].label(PREFIX + c) for c in SIP_COLUMNS])
                    .join(newest, (newest.c.server_id == sr.c.server_id) & (newest.c.newest == sr.c.timestamp)))
            frames.append(pd.read_sql(stmt, conn))
    frames = [f.drop_duplicates("server_id", keep="last") for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def with_sip(df: pd.DataFrame, engine: Engine, sip_ids: set[str]) -> pd.DataFrame:
    """The status frame with the latest SIP columns of the servers that have a SIP check (NaN for the rest)."""
    found = latest_sip_rows(engine, sorted(sip_ids))
    merged = df.merge(found, on="server_id", how="left")
    merged[PREFIX + "timestamp"] = pd.to_datetime(merged[PREFIX + "timestamp"])
    return merged


def down_for_calls(row: dict) -> bool:
    """True when the network path answered but the SIP check says down: calls fail while ping is green."""
    return row.get("sip_status") == "down" and bool(row.get("success")) and row.get("probe") != "sip"


def sip_adjusted(status: str, row: dict) -> str:
    """The server status after its SIP check: up/degraded become down when SIP is down, degraded in maintenance."""
    if status not in ("up", "degraded"):
        return status
    sip_status = row.get("sip_status")
    if sip_status == "down":
        return "down"
    if sip_status == "maintenance":
        return "degraded"
    return status


def sip_warning(row: dict) -> str | None:
    """Why SIP makes the server need attention, or None."""
    sip_status = row.get("sip_status")
    if sip_status not in ("down", "maintenance"):
        return None
    what = row.get("sip_detail") or row.get("sip_failure") or sip_status
    if sip_status == "maintenance":
        return f"SIP in maintenance: {what}"
    prefix = "down for calls: the network answers but SIP is down" if down_for_calls(row) else "SIP down"
    return f"{prefix} ({what})"


def sip_object(row: dict, configured: bool) -> dict | None:
    """The API's sip object of one server; None when no SIP check is configured."""
    if not configured:
        return None
    stamp = row.get("sip_timestamp")
    code = row.get("sip_code")
    days = clean_number(row.get("sip_tls_days_left"))
    return {"status": row.get("sip_status"), "code": None if code is None else int(code),
            "reason": row.get("sip_reason"), "response_ms": clean_number(row.get("sip_response_avg_ms")),
            "transport": row.get("sip_transport"), "server_header": row.get("sip_server_header"),
            "checked_at": iso_z(stamp.to_pydatetime()) if stamp is not None else None,
            "tls_days_left": days, "failure": row.get("sip_failure"),
            "loss_pct": clean_number(row.get("sip_loss_pct")),
            "tls_verified": None if row.get("sip_tls_verified") is None else bool(row["sip_tls_verified"]),
            "down_for_calls": bool(row.get("down_for_calls"))}
