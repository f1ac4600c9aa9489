"""Engines for the two roles, one writer and many read-only readers, on SQLite or PostgreSQL. Pragmas live here only.

SQLITE_PROTOCOL ("locking protocol"): in WAL mode a connection that starts a read transaction takes a
read-mark lock in the -shm file; when it keeps losing that race (another connection or process holds the
read-mark locks, e.g. a checkpointer or many readers starting at once on a starved CPU) SQLite backs off
about 100 times over ~10 s and then gives up with SQLITE_PROTOCOL. Unlike SQLITE_BUSY that error never
goes through busy_timeout, so without help a reader gets a 500 and a round is lost. Every SQLite
connection made here is therefore a RetryingConnection: a statement that failed with SQLITE_PROTOCOL
before changing anything, and a COMMIT that failed while its transaction is still open, are retried.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 10_000
# SQLite already spends ~10 s on each SQLITE_PROTOCOL; three more tries cover a stall of ~40 s.
PROTOCOL_RETRIES = 3
RETRY_PAUSE_SECONDS = 0.05
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_PROTOCOL = 5, 6, 15
WAL_AUTOCHECKPOINT_PAGES = 10_000
JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
WRITER_CACHE_KIB = 32 * 1024


def _code(exc: sqlite3.Error) -> int | None:
    """The primary SQLite result code of an error (the extended code's low byte)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def lost_lock_race(exc: BaseException) -> bool:
    """True for SQLITE_PROTOCOL, the WAL lock race SQLite gave up on without calling the busy handler."""
    return isinstance(exc, sqlite3.OperationalError) and (_code(exc) == SQLITE_PROTOCOL
                                                          or "locking protocol" in str(exc))


def _retry(attempt, is_retryable) -> object:
    """Run attempt(); on a retryable error try again, up to PROTOCOL_RETRIES more times."""
    for tries in range(PROTOCOL_RETRIES + 1):
        try:
            return attempt()
        except sqlite3.OperationalError as exc:
            if tries == PROTOCOL_RETRIES or not is_retryable(exc):
                raise
            log.warning("SQLite %s; retrying (%d of %d)", exc, tries + 1, PROTOCOL_RETRIES)
            time.sleep(RETRY_PAUSE_SECONDS * (tries + 1))
    raise AssertionError("unreachable")


class RetryingCursor(sqlite3.Cursor):
    """A cursor whose statements survive SQLITE_PROTOCOL when retrying cannot apply anything twice."""

    def execute(self, sql, parameters=()):
        """Cursor.execute, retried after a lost WAL lock race that changed nothing."""
        return self._guarded(super().execute, sql, parameters)

    def executemany(self, sql, seq_of_parameters):
        """Cursor.executemany, retried only when no row of it was applied before the failure."""
        rows = list(seq_of_parameters)  # an iterator would be used up by the failed try
        return self._guarded(super().executemany, sql, rows)

    def _guarded(self, run, sql, parameters):
        conn = self.connection
        before = (conn.total_changes, conn.in_transaction)

        def safe_to_repeat(exc: sqlite3.OperationalError) -> bool:
            # Nothing of this call was applied (total_changes unchanged) and no earlier statement of the
            # transaction was rolled back with it (a transaction open before must still be open).
            unchanged = conn.total_changes == before[0] and (conn.in_transaction or not before[1])
            return lost_lock_race(exc) and unchanged

        return _retry(lambda: run(sql, parameters), safe_to_repeat)


class RetryingConnection(sqlite3.Connection):
    """sqlite3.Connection with RetryingCursor cursors and a COMMIT retried while its transaction is open."""

    def cursor(self, factory=RetryingCursor):
        """A RetryingCursor unless another factory is asked for."""
        return super().cursor(factory)

    def commit(self):
        """COMMIT; a lost lock race or a busy lock leaves the transaction open, so COMMIT again."""
        def still_open(exc: sqlite3.OperationalError) -> bool:
            return (lost_lock_race(exc) or _code(exc) in (SQLITE_BUSY, SQLITE_LOCKED)) and self.in_transaction

        return _retry(super().commit, still_open)


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
            _size_for_rounds(cur)
            cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    return on_connect


def _size_for_rounds(cur) -> None:
    """Cache and WAL sizes for the writer, whose rounds touch one index leaf per server."""
    # A 1,000-server round dirties ~3.4 MB of pages (a leaf of ix_ping_results_server_time and of the rollup
    # keys per server). With SQLite's default autocheckpoint of 1,000 pages (4 MB) nearly every COMMIT also
    # copied the WAL back into the database inside the round's write. The collector checkpoints between
    # rounds instead (Writer.checkpoint); the raised autocheckpoint is only the fallback, and the size limit
    # truncates the WAL after a checkpoint.
    cur.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    cur.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES}")
    # Keep those leaves in the writer's own cache between rounds instead of re-reading them each minute.
    cur.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")


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


def is_postgresql(url: str) -> bool:
    """True when the URL names a PostgreSQL database (any driver)."""
    return make_url(url).get_backend_name() == "postgresql"


def _server_engine(url: str, readonly: bool) -> Engine:
    """An engine on a database server; on PostgreSQL a read-only one starts every transaction READ ONLY."""
    connect_args = {}
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        # A bare postgresql:// means psycopg2 to SQLAlchemy; the pinned driver is psycopg (3).
        parsed = parsed.set(drivername="postgresql+psycopg")
    if is_postgresql(url):
        # The SQLite readers' mode=ro on PostgreSQL: the server refuses any write in a read-only transaction
        # ("cannot execute INSERT in a read-only transaction"), whatever the role may do. A role's grants are the
        # second fence (docs/postgresql.md). application_name tells the two apart in pg_stat_activity.
        connect_args = {"application_name": "latency-monitor-" + ("reader" if readonly else "writer")}
        if readonly:
            connect_args["options"] = "-c default_transaction_read_only=on"
    # pre_ping: a server restart or a dropped connection costs one retry at checkout instead of a failed request.
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)


def make_engine(url: str, readonly: bool = False) -> Engine:
    """Create an engine; a read-only one opens a SQLite file with mode=ro and runs PostgreSQL sessions read-only."""
    if not is_sqlite(url):
        return _server_engine(url, readonly)
    path = make_url(url).database
    if path and path != ":memory:" and not readonly:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    if readonly and path and path != ":memory:":
        # An SQLite URI filename: "?", "#" and "%" in the path must be percent-escaped.
        uri_path = quote(str(Path(path).resolve()), safe="/")
        url_ro = URL.create("sqlite", database=f"file:{uri_path}", query={"mode": "ro", "uri": "true"})
        engine = create_engine(url_ro, connect_args={"factory": RetryingConnection})
    else:
        engine = create_engine(url, connect_args={"factory": RetryingConnection})
    event.listen(engine, "connect", _sqlite_pragmas(readonly))
    return engine
