"""A background check run every few seconds: the shape shared by the stale watcher, the config
watcher and the collector supervisor."""
from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class PeriodicWorker:
    """Calls check_once() every interval_seconds on a daemon thread; start() and stop() are safe twice.

    Subclasses set interval_seconds and implement check_once(); a check that raises is reported by
    on_check_error() and the worker keeps going.
    """

    thread_name = "periodic"
    check_on_start = False  # run a first check at once instead of after one interval
    interval_seconds: float = 5.0

    _stop: threading.Event | None = None
    _thread: threading.Thread | None = None

    def check_once(self):
        """One check; implemented by subclasses."""
        raise NotImplementedError

    def on_check_error(self) -> None:
        """Report a failed check (called inside the except block)."""
        log.exception("%s check failed", self.thread_name)

    def on_check_ok(self) -> None:
        """Called after a check that did not raise."""

    def start(self):
        """Start the thread (no-op when it already runs)."""
        if self.is_alive():
            return self
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to end and wait for it (no-op when stopped)."""
        if self._stop is not None:
            self._stop.set()
        thread = self._thread
        if thread and thread.is_alive() and thread is not threading.current_thread():
            thread.join(self.interval_seconds + 5 if timeout is None else timeout)

    def is_alive(self) -> bool:
        """True while the thread runs."""
        return bool(self._thread and self._thread.is_alive())

    def _loop(self) -> None:
        stop = self._stop
        if self.check_on_start:
            self._guarded_check()
        while not stop.wait(self.interval_seconds):
            self._guarded_check()

    def _guarded_check(self) -> None:
        try:
            self.check_once()
        except Exception:  # noqa: BLE001 - the worker must outlive any one failed check
            self.on_check_error()
        else:
            self.on_check_ok()
