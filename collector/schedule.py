"""The fixed cadence rounds start on: a grid of slots, and the loop that keeps to it."""
from __future__ import annotations

import logging
import math
from typing import Callable, Protocol

log = logging.getLogger("collector.service")


class StopFlag(Protocol):
    """What the loop needs of its stop signal (a threading.Event; tests pass one that steps a fake clock)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool: ...


def next_slot(previous: float, interval_seconds: float, now: float) -> float:
    """The next start on the grid previous + k * interval after now; slots a long round overran are skipped."""
    # A round that ends exactly on the next slot has not overrun it: start that slot at once.
    slots = max(1, math.ceil((now - previous) / interval_seconds))
    if slots > 1:
        log.warning("round overran its interval; skipped %d scheduled round(s)", slots - 1)
    return previous + slots * interval_seconds


def run_on_cadence(run_round: Callable[[], object], between_rounds: Callable[[float], None],
                   interval_seconds: Callable[[], float], clock: Callable[[], float], stop: StopFlag) -> None:
    """Call run_round() on a fixed grid until stop is set; between_rounds(next_start) runs in the slack after each.

    interval_seconds() is asked after every round, so a reloaded config can change the cadence.
    """
    next_start = clock()
    while not stop.is_set():
        try:
            run_round()
        except Exception:  # noqa: BLE001 - one bad round must not end monitoring
            log.exception("round failed")
        next_start = next_slot(next_start, interval_seconds(), clock())
        between_rounds(next_start)
        stop.wait(max(0.0, next_start - clock()))
