"""A local SQLite file holding rounds while the database refuses them, sent in order once it is back."""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from datetime import datetime

log = logging.getLogger("collector.service")

_DT = "__datetime__"


def _encode(value):
    """JSON hook: datetimes as tagged ISO strings (round rows hold their timestamp as a datetime)."""
    if isinstance(value, datetime):
        return {_DT: value.isoformat()}
    raise TypeError(f"cannot spool a {type(value).__name__}")


def _decode(obj: dict):
    """JSON hook: tagged ISO strings back to datetimes."""
    return datetime.fromisoformat(obj[_DT]) if set(obj) == {_DT} else obj


def default_spool_path(config, name: str = "collector") -> str:
    """spool_path; else beside a SQLite database (<database_path>.spool); else collector-spool-<name>.db beside
    the config file (the working folder for a config not read from a file)."""
    if config.spool_path:
        return config.spool_path
    if not config.database_url and config.database_path:
        return f"{config.database_path}.spool"
    folder = os.path.dirname(os.path.abspath(config.source)) if os.path.isfile(str(config.source)) else os.getcwd()
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return os.path.join(folder, f"collector-spool-{safe}.db")


class Spool:
    """Rounds waiting to be stored, oldest first; at most max_rounds, the oldest dropped past that."""

    def __init__(self, path: str, max_rounds: int = 10000):
        self.path, self.max_rounds = path, max_rounds
        self._lock = threading.Lock()
        self.dropped = 0  # rounds dropped since start because the spool was full
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("CREATE TABLE IF NOT EXISTS spooled (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                           "uid TEXT NOT NULL UNIQUE, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, "
                           "rows TEXT NOT NULL, sip_rows TEXT)")
        if "sip_rows" not in {c[1] for c in self._conn.execute("PRAGMA table_info(spooled)")}:
            self._conn.execute("ALTER TABLE spooled ADD COLUMN sip_rows TEXT")  # a spool from before SIP rows

    def add(self, uid: str, started_at: datetime, finished_at: datetime, rows: list[dict],
            sip_rows: list[dict] | None = None) -> None:
        """Keep one round (and its SIP rows); past max_rounds drop the oldest, with one ERROR line per overflow."""
        with self._lock:
            self._conn.execute("INSERT OR IGNORE INTO spooled (uid, started_at, finished_at, rows, sip_rows) "
                               "VALUES (?,?,?,?,?)",
                               (uid, started_at.isoformat(), finished_at.isoformat(), json.dumps(rows, default=_encode),
                                json.dumps(sip_rows or [], default=_encode)))
            excess = self._count() - self.max_rounds
            if excess > 0:
                self._conn.execute("DELETE FROM spooled WHERE seq IN (SELECT seq FROM spooled ORDER BY seq LIMIT ?)",
                                   (excess,))
                if not self.dropped:
                    log.error("the round spool %s is full (%d rounds, spool_max_rounds); the oldest rounds are "
                              "dropped until the database accepts writes again", self.path, self.max_rounds)
                self.dropped += excess

    def oldest(self) -> tuple[int, str, datetime, datetime, list[dict], list[dict]] | None:
        """(seq, uid, started_at, finished_at, rows, sip_rows) of the oldest waiting round, or None."""
        with self._lock:
            row = self._conn.execute("SELECT seq, uid, started_at, finished_at, rows, sip_rows FROM spooled "
                                     "ORDER BY seq LIMIT 1").fetchone()
        if row is None:
            return None
        seq, uid, started, finished, rows, sip_rows = row
        return (seq, uid, datetime.fromisoformat(started), datetime.fromisoformat(finished),
                json.loads(rows, object_hook=_decode), json.loads(sip_rows or "[]", object_hook=_decode))

    def remove(self, seq: int) -> None:
        """Forget a round once the database has committed it."""
        with self._lock:
            self._conn.execute("DELETE FROM spooled WHERE seq = ?", (seq,))

    def count(self) -> int:
        """How many rounds wait."""
        with self._lock:
            return self._count()

    def _count(self) -> int:
        return self._conn.execute("SELECT count(*) FROM spooled").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
