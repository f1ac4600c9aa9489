"""What one running app shares between its routes and callbacks: config, engines, writer, collector."""
from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy.engine import Engine

from collector.config import Config
from collector.service import Collector
from storage.engine import is_sqlite, make_engine
from storage.writer import Writer

log = logging.getLogger(__name__)
EXTENSION_KEY = "latency_monitor"


@dataclass
class Runtime:
    """The app's shared objects; routes and callbacks reach it with get_runtime()."""

    config: Config
    base_dir: Path
    writer: Writer
    read_engine: Engine
    collector: Collector | None = None
    extras: dict = field(default_factory=dict)


def get_runtime() -> Runtime:
    """The Runtime of the Flask app handling the current request or callback."""
    return current_app.extensions[EXTENSION_KEY]


def read_engine_for(url: str) -> Engine:
    """Readers get their own engine; on SQLite it is read-only so a reader can never write."""
    return make_engine(url, readonly=is_sqlite(url))


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
