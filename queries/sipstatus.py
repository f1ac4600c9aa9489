"""Each server's latest SIP OPTIONS check (sip_results), its API object, and what it does to the server's status.

A server whose network path answers but whose SIP check is down is "down for calls": its status is down
(red, counted as down), with down_for_calls true and a warning saying why, so a green ping never hides a
dead trunk. A 503 with Retry-After (maintenance) makes an otherwise up server degraded.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import func, literal, select
from sqlalchemy.engine import Engine

from queries.series import clean_number
from storage.schema import server_latest
from storage.schema import sip_results as sr
from common.timeutil import iso_z
from common.format import records

ID_CHUNK = 500  # stays under SQLite's bound-variable limit
SIP_COLUMNS = ["status", "failure", "detail", "code", "reason", "server_header", "transport", "sent", "answered",
               "loss_pct", "response_min_ms", "response_avg_ms", "response_max_ms", "connect_ms",
               "tls_handshake_ms", "tls_days_left", "tls_verified", "timestamp"]
PREFIX = "sip_"


def latest_sip_rows(engine: Engine, server_ids: list[str], collectors: tuple[str, ...] = ()) -> pd.DataFrame:
    """The newest sip_results row of each (collector, server id) (of the given collectors, or all), its columns
    prefixed sip_ (server_id as is, the collector as sip_collector)."""
    columns = ["server_id", PREFIX + "collector"] + [PREFIX + c for c in SIP_COLUMNS]
    collector = func.coalesce(sr.c.collector, literal(""))
    frames = []
    with engine.connect() as conn:
        for i in range(0, len(server_ids), ID_CHUNK):
            chunk = server_ids[i:i + ID_CHUNK]
            # Per (collector, server) in server_latest, its newest SIP row: a short backward walk of
            # ix_sip_results_server_time that stops at the first row of that collector (ORDER BY ... LIMIT 1, not
            # max(): with the collector in the WHERE clause SQLite's max() would read every row of the server).
            newest_at = (select(sr.c.timestamp)
                         .where(sr.c.server_id == server_latest.c.server_id, collector == server_latest.c.collector)
                         .order_by(sr.c.timestamp.desc()).limit(1).scalar_subquery())
            keys = select(server_latest.c.collector, server_latest.c.server_id, newest_at.label("newest")) \
                .where(server_latest.c.server_id.in_(chunk))
            if collectors:
                keys = keys.where(server_latest.c.collector.in_(collectors))
            keys = keys.subquery()
            stmt = (select(sr.c.server_id, keys.c.collector.label(PREFIX + "collector"),
                           *[sr.c[c].label(PREFIX + c) for c in SIP_COLUMNS])
                    .join(keys, (keys.c.server_id == sr.c.server_id) & (keys.c.newest == sr.c.timestamp)
                          & (keys.c.collector == collector)))
            frames.append(pd.read_sql(stmt, conn))
    frames = [f.drop_duplicates(["server_id", PREFIX + "collector"], keep="last") for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def merged_sip_status(statuses: list[str]) -> str | None:
    """The SIP state of a server from its recent vantage points, by the network status's rule: down only when every
    one sees SIP down, partial when some do; otherwise maintenance if any says so, else up."""
    if not statuses:
        return None
    down = statuses.count("down")
    if down == len(statuses):
        return "down"
    if down:
        return "partial"
    return "maintenance" if "maintenance" in statuses else "up"


def merge_sip(found: pd.DataFrame, recent: dict[str, set[str]]) -> dict[str, dict]:
    """server id -> one SIP row from its per-collector rows: those of the collectors that measured it recently
    (`recent`: server id -> names; all its rows when none did), the merged status, and the figures of the newest
    row that agrees with it (for partial, the newest down one: it says what fails)."""
    by_server: dict[str, list[dict]] = {}
    for r in records(found):
        by_server.setdefault(r["server_id"], []).append(r)
    out = {}
    for sid, rows in by_server.items():
        live = [r for r in rows if r[PREFIX + "collector"] in recent.get(sid, ())] or rows
        state = merged_sip_status([r[PREFIX + "status"] for r in live])
        agree = [r for r in live if r[PREFIX + "status"] == ("down" if state == "partial" else state)] or live
        pick = max(agree, key=lambda r: pd.Timestamp(r[PREFIX + "timestamp"]))
        views = {r[PREFIX + "collector"]: r[PREFIX + "status"] for r in rows}
        out[sid] = dict(pick, **{PREFIX + "status": state}, sip_views=views)
        del out[sid][PREFIX + "collector"]
    return out


def sip_by_server(engine: Engine, sip_ids: set[str], recent: dict[str, set[str]],
                  collectors: tuple[str, ...] = ()) -> dict[str, dict]:
    """server id -> the merged latest SIP columns (sip_...) of each server with a SIP check that has one, over the
    vantage points whose network view is recent (`recent`: server id -> collector names)."""
    if not sip_ids:
        return {}
    return merge_sip(latest_sip_rows(engine, sorted(sip_ids), collectors), recent)


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
            "checked_at": iso_z(stamp),
            "tls_days_left": days, "failure": row.get("sip_failure"),
            "loss_pct": clean_number(row.get("sip_loss_pct")),
            "tls_verified": None if row.get("sip_tls_verified") is None else bool(row["sip_tls_verified"]),
            "down_for_calls": bool(row.get("down_for_calls"))}
