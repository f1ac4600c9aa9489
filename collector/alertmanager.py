"""The collector's side of alerting: evaluate each round, store the changes, log them, notify."""
from __future__ import annotations

import logging
import socket
from datetime import datetime
from typing import Callable, Iterable

from collector.alerts import (CONNECTIVITY, STALE, AlertEngine,
                              AlertEvent, rules_from_config, severity_rank)
from collector.pathsnap import SNAPSHOT_KINDS, PathSnapshotter
from settings import Config, Server
from collector.measure import Measurement
from storage.alertstore import (SHARED_KINDS, acknowledged, apply_events, load_open, open_alert_id,
                                store_path_snapshot)
from storage.maintenance import all_windows, servers_in_maintenance
from common.timeutil import to_naive_utc, utcnow
from storage.writer import Writer

log = logging.getLogger("collector.alerts")


def log_event(event: AlertEvent, logger: logging.Logger = log) -> None:
    """One line per alert change: WARNING/ERROR (by severity) on open and escalate, INFO on resolve."""
    about = {"server_id": event.server_id}  # stored with the line (collector.logsetup), for the server's page
    if event.action == "resolve":
        logger.info("alert resolved: %s", event.message, extra=about)
    elif event.action in ("open", "escalate"):
        level = logging.ERROR if event.severity == "critical" else logging.WARNING
        logger.log(level, "alert %s: %s", "opened" if event.action == "open" else "escalated", event.message,
                   extra=about)
    else:  # 'update' (a worse peak) happens many times and is visible in the alerts table
        logger.debug("alert updated: %s", event.message, extra=about)


def publish(events: list[AlertEvent], notifier=None, logger: logging.Logger = log,
            notifiable: list[AlertEvent] | None = None) -> None:
    """Log every stored change and hand the notifiable ones (default: all) to the notifier (which returns at once)."""
    for event in events:
        log_event(event, logger)
    notifiable = events if notifiable is None else notifiable
    if notifier is not None and notifiable:
        notifier.submit(notifiable)


def held_back(event: AlertEvent, acked: dict[tuple, str], in_maintenance: dict[str, list]) -> str | None:
    """Why this stored change is not notified (its server is in maintenance, or the alert is acknowledged and
    has not risen above the acknowledged severity); None when it is notified."""
    if event.server_id in in_maintenance:
        return "in maintenance"
    severity = acked.get((event.server_id, event.kind))
    if severity is not None and severity_rank(event.severity) <= severity_rank(severity):
        return "acknowledged"
    return None


def control_servers(config: Config) -> tuple[Server, ...]:
    """The `control_targets` hosts as Servers to probe each round (measured for on_round, never stored)."""
    # tcp needs a port per host; control targets are bare hosts, so they use ping/fping.
    probe = "auto" if config.probe in ("tcp", "sip") else config.probe  # sip: control targets only ping
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
                 name: str | None = None, snapshotter: PathSnapshotter | None = None):
        self.config = config
        self.writer = writer
        self.notifier = notifier
        self.now = now
        self.name = name or config.collector_name or socket.gethostname()
        limits = config.alert_conditions
        self.engine = AlertEngine(rules_from_config(config), limits.rounds_to_open, limits.rounds_to_resolve,
                                  collector=self.name, server_rules=self._server_rules(config))
        self.snapshotter = snapshotter if snapshotter is not None else PathSnapshotter()
        self._restore()

    @staticmethod
    def _server_rules(config: Config) -> dict:
        """Rules and round counts of the servers whose partner or own entry overrides the limits."""
        found = {}
        for server_id in config.overrides:
            limits = config.alert_conditions_for(server_id)
            found[server_id] = (rules_from_config(config, server_id), limits.rounds_to_open, limits.rounds_to_resolve)
        return found

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
                 controls: list[Measurement] | None = None, sip: dict | None = None) -> list[AlertEvent]:
        """Evaluate one round (and its SIP results by server id), store and log the changes, queue notifications;
        never raises."""
        at = to_naive_utc(at or self.now())
        snapshot = self.engine.snapshot()
        try:
            in_maintenance = servers_in_maintenance(self.config, all_windows(self.config, self.writer.engine), at)
            acked = acknowledged(self.writer.engine, self.name)
            events = self.engine.evaluate({s.id: (s, m) for s, m in measured}, at, controls, sip)
            events = self._skip_maintenance_opens(events, in_maintenance)
            stored = apply_events(self.writer, events)
        except Exception:  # noqa: BLE001 - alerting must never stop monitoring
            # Undo the round so the same changes are found again next round instead of being lost.
            self.engine.rollback(snapshot)
            log.exception("alert evaluation failed; it will be retried next round")
            return []
        notifiable = []
        for event in stored:
            reason = held_back(event, acked, in_maintenance)
            if reason is None:
                notifiable.append(event)
            elif event.action != "update":
                log.info("notification held back (%s): %s", reason, event.message)
        publish(stored, self.notifier, notifiable=notifiable)
        self._snapshot_paths(stored, {s.id: s for s, _m in measured})
        return stored

    def _skip_maintenance_opens(self, events: list[AlertEvent], in_maintenance: dict) -> list[AlertEvent]:
        """Alerts are not opened for servers in a maintenance window (the engine forgets them again)."""
        kept = []
        for event in events:
            if event.action == "open" and event.server_id in in_maintenance:
                self.engine.forget((event.server_id, event.kind))
                continue
            kept.append(event)
        return kept

    def _snapshot_paths(self, stored: list[AlertEvent], servers: dict[str, Server]) -> None:
        """Queue one path snapshot for each down or packet-loss alert that just opened."""
        for event in stored:
            server = servers.get(event.server_id)
            if event.action == "open" and event.kind in SNAPSHOT_KINDS and server is not None:
                alert_id = open_alert_id(self.writer.engine, event.server_id, event.kind, self.name)
                if alert_id is not None:
                    self.snapshotter.submit(server.ip, self._store_snapshot(alert_id))

    def _store_snapshot(self, alert_id: int) -> Callable[[str], None]:
        """The callback that stores a finished report with its alert."""
        def store(report: str) -> None:
            store_path_snapshot(self.writer, alert_id, report, self.now())
        return store
