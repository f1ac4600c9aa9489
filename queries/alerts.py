"""Alerts for the API and the dashboard: open, resolved or all, filtered like every other view.

The time window selects alerts whose life overlaps it (started before its end, and still open or resolved
at or after its start). With state 'open' the window is not applied at all: an open alert is the present,
and no choice of window may hide it.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine

from queries.filters import Filters, QueryError
from queries.series import clean_number
from storage.alertstore import SHARED_KINDS
from storage.schema import alerts
from common.timeutil import iso_z
from common.format import records

STATES = ("open", "resolved", "all")
DEFAULT_LIMIT = 1000
# The engine stores its rules' short names; the API and the dashboard speak these (issue 5's names).
API_KINDS = {"latency": "high_latency", "loss": "packet_loss"}
KINDS = ("high_latency", "packet_loss", "jitter", "down", "stale", "connectivity", "mos", "sip_down", "sip_slow",
         "tls_certificate")


def api_kind(kind: str) -> str:
    """The API's name of a stored alert kind ('latency' -> 'high_latency'); the others are stored as named."""
    return API_KINDS.get(kind, kind)


def _where_subject(stmt, filters: Filters):
    """Country/partner/server filters; host-wide alerts (no server) always pass, as they affect every partner."""
    conditions = []
    if filters.countries:
        conditions.append(alerts.c.country.in_(filters.countries))
    if filters.partners:
        conditions.append(alerts.c.partner.in_(filters.partners))
    if filters.servers:
        conditions.append(alerts.c.server_id.in_(filters.servers))
    if not conditions:
        return stmt
    return stmt.where(or_(alerts.c.server_id.is_(None), and_(*conditions)))


def _where_window(stmt, filters: Filters):
    """Alerts whose life overlaps the window: started before its end, not resolved before its start."""
    return stmt.where(alerts.c.started_at < filters.end,
                      or_(alerts.c.resolved_at.is_(None), alerts.c.resolved_at >= filters.start))


def list_alerts(engine: Engine, state: str = "open", filters: Filters | None = None,
                limit: int = DEFAULT_LIMIT) -> pd.DataFrame:
    """Alerts in a state ('open', 'resolved' or 'all'), newest first, optionally filtered; one row per alert."""
    if state not in STATES:
        raise QueryError("state", f"{state!r} is not one of {', '.join(STATES)}")
    stmt = select(alerts)
    if state != "all":
        stmt = stmt.where(alerts.c.state == state)
    if filters is not None:
        stmt = _where_subject(stmt, filters)
        if filters.collectors:  # a vantage point's own alerts, plus those about the server as a whole
            stmt = stmt.where(alerts.c.collector.in_(filters.collectors) | alerts.c.kind.in_(SHARED_KINDS))
        if state != "open":
            stmt = _where_window(stmt, filters)
    stmt = stmt.order_by(alerts.c.started_at.desc(), alerts.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    for column in ("started_at", "updated_at", "resolved_at"):
        df[column] = pd.to_datetime(df[column])
    return df


def _time(value) -> str | None:
    """A stored time (Timestamp, datetime, NaT or None) as ISO 8601 with a Z."""
    return None if value is None or pd.isna(value) else iso_z(pd.Timestamp(value).to_pydatetime())


def alert_record(row: dict) -> dict:
    """One list_alerts row in the API's shape."""
    return {"id": int(row["id"]), "server": row["server_id"], "partner": row["partner"], "country": row["country"],
            "kind": api_kind(row["kind"]), "severity": row["severity"], "state": row["state"],
            "started_at": _time(row["started_at"]), "resolved_at": _time(row["resolved_at"]),
            "peak": clean_number(row["peak"]), "message": row["message"], **acknowledgement(row),
            "path_snapshot": row.get("path_snapshot") or None, "collector": row.get("collector")}


def acknowledgement(row: dict) -> dict:
    """The acknowledgement of an alert row (None when there is none): who, when, why, at which severity, and
    whether it still holds notifications back (not when the alert has escalated past it)."""
    at = row.get("acknowledged_at")
    if at is None or pd.isna(at):
        return {"acknowledgement": None}
    from collector.alerts import severity_rank
    escalated = severity_rank(row["severity"]) > severity_rank(row.get("ack_severity"))
    return {"acknowledgement": {"by": row["acknowledged_by"], "at": _time(at), "comment": row["ack_comment"],
                                "severity": row["ack_severity"], "escalated_since": escalated}}


def alert_records(df: pd.DataFrame) -> list[dict]:
    """Every list_alerts row in the API's shape, in the frame's order."""
    rows = records(df)
    return [alert_record(r) for r in rows]


def open_alerts_by_server(engine: Engine, server_ids: list[str]) -> dict[str, list[dict]]:
    """Each server's open alerts (id, kind in the API's names, severity, started_at, message), oldest first."""
    wanted = set(server_ids)
    # Every open alert, filtered here: there are few (the state index finds them), and a long IN list of
    # server ids could pass SQLite's bound-variable limit.
    stmt = (select(alerts.c.id, alerts.c.server_id, alerts.c.kind, alerts.c.severity, alerts.c.started_at,
                   alerts.c.message)
            .where(alerts.c.state == "open").order_by(alerts.c.started_at, alerts.c.id))
    found: dict[str, list[dict]] = {}
    with engine.connect() as conn:
        for row in conn.execute(stmt).mappings():
            if row["server_id"] in wanted:
                found.setdefault(row["server_id"], []).append(
                    {"id": row["id"], "kind": api_kind(row["kind"]), "severity": row["severity"],
                     "started_at": row["started_at"], "message": row["message"]})
    return found


def alerts_version(engine: Engine, filters: Filters | None = None) -> tuple:
    """A cheap stamp (count, last change) of the alerts a view shows, so graphs redraw when one opens or ends."""
    stmt = select(func.count(), func.max(alerts.c.updated_at)).select_from(alerts)
    if filters is not None:
        stmt = _where_subject(stmt, filters)
    with engine.connect() as conn:
        count, changed = conn.execute(stmt).one()
    return int(count), changed
