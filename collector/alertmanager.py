"""The collector's side of alerting: evaluate each round, store the changes, log them, notify."""
from __future__ import annotations

import logging
import socket
from datetime import datetime
from typing import Callable, Iterable

from collector.alerts import (CONNECTIVITY, STALE, AlertEngine,
                              AlertEvent, rules_from_config)
from settings import Config, Server
from collector.measure import Measurement
from storage.alertstore import SHARED_KINDS, apply_events, load_open
from common.timeutil import to_naive_utc, utcnow
from storage.writer import Writer

log = logging.getLogger("collector.alerts")


def log_event(event: AlertEvent, logger: logging.Logger = log) -> None:
    """One line per alert change: WARNING/ERROR (by severity) on open and escalate, INFO on resolve."""
    if event.action == "resolve":
        logger.info("alert resolved: %s", event.message)
    elif event.action in ("open", "escalate"):
        level = logging.ERROR if event.severity == "critical" else logging.WARNING
        logger.log(level, "alert %s: %s", "opened" if event.action == "open" else "escalated", event.message)
    else:  # 'update' (a worse peak) happens many times and is visible in the alerts table
        logger.debug("alert updated: %s", event.message)


def publish(events: list[AlertEvent], notifier=None, logger: logging.Logger = log) -> None:
    """Log every stored change and hand it to the notifier (which queues and returns at once)."""
    for event in events:
        log_event(event, logger)
    if notifier is not None and events:
        notifier.submit(events)


def control_servers(config: Config) -> tuple[Server, ...]:
    """The `control_targets` hosts as Servers to probe each round (measured for on_round, never stored)."""
    # tcp needs a port per host; control targets are bare hosts, so they use ping/fping.
    probe = "auto" if config.probe == "tcp" else config.probe
    return tuple(Server(partner="control target", country="-", ip=host, dn_ext="", probe=probe)
                 for host in config.control_targets)


def _retired_event(row: dict, at: datetime, collector: str) -> AlertEvent:
    """A resolve for an open alert whose server or condition is no longer in the config."""
    return AlertEvent(action="resolve", kind=row["kind"], condition=row["kind"], severity=row["severity"],
                      server_id=row["server_id"], partner=row["partner"], country=row["country"], value=None,
                      value_text="-", peak=row["peak"], peak_text="-" if row["peak"] is None else f"{row['peak']:g}",
                      started_at=row["started_at"], at=at, collector=collector,
                      message=f"{row['message']} -- resolved: no longer monitored (removed from the config)")


class AlertManager:
    """Public entry point for the collector: call on_round() after each stored round."""

    def __init__(self, config: Config, writer: Writer, notifier=None, now: Callable[[], datetime] = utcnow,
                 name: str | None = None):
        self.config = config
        self.writer = writer
        self.notifier = notifier
        self.now = now
        self.name = name or config.collector_name or socket.gethostname()
        limits = config.alert_conditions
        self.engine = AlertEngine(rules_from_config(config), limits.rounds_to_open, limits.rounds_to_resolve,
                                  collector=self.name)
        self._restore()

    def _restore(self) -> None:
        """Load open alerts so they can resolve after a restart; retire those nobody evaluates any more."""
        rows = [r for r in load_open(self.writer.engine) if r["kind"] != STALE]  # stale belongs to StaleWatcher
        # Each collector's alerts are its own (per collector and server): another vantage point's stay with it.
        rows = [r for r in rows if r["collector"] == self.name and r["kind"] not in SHARED_KINDS]
        configured = {s.id for s in self.config.servers}
        kept = [r for r in rows if r["kind"] in self._kinds_in_use()
                and (r["kind"] == CONNECTIVITY or r["server_id"] in configured)]
        self.engine.restore(kept)
        retired = [r for r in rows if r not in kept and r["collector"] == self.name]
        if retired:
            at = to_naive_utc(self.now())
            publish(apply_events(self.writer, [_retired_event(r, at, self.name) for r in retired]), self.notifier)

    def _kinds_in_use(self) -> tuple[str, ...]:
        """The kinds this manager evaluates: its rules, plus connectivity when control targets are configured."""
        rules = tuple(self.engine.rules)
        return (*rules, CONNECTIVITY) if self.config.control_targets else rules

    def on_round(self, measured: Iterable[tuple[Server, Measurement]], at: datetime | None = None,
                 controls: list[Measurement] | None = None) -> list[AlertEvent]:
        """Evaluate one round, store and log the alert changes, queue notifications; never raises."""
        at = to_naive_utc(at or self.now())
        snapshot = self.engine.snapshot()
        try:
            events = self.engine.evaluate({s.id: (s, m) for s, m in measured}, at, controls)
            stored = apply_events(self.writer, events)
        except Exception:  # noqa: BLE001 - alerting must never stop monitoring
            # Undo the round so the same changes are found again next round instead of being lost.
            self.engine.rollback(snapshot)
            log.exception("alert evaluation failed; it will be retried next round")
            return []
        publish(stored, self.notifier)
        return stored
