"""The single writer: every insert goes through one Writer, serialised by its lock."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from storage.incidents import fold_rounds
from storage.rollups import add_rounds
from storage.schema import logs, ping_results, rounds
from common.timeutil import to_naive_utc


class Writer:
    """Owns the write engine; one per process so SQLite never sees two writers racing."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._lock = threading.Lock()
        self._local = threading.local()

    def writing_in_this_thread(self) -> bool:
        """True while this thread is inside a write (a nested write would deadlock on the lock)."""
        return getattr(self._local, "active", False)

    @contextmanager
    def transaction(self):
        """The lock, then one transaction; marks this thread as writing meanwhile."""
        with self._lock:
            self._local.active = True
            try:
                with self.engine.begin() as conn:
                    yield conn
            finally:
                self._local.active = False

    def write_round(self, collector: str, started_at: datetime, finished_at: datetime,
                    rows: list[dict]) -> int:
        """Store a round and its results in one transaction; returns the round id."""
        return self.write_rounds(collector, [(started_at, finished_at, rows)])[0]

    def write_rounds(self, collector: str, batch: list[tuple[datetime, datetime, list[dict]]]) -> list[int]:
        """Store several (started_at, finished_at, rows) rounds in one transaction; returns their ids."""
        # One COMMIT and one rollup fold for the batch: loading history (bench/generate.py) is bound by them.
        with self.transaction() as conn:
            round_ids = [_insert_round(conn, collector, *one) for one in batch]
            stored_ids = [rid for rid, stored in zip(round_ids, batch) if stored[2]]
            add_rounds(conn, stored_ids)
            fold_rounds(conn, stored_ids, [[_naive_timestamp(r) for r in rows] for _s, _f, rows in batch])
        return round_ids

    def checkpoint(self) -> tuple[int, int] | None:
        """Copy committed WAL pages into the database file now; (WAL frames, frames copied), None off SQLite."""
        # The collector calls this between rounds so a round's COMMIT rarely has to run the checkpoint
        # itself (SQLite's autocheckpoint, the fallback). PASSIVE never waits for readers: pages a reader
        # still needs are left for the next time.
        if self.engine.dialect.name != "sqlite":
            return None
        with self.transaction() as conn:
            _busy, frames, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return frames, copied

    def write_logs(self, entries: list[dict]) -> None:
        """Insert log rows (timestamp, level, message, module, traceback, collector)."""
        if not entries:
            return
        with self.transaction() as conn:
            conn.execute(insert(logs), [_naive_timestamp(e) for e in entries])


def _insert_round(conn, collector: str, started_at: datetime, finished_at: datetime, rows: list[dict]) -> int:
    """Insert one rounds row and its ping_results rows; returns the round id."""
    started_at, finished_at = to_naive_utc(started_at), to_naive_utc(finished_at)
    failures = sum(1 for r in rows if not r.get("success"))
    duration_ms = (finished_at - started_at).total_seconds() * 1000
    round_id = conn.execute(insert(rounds).values(
        collector=collector, started_at=started_at, finished_at=finished_at,
        duration_ms=duration_ms, servers=len(rows), failures=failures)).inserted_primary_key[0]
    if rows:
        conn.execute(insert(ping_results), [_result_row(r, round_id, collector) for r in rows])
    return round_id


def _naive_timestamp(row: dict) -> dict:
    """The row with its timestamp as naive UTC (SQLite would store an aware one's wall clock as is)."""
    if isinstance(row.get("timestamp"), datetime):
        return dict(row, timestamp=to_naive_utc(row["timestamp"]))
    return row


def _result_row(row: dict, round_id: int, collector: str) -> dict:
    """A ping_results row tied to its round and collector."""
    return dict(_naive_timestamp(row), round_id=round_id, collector=collector)
