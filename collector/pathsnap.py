"""One path report (mtr, else traceroute) of a server whose down or packet-loss alert just opened.

It runs on a small thread pool of its own, never on the round's thread, and each run is bounded by a
timeout, so a slow or hanging path tool delays nothing. The report is stored with the alert because the
first question about an outage is "where on the path?".
"""
from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

log = logging.getLogger(__name__)
SNAPSHOT_KINDS = ("down", "loss")
DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_QUEUED = 32  # a mass outage must not queue hundreds of mtr runs: later ones are skipped and logged


def path_command(host: str, which: Callable[[str], str | None] = shutil.which, cycles: int = 3) -> list[str] | None:
    """The command that reports the path to host: mtr --report (numeric), or traceroute; None when neither exists."""
    mtr = which("mtr")
    if mtr:
        return [mtr, "--report", "--report-wide", "--no-dns", "--report-cycles", str(cycles), "--", host]
    traceroute = which("traceroute")
    if traceroute:
        return [traceroute, "-n", "-q", "1", "-w", "2", "-m", "30", "--", host]
    return None


def take_snapshot(host: str, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                  which: Callable[[str], str | None] = shutil.which, run=subprocess.run) -> str:
    """The report text (the tool's name on the first line); an explanation instead when it could not run."""
    command = path_command(host, which)
    if command is None:
        return "no path tool: install mtr-tiny (or traceroute)"
    head = " ".join(command)
    try:
        done = run(command, capture_output=True, text=True, timeout=timeout_seconds)
    except subprocess.TimeoutExpired as exc:
        partial = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return f"$ {head}\n(timed out after {timeout_seconds:g} s)\n{partial}"
    except OSError as exc:
        return f"$ {head}\n(could not run: {exc})"
    text = done.stdout + (f"\n{done.stderr.strip()}" if done.returncode and done.stderr.strip() else "")
    return f"$ {head}\n{text}".rstrip() + "\n"


class PathSnapshotter:
    """Takes snapshots on its own threads and hands each report to a callback."""

    def __init__(self, workers: int = 2, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 snapshot: Callable[..., str] = take_snapshot):
        self.timeout_seconds = timeout_seconds
        self.snapshot = snapshot
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="path-snapshot")
        self._lock = threading.Lock()
        self._queued = 0

    def submit(self, host: str, on_done: Callable[[str], None]) -> bool:
        """Queue one snapshot of host; False (and a log line) when too many are already waiting."""
        with self._lock:
            if self._queued >= MAX_QUEUED:
                log.warning("path snapshot of %s skipped: %d already queued", host, self._queued)
                return False
            self._queued += 1
        self._pool.submit(self._run, host, on_done)
        return True

    def _run(self, host: str, on_done: Callable[[str], None]) -> None:
        try:
            on_done(self.snapshot(host, self.timeout_seconds))
        except Exception:  # noqa: BLE001 - a failed snapshot must not end the pool's thread
            log.exception("path snapshot of %s failed", host)
        finally:
            with self._lock:
                self._queued -= 1

    def wait_idle(self, timeout: float) -> bool:
        """Block until no snapshot is queued or running (for tests and clean stops)."""
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._queued == 0:
                    return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        """Stop taking snapshots; a running one finishes (it is bounded by its timeout)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
