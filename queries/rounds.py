"""The collector's own bookkeeping: the rounds table (when it last ran, how long it took, what failed)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from storage.schema import rounds


def last_round(engine: Engine) -> dict | None:
    """The most recently finished round (finished_at, started_at, duration_ms, servers, failures, collector)."""
    stmt = (select(rounds.c.finished_at, rounds.c.started_at, rounds.c.duration_ms, rounds.c.servers,
                   rounds.c.failures, rounds.c.collector)
            .order_by(rounds.c.finished_at.desc(), rounds.c.id.desc()).limit(1))
    with engine.connect() as conn:
        row = conn.execute(stmt).mappings().first()
    return dict(row) if row else None
