"""Log lines from the logs table, newest first, filtered by minimum level, module, time and text; for the
dashboard's viewer, with the routine once-a-round INFO lines folded into one line per run."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import and_, func, literal, not_, select, union_all
from sqlalchemy.engine import Engine

from queries.filters import QueryError
from queries.querystring import without_nul
from storage.schema import logs
from common.timeutil import iso_z
from common.format import records

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


# INFO lines written every round whatever happens; the viewer folds each run of them into one line with a count,
# so the lines that need reading are not buried (the API still returns every line).
ROUTINE_PREFIXES = ("round finished",)
VIEWER_COLUMNS = ["id", "timestamp", "level", "module", "message", "server_id", "count", "first_timestamp"]


def _filtered(stmt, level: str | None, search: str | None):
    """stmt restricted to the lines at or above the level whose message contains the search text."""
    stmt = stmt.where(logs.c.level.in_(levels_at_least(level)))
    return stmt.where(logs.c.message.contains(search, autoescape=True)) if search else stmt


def _routine():
    """The SQL condition of a routine line."""
    return and_(logs.c.level == "INFO",
                *[logs.c.message.startswith(prefix, autoescape=True) for prefix in ROUTINE_PREFIXES])


def recent_logs(engine: Engine, limit: int = 10, level: str | None = None, module: str | None = None,
                since: datetime | None = None, search: str | None = None,
                server_id: str | None = None) -> pd.DataFrame:
    """Up to `limit` log rows matching the filters, newest first; `server_id`: only the lines stored as being
    about that server (logs.server_id), never lines that merely mention its address."""
    stmt = select(logs).where(logs.c.level.in_(levels_at_least(level)))
    module, search = (None if v is None else without_nul(name, v) for name, v in (("module", module), ("search", search)))
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


def _runs_stmt(bounds: list[tuple], level: str | None, search: str | None):
    """One aggregate row per (newer, older) time bound pair: how many routine lines fall between, the first and
    last of them, and the newest one's id; one statement of small index range scans, however long the runs."""
    parts = []
    for gap, (newer, older) in enumerate(bounds):
        stmt = _filtered(select(literal(gap).label("gap"), func.count().label("count"),
                                func.min(logs.c.timestamp).label("first_timestamp"),
                                func.max(logs.c.timestamp).label("timestamp"), func.max(logs.c.id).label("id"))
                         .where(_routine()), level, search)
        if newer is not None:
            stmt = stmt.where(logs.c.timestamp <= newer)
        if older is not None:
            stmt = stmt.where(logs.c.timestamp > older)
        parts.append(stmt)
    return union_all(*parts)


def viewer_logs(engine: Engine, limit: int = 100, level: str | None = None, search: str | None = None) -> pd.DataFrame:
    """The log viewer's lines, newest first: up to `limit` lines that are not routine, and between them each run
    of routine lines (ROUTINE_PREFIXES) as one row whose `count` says how many it stands for, from
    `first_timestamp` to `timestamp`, with the newest one's message. Every row has VIEWER_COLUMNS; count is 1
    for an ordinary line."""
    notable_stmt = _filtered(select(logs.c.id, logs.c.timestamp, logs.c.level, logs.c.module, logs.c.message,
                                    logs.c.server_id).where(not_(_routine())), level, search)
    with engine.connect() as conn:
        notable = pd.read_sql(notable_stmt.order_by(logs.c.timestamp.desc(), logs.c.id.desc()).limit(limit), conn)
        times = list(notable["timestamp"])
        # Runs newer than the newest line, between each two, and older than the oldest unless the limit cut there.
        edges = [None, *times, *([] if len(times) == limit else [None])]
        bounds = list(zip(edges[:-1], edges[1:])) if limit > 0 else []
        runs = pd.read_sql(_runs_stmt(bounds, level, search), conn) if bounds else pd.DataFrame()
        runs = runs[runs["count"] > 0] if not runs.empty else runs
        newest = (pd.read_sql(select(logs.c.id, logs.c.level, logs.c.module, logs.c.message, logs.c.server_id)
                              .where(logs.c.id.in_([int(i) for i in runs["id"]])), conn)
                  if not runs.empty else pd.DataFrame(columns=["id"]))
    notable = notable.assign(count=1, first_timestamp=notable["timestamp"])
    runs = runs.drop(columns="gap").merge(newest, on="id", how="left") if not runs.empty else runs
    frames = [f for f in (notable, runs) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=VIEWER_COLUMNS)
    out = pd.concat(frames, ignore_index=True).reindex(columns=VIEWER_COLUMNS)
    for column in ("timestamp", "first_timestamp"):
        out[column] = pd.to_datetime(out[column])
    return out.sort_values(["timestamp", "id"], ascending=False, ignore_index=True)


def log_records(df: pd.DataFrame) -> list[dict]:
    """recent_logs rows in the API's shape: id, timestamp (ISO 8601 Z), level, module, message."""
    rows = records(df)
    return [{"id": int(r["id"]), "timestamp": iso_z(r["timestamp"]), "level": r["level"],
             "module": r["module"], "message": r["message"]} for r in rows]
