"""Compute once per change of the data: results keyed by the data stamp, shared by every request and viewer.

The data change once per round, yet 50 API clients or 10 dashboards each ask every few seconds; each result
is computed by the first request that needs it (others asking for the same key meanwhile wait for it, so a
new round does not start 50 identical 30-day queries) and kept until its key falls out of a small LRU.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable

DEFAULT_MAX_ENTRIES = 256


class ResultCache:
    """A thread-safe LRU of computed results with one builder per key at a time."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._building: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """The result for key, building it (once, whoever asks first) when it is not cached."""
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return self._entries[key]
                waiting = self._building.get(key)
                if waiting is None:
                    self._building[key] = threading.Event()
                    self.misses += 1
                    break
            waiting.wait()  # another request builds it; then look again (it may have failed)
        return self._build(key, build)

    def _build(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """Run build() for key, store the result, wake the waiters (also when build raises)."""
        try:
            value = build()
            with self._lock:
                self._entries[key] = value
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._building.pop(key).set()

    def clear(self) -> None:
        """Forget every result (a reloaded config changes what they show)."""
        with self._lock:
            self._entries.clear()
