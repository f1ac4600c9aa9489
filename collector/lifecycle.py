"""A loop on a daemon thread that can be started, stopped, restarted, and that says why it died."""
from __future__ import annotations

import logging
import threading

from collector.errors import error_text

# The collector's lines keep the one logger name the logs page, the docs and the tests filter on.
log = logging.getLogger("collector.service")


class LoopThread:
    """Runs _loop() on a daemon thread until stop(); start() and stop() are safe to repeat.

    Subclasses implement _loop(), which returns soon after _stop is set; on_start() and on_stop() run around
    the thread. A loop that raises ends the thread, and crash_reason says why (for the supervisor's restart).
    """

    thread_name = "loop"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.crash_reason: str | None = None  # why the thread last died

    def start(self):
        """Start the thread (no-op when it is already running)."""
        if self._thread and self._thread.is_alive():
            if not self._stop.is_set():
                return self
            self._thread.join()  # still finishing after a stop() that timed out: it would exit on its own
        self._stop.clear()
        self.on_start()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask the loop to end and wait for it (no-op when stopped)."""
        self._stop.set()
        thread = self._thread
        if thread and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)
        self.on_stop()

    def is_alive(self) -> bool:
        """True while the thread runs."""
        return bool(self._thread and self._thread.is_alive())

    def crashed(self) -> bool:
        """True when the thread was started, not asked to stop, and is gone anyway."""
        return self._thread is not None and not self._stop.is_set() and not self._thread.is_alive()

    def on_start(self) -> None:
        """Called by start() just before a new thread starts."""

    def on_stop(self) -> None:
        """Called by stop() once the thread ended (or the wait for it timed out)."""

    def _loop(self) -> None:
        """The thread's work; implemented by subclasses."""
        raise NotImplementedError

    def _run(self) -> None:
        """The thread's body: the loop, and a record of why it ended if anything escaped it."""
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - the supervisor restarts the thread; say why it died
            self.crash_reason = error_text(exc)
            log.error("%s thread died: %s", self.thread_name, self.crash_reason, exc_info=True)
