"""Log lines from the logs table, newest first, filtered by minimum level, module, time and text."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from queries.filters import QueryError
from storage.schema import logs
from common.timeutil import iso_z

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def levels_at_least(level: str | None) -> tuple[str, ...]:
    """The level names at or above a minimum level (case-insensitive); all when None."""
    if not level:
        return LEVELS
    name = level.strip().upper()
    if name == "WARN":
        name = "WARNING"
    if name not in LEVELS:
        raise QueryError("level", f"{level!r} is not one of {', '.join(l.lower() for l in LEVELS)}")
    return LEVELS[LEVELS.index(name):]


def recent_logs(engine: Engine, limit: int = 10, level: str | None = None, module: str | None = None,
                since: datetime | None = None, search: str | None = None,
                server_id: str | None = None) -> pd.DataFrame:
    """Up to `limit` log rows matching the filters, newest first; `server_id`: only the lines stored as being
    about that server (logs.server_id), never lines that merely mention its address."""
    stmt = select(logs).where(logs.c.level.in_(levels_at_least(level)))
    if server_id is not None:
        stmt = stmt.where(logs.c.server_id == server_id)
    if module:
        # autoescape: a % or _ in the name is matched literally, not as a LIKE wildcard.
        stmt = stmt.where(logs.c.module.startswith(module, autoescape=True))
    if since is not None:
        stmt = stmt.where(logs.c.timestamp >= since)
    if search:
        stmt = stmt.where(logs.c.message.contains(search, autoescape=True))
    stmt = stmt.order_by(logs.c.timestamp.desc(), logs.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn)


def log_records(df: pd.DataFrame) -> list[dict]:
    """recent_logs rows in the API's shape: id, timestamp (ISO 8601 Z), level, module, message."""
    rows = df.astype(object).where(df.notna(), None).to_dict("records")
    return [{"id": int(r["id"]), "timestamp": iso_z(r["timestamp"]), "level": r["level"],
             "module": r["module"], "message": r["message"]} for r in rows]
