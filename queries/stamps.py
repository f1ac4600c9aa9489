"""What changes the data a view shows, read in one cheap query: the newest round and the alerts' last change.

Every stored round has a new id in `rounds` (retention deletes only between rounds), and every alert change
bumps alerts.updated_at or the count, so equal stamps mean every read route would answer the same."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from storage.schema import alerts, rounds


def data_stamp(engine: Engine) -> tuple:
    """(newest round id, number of alerts, newest alert change): one index lookup each."""
    stmt = select(select(func.max(rounds.c.id)).scalar_subquery(), select(func.count()).select_from(alerts)
                  .scalar_subquery(), select(func.max(alerts.c.updated_at)).scalar_subquery())
    with engine.connect() as conn:
        newest, count, changed = conn.execute(stmt).one()
    return newest, int(count or 0), str(changed)
