"""The fixed cadence rounds start on."""
from __future__ import annotations

import logging
import math

log = logging.getLogger("collector.service")


def next_slot(previous: float, interval_seconds: float, now: float) -> float:
    """The next start on the grid previous + k * interval after now; slots a long round overran are skipped."""
    # A round that ends exactly on the next slot has not overrun it: start that slot at once.
    slots = max(1, math.ceil((now - previous) / interval_seconds))
    if slots > 1:
        log.warning("round overran its interval; skipped %d scheduled round(s)", slots - 1)
    return previous + slots * interval_seconds
