"""Alerts for the API and the dashboard: open, resolved or all, filtered like every other view."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine

from queries.filters import Filters, QueryError
from storage.schema import alerts

STATES = ("open", "resolved", "all")
DEFAULT_LIMIT = 1000


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
        stmt = _where_window(_where_subject(stmt, filters), filters)
    stmt = stmt.order_by(alerts.c.started_at.desc(), alerts.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    for column in ("started_at", "updated_at", "resolved_at"):
        df[column] = pd.to_datetime(df[column])
    return df
