"""The single writer: every insert goes through one Writer, serialised by its lock."""
from __future__ import annotations

import threading
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from storage.schema import logs, ping_results, rounds


class Writer:
    """Owns the write engine; one per process so SQLite never sees two writers racing."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._lock = threading.Lock()

    def write_round(self, collector: str, started_at: datetime, finished_at: datetime,
                    rows: list[dict]) -> int:
        """Store a round and its results in one transaction; returns the round id."""
        failures = sum(1 for r in rows if not r.get("success"))
        duration_ms = (finished_at - started_at).total_seconds() * 1000
        with self._lock, self.engine.begin() as conn:
            round_id = conn.execute(insert(rounds).values(
                collector=collector, started_at=started_at, finished_at=finished_at,
                duration_ms=duration_ms, servers=len(rows), failures=failures)).inserted_primary_key[0]
            if rows:
                conn.execute(insert(ping_results), [dict(r, round_id=round_id, collector=collector) for r in rows])
        return round_id

    def write_logs(self, entries: list[dict]) -> None:
        """Insert log rows (timestamp, level, message, module, traceback, collector)."""
        if not entries:
            return
        with self._lock, self.engine.begin() as conn:
            conn.execute(insert(logs), entries)
