"""Store alert events in the alerts table and load the open alerts back (SQLAlchemy Core).

Events are duck-typed (collector.alerts.AlertEvent) so storage does not depend on the collector.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator

from sqlalchemy import and_, exists, insert, literal, select, text, update
from sqlalchemy.engine import Connection, Engine

from storage.schema import alerts
from common.timeutil import to_naive_utc

# The connectivity alert belongs to one monitoring host, so it is matched by collector as well.
HOST_KINDS = ("connectivity",)
# Since v4 every alert a collector raises is its own, per (collector, server): two vantage points each hold their
# own 'down' alert. Only these are about the server as a whole: the web app's stale watcher's, and the merged
# vantage-point alert ('down from all 3 vantage points').
SHARED_KINDS = ("stale", "vantage")
# The transaction-level advisory lock that serialises opening alerts on PostgreSQL (any fixed bigint; "ALERTS").
ALERT_LOCK_KEY = 0x414C45525453


@contextmanager
def _transaction(target: Any) -> Iterator[Connection]:
    """One transaction on a bare Engine, or through a Writer so alert writes queue behind round writes."""
    if isinstance(target, Engine):
        with target.begin() as conn:
            yield conn
        return
    # Writer.transaction() holds its lock and marks the thread as writing, so the DatabaseHandler does
    # not deadlock on a record logged meanwhile.
    with target.transaction() as conn:
        yield conn


def _match(event) -> Any:
    """WHERE clause of the open alert an event is about."""
    clause = and_(alerts.c.kind == event.kind, alerts.c.state == "open",
                  alerts.c.server_id.is_(None) if event.server_id is None else alerts.c.server_id == event.server_id)
    if event.kind in HOST_KINDS or event.kind not in SHARED_KINDS:
        clause = and_(clause, alerts.c.collector.is_(None) if event.collector is None
                      else alerts.c.collector == event.collector)
    return clause


def _open(conn: Connection, event) -> int:
    """Insert the alert unless the same one is already open: one INSERT ... SELECT ... WHERE NOT EXISTS,
    atomic in SQLite, so two processes (or two web workers) never open it twice. (On PostgreSQL two concurrent
    transactions can both pass NOT EXISTS; _lock_alert_opening serialises them.)"""
    values = {"server_id": event.server_id, "partner": event.partner, "country": event.country,
              "kind": event.kind, "severity": event.severity, "state": "open",
              "started_at": to_naive_utc(event.started_at), "updated_at": to_naive_utc(event.at),
              "resolved_at": None, "peak": event.peak, "message": event.message, "collector": event.collector}
    columns = list(values)
    row = select(*[literal(v, alerts.c[k].type).label(k) for k, v in values.items()])
    stmt = insert(alerts).from_select(columns, row.where(~exists().where(_match(event))))
    # preserve_rowcount: SQLAlchemy promises rowcount for UPDATE and DELETE only; without it an INSERT's is -1 on
    # PostgreSQL (psycopg), and an opened alert would be taken for one that was already open.
    return conn.execute(stmt, execution_options={"preserve_rowcount": True}).rowcount


def _lock_alert_opening(conn: Connection) -> None:
    """On PostgreSQL, hold the alert lock until COMMIT, so a second writer's NOT EXISTS sees the first's row.

    SQLite has one writer at a time anyway. Under PostgreSQL's READ COMMITTED two transactions (a collector and a
    web worker's stale watcher) could otherwise both find no open alert and both insert one.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ALERT_LOCK_KEY})


def _change(conn: Connection, event) -> int:
    """Escalate, update or resolve the matching open alert; returns the number of rows changed."""
    values = {"severity": event.severity, "peak": event.peak, "updated_at": to_naive_utc(event.at),
              "message": event.message}
    if event.action == "resolve":
        values.update(state="resolved", resolved_at=to_naive_utc(event.at))
    return conn.execute(update(alerts).where(_match(event)).values(**values)).rowcount


def apply_events(target, events: Iterable) -> list:
    """Write events to the alerts table in one transaction; returns the events that changed a row.

    An 'open' for an alert that is already open, or a change to one that is no longer open, changes
    nothing and is left out of the result, so callers log and notify each change exactly once.
    """
    events = list(events)
    if not events:
        return []
    with _transaction(target) as conn:
        if any(e.action == "open" for e in events):
            _lock_alert_opening(conn)
        return [e for e in events if (_open(conn, e) if e.action == "open" else _change(conn, e)) > 0]


def load_open(engine: Engine, kinds: Iterable[str] | None = None) -> list[dict]:
    """Every open alert (optionally only these kinds) as dicts of the alerts table's columns, oldest first."""
    stmt = select(alerts).where(alerts.c.state == "open").order_by(alerts.c.started_at, alerts.c.id)
    if kinds is not None:
        stmt = stmt.where(alerts.c.kind.in_(list(kinds)))
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def acknowledge(target, alert_id: int, user: str, comment: str, at) -> str:
    """Mark an open alert acknowledged at its current severity: 'ok', 'missing' or 'not open'."""
    with _transaction(target) as conn:
        row = conn.execute(select(alerts.c.state, alerts.c.severity).where(alerts.c.id == alert_id)).first()
        if row is None:
            return "missing"
        if row.state != "open":
            return "not open"
        conn.execute(update(alerts).where(alerts.c.id == alert_id).values(
            acknowledged_by=user, acknowledged_at=to_naive_utc(at), ack_comment=comment, ack_severity=row.severity,
            updated_at=to_naive_utc(at)))  # a change like any other: read caches keyed on updated_at see it
    return "ok"


def acknowledged(engine: Engine, collector: str | None = None) -> dict[tuple, str]:
    """(server_id, kind) -> severity at acknowledgement, of every open acknowledged alert (of one collector's
    alerts when given: each vantage point's alert is acknowledged on its own)."""
    stmt = select(alerts.c.server_id, alerts.c.kind, alerts.c.ack_severity).where(
        alerts.c.state == "open", alerts.c.acknowledged_at.is_not(None))
    if collector is not None:
        stmt = stmt.where(alerts.c.collector == collector)
    with engine.connect() as conn:
        return {(r.server_id, r.kind): r.ack_severity for r in conn.execute(stmt)}


def open_alert_id(engine: Engine, server_id: str | None, kind: str, collector: str | None = None) -> int | None:
    """The id of the open alert of (server, kind), of one collector when given, if there is one."""
    stmt = select(alerts.c.id).where(alerts.c.state == "open", alerts.c.kind == kind, alerts.c.server_id == server_id)
    if collector is not None:
        stmt = stmt.where(alerts.c.collector == collector)
    with engine.connect() as conn:
        return conn.execute(stmt.order_by(alerts.c.id.desc())).scalar()


def store_path_snapshot(target, alert_id: int, report: str, at) -> None:
    """Keep the path report taken when the alert opened."""
    with _transaction(target) as conn:
        conn.execute(update(alerts).where(alerts.c.id == alert_id).values(
            path_snapshot=report, path_snapshot_at=to_naive_utc(at)))
