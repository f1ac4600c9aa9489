"""Notice a collector thread that died and start it again, with a log line; never silently gone."""
from __future__ import annotations

import logging
import threading

from collector.service import Collector

log = logging.getLogger(__name__)


class Supervisor:
    """A small thread that checks the collector every few seconds and restarts it after a crash."""

    def __init__(self, collector: Collector, interval_seconds: float = 5.0):
        self.collector = collector
        self.interval_seconds = interval_seconds
        self.restarts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> bool:
        """Restart the collector if it crashed; returns True when it did."""
        if not self.collector.crashed():
            return False
        self.restarts += 1
        reason = getattr(self.collector, "crash_reason", None) or "no reason recorded"
        log.error("collector thread died unexpectedly (%s); restarting it (restart %d)", reason, self.restarts)
        self.collector.start()
        return True

    def start(self) -> "Supervisor":
        """Start watching (no-op when already watching)."""
        if self._thread and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="collector-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching (safe twice); does not stop the collector."""
        self._stop.set()
        if self._thread and self._thread.is_alive():
            self._thread.join(self.interval_seconds + 1)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                self.check_once()
            except Exception:  # noqa: BLE001 - the watcher itself must keep watching
                log.exception("collector supervisor check failed")
