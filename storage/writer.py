"""The single writer: every insert goes through one Writer, serialised by its lock."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.engine import Engine

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
            round_ids = _insert_rounds(conn, collector, batch)
            add_rounds(conn, [rid for rid, stored in zip(round_ids, batch) if stored[2]])
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


def _round_record(collector: str, started_at: datetime, finished_at: datetime, rows: list[dict]) -> dict:
    """The rounds row of one round."""
    started_at, finished_at = to_naive_utc(started_at), to_naive_utc(finished_at)
    return {"collector": collector, "started_at": started_at, "finished_at": finished_at,
            "duration_ms": (finished_at - started_at).total_seconds() * 1000, "servers": len(rows),
            "failures": sum(1 for r in rows if not r.get("success"))}


def _insert_rounds(conn, collector: str, batch: list[tuple[datetime, datetime, list[dict]]]) -> list[int]:
    """Insert the rounds rows and then all their ping_results rows; returns the round ids in batch order."""
    # Two statements for the whole batch, whatever its size: on PostgreSQL each statement is a round trip to the
    # server, so a statement per round made loading history three times slower than on SQLite.
    records = [_round_record(collector, *one) for one in batch]
    if len(records) <= 1 or not conn.dialect.insert_executemany_returning_sort_by_parameter_order:
        # One round (the collector's case), or a SQLite older than 3.35 (no RETURNING): a statement per round.
        round_ids = [conn.execute(insert(rounds).values(record)).inserted_primary_key[0] for record in records]
    else:
        # sort_by_parameter_order: the ids come back in the order of the records, as the rows below need.
        returning = insert(rounds).returning(rounds.c.id, sort_by_parameter_order=True)
        round_ids = list(conn.execute(returning, records).scalars())
    rows = [_result_row(result, round_id, collector)
            for round_id, (_started, _finished, results) in zip(round_ids, batch) for result in results]
    if rows:
        conn.execute(insert(ping_results), rows)
    return round_ids


def _naive_timestamp(row: dict) -> dict:
    """The row with its timestamp as naive UTC (SQLite would store an aware one's wall clock as is)."""
    if isinstance(row.get("timestamp"), datetime):
        return dict(row, timestamp=to_naive_utc(row["timestamp"]))
    return row


def _result_row(row: dict, round_id: int, collector: str) -> dict:
    """A ping_results row tied to its round and collector."""
    return dict(_naive_timestamp(row), round_id=round_id, collector=collector)
