"""Storing each round, and the outage state /healthz and the dashboard show while the database refuses writes."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Callable

from collector.errors import error_text, write_hint
from collector.spool import Spool
from storage.writer import Writer

log = logging.getLogger("collector.service")


class RoundStore:
    """Writes rounds, spooling those the database refuses and sending them in order once it takes writes again.

    An outage is logged once, not every round. Each round carries a globally unique id (collector name + UUID),
    so one resent after a crash between the remote COMMIT and the spool's delete is stored once.
    """

    def __init__(self, writer: Writer, name: str, now: Callable[[], datetime], spool: Spool | None = None,
                 heartbeat: Callable[[], dict] | None = None, new_uid: Callable[[], str] | None = None):
        self.writer, self.name, self.now = writer, name, now
        self.spool = spool  # None: a refused round is lost (as before the spool existed)
        self.heartbeat = heartbeat or (lambda: {})  # the collectors columns to write with each round
        self.new_uid = new_uid or (lambda: f"{name}:{uuid.uuid4()}")
        self.started_at: datetime | None = None  # the first round's start (collectors.started_at)
        self.last_round_at: datetime | None = None  # when the last round was stored
        self.rounds_run = 0  # rounds probed and stored
        self.rounds_lost = 0  # rounds probed and dropped (no spool, or the spool was full)
        self.last_error: str | None = None  # why rounds cannot be stored right now; None while they are
        self.error_since: datetime | None = None  # when the current outage began
        self.outage_rounds = 0  # rounds refused since last_error was set
        self._spool_failing = False

    @property
    def rounds_waiting(self) -> int:
        """Rounds in the spool, waiting for the database."""
        return self.spool.count() if self.spool is not None else 0

    def write(self, started_at: datetime, rows: list[dict], sip_rows: list[dict] | None = None) -> int | None:
        """Store the round and its SIP rows (after any spooled ones, in order) and return its id; None when spooled."""
        uid, finished_at = self.new_uid(), self.now()
        self.started_at = self.started_at or started_at
        try:
            self._send_spooled()
            round_id = self._store(uid, started_at, finished_at, rows, sip_rows)
        except Exception as exc:  # noqa: BLE001 - a full disk or a lost link must not stop the probing
            self._failed(exc)
            self._keep(uid, started_at, finished_at, rows, sip_rows)
            return None
        self._recovered()
        self.last_round_at, self.rounds_run = self.now(), self.rounds_run + 1
        return round_id

    def _store(self, uid: str, started_at: datetime, finished_at: datetime, rows: list[dict],
               sip_rows: list[dict] | None = None) -> int:
        """One round and its SIP rows, with this collector's heartbeat, in one transaction."""
        beat = {"started_at": self.started_at, "last_round_at": finished_at, "servers_probed": len(rows),
                "last_error": None, "rounds_waiting": self.rounds_waiting, **self.heartbeat()}
        return self.writer.write_round(self.name, started_at, finished_at, rows, sip_rows, uid=uid, heartbeat=beat)

    def _send_spooled(self) -> None:
        """Send every waiting round, oldest first; each leaves the spool only once the database committed it."""
        while self.spool is not None and (waiting := self.spool.oldest()) is not None:
            seq, uid, started_at, finished_at, rows, sip_rows = waiting
            self._store(uid, started_at, finished_at, rows, sip_rows)
            self.spool.remove(seq)
            self.rounds_run += 1

    def _keep(self, uid: str, started_at: datetime, finished_at: datetime, rows: list[dict],
              sip_rows: list[dict] | None = None) -> None:
        """Spool a refused round (with its SIP rows); without a spool (or if it cannot be written either) it is lost."""
        if self.spool is None:
            self.rounds_lost += 1
            return
        try:
            before = self.spool.dropped
            self.spool.add(uid, started_at, finished_at, rows, sip_rows)
            self.rounds_lost += self.spool.dropped - before
        except Exception as exc:  # noqa: BLE001 - e.g. the spool sits on the same full disk
            self.rounds_lost += 1
            if not self._spool_failing:  # once per outage, like the write failure itself
                log.error("cannot spool the round either (%s: %s); refused rounds are lost until the database or "
                          "the spool accepts writes again", self.spool.path, error_text(exc))
            self._spool_failing = True

    def storing(self) -> bool:
        """True once a round is stored and while rounds are stored."""
        return self.last_round_at is not None and self.last_error is None

    def _recovered(self) -> None:
        """A write went through: end the outage, if there was one, with a line saying what it cost."""
        if self.last_error is not None:
            log.warning("rounds are stored again; %d round(s) of the outage were spooled and have been sent (%s)",
                        self.outage_rounds, self.last_error)
        self.last_error, self.error_since, self.outage_rounds = None, None, 0
        self._spool_failing = False

    def _failed(self, exc: Exception) -> None:
        """Record a failed write; the first of an outage is logged as an ERROR with its reason."""
        reason = error_text(exc)
        self.outage_rounds += 1
        if self.last_error is None:
            self.error_since = self.now()
            # No per-round line while it lasts: the database handler could not store it either, and an
            # outage of hours would otherwise bury everything else in the log file.
            log.error("cannot store the round results: %s%s; probing goes on, and rounds wait in %s until the "
                      "database accepts writes again", reason, write_hint(reason),
                      self.spool.path if self.spool is not None else "memory (no spool: they are lost)",
                      exc_info=True)
        else:
            log.debug("round not stored (%d in this outage): %s", self.outage_rounds, reason)
        self.last_error = reason
