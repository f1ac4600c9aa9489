"""One collector per database: an exclusive file lock that the app and pinger.py both take."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from settings import Config
from storage.engine import is_sqlite


def collector_lock_path(config: Config, base_dir: Path) -> Path:
    """Where the one-collector-per-database lock lives: beside the SQLite file, else in the config folder."""
    url = config.database_target(base_dir)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            return Path(database).with_name(Path(database).name + ".collector.lock")
    return base_dir / ".collector.lock"


class SingleInstanceLock:
    """An exclusive file lock so only one process (worker, reloader child) runs the collector."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock up (safe to call twice)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
