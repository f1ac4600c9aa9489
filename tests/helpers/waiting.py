"""The one polling wait of the suite: tests wait on a condition, never on a fixed amount of time."""
from __future__ import annotations

import time


def wait_for(predicate, what: str = "condition", timeout: float = 30, interval_seconds: float = 0.05):
    """Poll predicate() until it returns something truthy and return that; fail naming `what` after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval_seconds)
