"""Storing each round, and the outage state /healthz and the dashboard show while the database refuses writes."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from collector.errors import error_text, write_hint
from storage.writer import Writer

log = logging.getLogger("collector.service")


class RoundStore:
    """Writes rounds and counts what was stored and what was lost; an outage is logged once, not every round."""

    def __init__(self, writer: Writer, name: str, now: Callable[[], datetime]):
        self.writer, self.name, self.now = writer, name, now
        self.last_round_at: datetime | None = None  # when the last round was stored
        self.rounds_run = 0  # rounds probed and stored
        self.rounds_lost = 0  # rounds probed but not stored (database read-only, disk full, ...)
        self.last_error: str | None = None  # why rounds cannot be stored right now; None while they are
        self.error_since: datetime | None = None  # when the current outage began
        self.outage_rounds = 0  # rounds lost since last_error was set

    def write(self, started_at: datetime, rows: list[dict], sip_rows: list[dict] | None = None) -> int | None:
        """Store the round (and its SIP rows, in the same transaction) and return its id; None when refused."""
        try:
            round_id = self.writer.write_round(self.name, started_at, self.now(), rows, sip_rows)
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop the probing
            self._failed(exc)
            return None
        self._recovered()
        self.last_round_at, self.rounds_run = self.now(), self.rounds_run + 1
        return round_id

    def storing(self) -> bool:
        """True once a round is stored and while rounds are stored."""
        return self.last_round_at is not None and self.last_error is None

    def _recovered(self) -> None:
        """A write went through: end the outage, if there was one, with a line saying what it cost."""
        if self.last_error is not None:
            log.warning("rounds are stored again; %d round(s) could not be stored during the outage (%s)",
                        self.outage_rounds, self.last_error)
        self.last_error, self.error_since, self.outage_rounds = None, None, 0

    def _failed(self, exc: Exception) -> None:
        """Record a failed write; the first of an outage is logged as an ERROR with its reason."""
        reason = error_text(exc)
        self.rounds_lost += 1
        self.outage_rounds += 1
        if self.last_error is None:
            self.error_since = self.now()
            # No per-round line while it lasts: the database handler could not store it either, and an
            # outage of hours would otherwise bury everything else in the log file.
            log.error("cannot store the round results: %s%s; probing goes on, but rounds are lost until the "
                      "database accepts writes again", reason, write_hint(reason), exc_info=True)
        else:
            log.debug("round not stored (%d in this outage): %s", self.outage_rounds, reason)
        self.last_error = reason
