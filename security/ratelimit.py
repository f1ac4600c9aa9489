"""Counting failed logins per key (client IP, user name) in a sliding window, in memory.

Why not flask-limiter: it limits requests per route, while this must count only *failures* and
lock two keys at once (the IP and the user name) from inside the login view; that needs a
decrement-on-success workaround there, plus a storage backend. A small locked dict of timestamps
does exactly this, and its clock is injectable so tests need not sleep. The counts live in one
process: with several worker processes each keeps its own (the limit is then per worker).
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Callable, Iterable

# An attacker trying random user names creates keys; past this many, expired ones are swept.
SWEEP_AT_KEYS = 10_000


class FailureLimiter:
    """Thread-safe: at most `limit` failures per key within `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, keys: Iterable[str]) -> int:
        """Seconds until every key may try again; 0 when none is locked."""
        now = self.clock()
        with self._lock:
            waits = [self._wait(key, now) for key in keys]
        return max(waits, default=0)

    def record_failure(self, keys: Iterable[str]) -> None:
        """Count one failure against each key."""
        now = self.clock()
        with self._lock:
            for key in keys:
                self._prune(key, now)
                self._failures.setdefault(key, deque()).append(now)
            if len(self._failures) > SWEEP_AT_KEYS:
                self._sweep(now)

    def reset(self, key: str) -> None:
        """Forget a key's failures (after a successful login)."""
        with self._lock:
            self._failures.pop(key, None)

    def _wait(self, key: str, now: float) -> int:
        """Seconds until `key` drops below the limit (lock held)."""
        times = self._prune(key, now)
        if len(times) < self.limit:
            return 0
        # The attempt is allowed again once enough of the oldest failures have left the window.
        oldest_that_must_expire = times[len(times) - self.limit]
        return max(1, math.ceil(oldest_that_must_expire + self.window - now))

    def _prune(self, key: str, now: float) -> deque[float]:
        """Drop a key's failures older than the window; returns what is left (lock held)."""
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            self._failures.pop(key, None)
        return times

    def _sweep(self, now: float) -> None:
        """Drop every key whose failures have all expired (lock held)."""
        for key in list(self._failures):
            self._prune(key, now)
