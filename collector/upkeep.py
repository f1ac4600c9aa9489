"""Work between rounds: fold the WAL into the database, and delete expired rows within a time budget."""
from __future__ import annotations

import logging
from typing import Callable

from collector.errors import error_text
from collector.storing import RoundStore
from storage.retention import prune
from storage.writer import Writer

log = logging.getLogger("collector.service")

# Retention runs in the slack between rounds: at most half of it, and at most PRUNE_BUDGET_SECONDS a round,
# so a backlog (a year of rows when retention is first turned on) is worked off over many rounds.
PRUNE_BUDGET_SECONDS = 1.0
PRUNE_MIN_BUDGET_SECONDS = 0.05  # less than this and the next round is too close: prune next time


class Upkeep:
    """Runs only while rounds are being stored: a failing database gets no checkpoints or deletes on top."""

    def __init__(self, writer: Writer, store: RoundStore, prune_rows: Callable[..., dict] = prune):
        self.writer, self.store, self.prune_rows = writer, store, prune_rows
        self._prune_failing = False

    def checkpoint(self) -> None:
        """Fold the round just written from the WAL into the database, outside any round's transaction."""
        if not self.store.storing():
            return
        try:
            self.writer.checkpoint()
        except Exception as exc:  # noqa: BLE001 - SQLite's autocheckpoint still runs at some later COMMIT
            log.debug("WAL checkpoint skipped: %s", error_text(exc))

    def prune_in_slack(self, retention: dict, slack_seconds: float, should_stop: Callable[[], bool]) -> None:
        """One budgeted retention step: delete expired rows in batches, log what went; should_stop ends it early."""
        budget_seconds = min(PRUNE_BUDGET_SECONDS, slack_seconds / 2)
        if budget_seconds < PRUNE_MIN_BUDGET_SECONDS or not self.store.storing():
            return
        try:
            # The last stored round's time stands in for now, so the horizons move with the rounds (and fake clocks).
            deleted = self.prune_rows(self.writer, retention, self.store.last_round_at, budget_seconds=budget_seconds,
                                      should_stop=should_stop)
        except Exception as exc:  # noqa: BLE001 - retention must never stop the measuring
            self._prune_failed(exc)
            return
        self._prune_failing = False
        if any(deleted.values()):
            log.info("retention: deleted %s", ", ".join(f"{n} {label}" for label, n in deleted.items() if n))

    def _prune_failed(self, exc: Exception) -> None:
        """Log a failed retention step: a WARNING the first time, DEBUG while it keeps failing."""
        reason = error_text(exc)
        if not self._prune_failing:
            log.warning("could not delete expired rows (%s); retrying between rounds", reason, exc_info=True)
        else:
            log.debug("retention still failing: %s", reason)
        self._prune_failing = True
