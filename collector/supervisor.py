"""Notice a collector thread that died and start it again, with a log line; never silently gone."""
from __future__ import annotations

import logging

from collector.periodic import PeriodicWorker
from collector.service import Collector

log = logging.getLogger(__name__)


class Supervisor(PeriodicWorker):
    """A small thread that checks the collector every few seconds and restarts it after a crash."""

    thread_name = "collector-supervisor"

    def __init__(self, collector: Collector, interval_seconds: float = 5.0):
        self.collector = collector
        self.interval_seconds = interval_seconds
        self.restarts = 0

    def check_once(self) -> bool:
        """Restart the collector if it crashed; returns True when it did."""
        if not self.collector.crashed():
            return False
        self.restarts += 1
        reason = getattr(self.collector, "crash_reason", None) or "no reason recorded"
        log.error("collector thread died unexpectedly (%s); restarting it (restart %d)", reason, self.restarts)
        self.collector.start()
        return True


    def on_check_error(self) -> None:
        """The supervisor itself must keep watching."""
        log.exception("collector supervisor check failed")
