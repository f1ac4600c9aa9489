"""Engines for the two SQLite roles: one writer, many read-only readers. Pragmas live here only."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

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
            _use_wal(cur)
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    return on_connect


def _use_wal(cur) -> None:
    """Switch the file to WAL, retrying while another connection holds a lock."""
    # The switch ignores busy_timeout: when several processes open a new file at once it can fail at once
    # with "database is locked", so retry for as long as busy_timeout would have waited.
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


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
        # An SQLite URI filename: "?", "#" and "%" in the path must be percent-escaped.
        uri_path = quote(str(Path(path).resolve()), safe="/")
        url_ro = URL.create("sqlite", database=f"file:{uri_path}", query={"mode": "ro", "uri": "true"})
        engine = create_engine(url_ro)
    else:
        engine = create_engine(url)
    event.listen(engine, "connect", _sqlite_pragmas(readonly))
    return engine
