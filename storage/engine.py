"""Engines for the two SQLite roles: one writer, many read-only readers. Pragmas live here only."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(readonly: bool):
    """Return a connect hook that sets the pragmas every SQLite connection needs."""

    def on_connect(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        # Wait for a lock instead of failing with "database is locked": the writer's transactions
        # are short (one round), so a reader or a second writer only ever waits milliseconds.
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not readonly:
            # WAL lets the dashboard read while the collector writes; NORMAL sync is durable across
            # a process crash (kill -9) and only risks the last commit on power loss.
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    return on_connect


def is_sqlite(url: str) -> bool:
    """True when the URL names a SQLite database."""
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, readonly: bool = False) -> Engine:
    """Create an engine; for SQLite a read-only one opens the file with mode=ro."""
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True, future=True)
    path = make_url(url).database
    if path and path != ":memory:" and not readonly:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    if readonly and path and path != ":memory:":
        engine = create_engine(f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true")
    else:
        engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_pragmas(readonly))
    return engine
