"""The collector: a thread that probes every server on a fixed cadence and stores each round.

Each concern lives in its own module; Collector wires them together and keeps one surface for app.py,
pinger.py and the tests:
- lifecycle.py  the thread: start(), stop(), is_alive(), crashed(), crash_reason
- schedule.py   the fixed cadence rounds start on
- probing.py    servers grouped by backend, the backends side by side
- rounds.py     measurements, rows, the report and the round's log line
- storing.py    the write, and the outage state (last_error, rounds_lost, ...)
- upkeep.py     WAL checkpoint and budgeted retention between rounds
- pending.py    a reloaded config, applied between rounds
"""
from __future__ import annotations

import logging
import socket
import time
from datetime import datetime
from typing import Callable

from collector.alertmanager import AlertManager, control_servers
from collector.forward import Forward
from collector.lifecycle import LoopThread
from collector.notify import build_notifier
from collector.pending import PendingConfig
from collector.probes.base import Probe
from collector.probing import Prober, default_probe_factory, os_params  # noqa: F401 - part of this module's API
from collector.rounds import RoundReport, log_round, measure_servers, round_rows
from collector.schedule import run_on_cadence
from collector.sipcheck import SipChecker, probe_with_sip, sip_rows
from collector.spool import Spool, default_spool_path
from collector.storing import RoundStore
from collector.upkeep import Upkeep
from settings import Config
from storage.retention import prune
from common.timeutil import utcnow
from storage.writer import Writer


APP_VERSION = "10"  # written to collectors.version: the schema version, the project's only version number


def _open_spool(config: Config, name: str) -> Spool | None:
    """The collector's round spool; None (rounds refused are lost, as before) when the file cannot be opened."""
    try:
        return Spool(default_spool_path(config, name), config.spool_max_rounds)
    except Exception:  # noqa: BLE001 - a read-only folder must not stop the probing
        logging.getLogger("collector.service").exception("cannot open the round spool; refused rounds are lost")
        return None


class Collector(LoopThread):
    """Runs rounds on a fixed cadence in a background thread; start() and stop() are safe to repeat."""

    thread_name = "collector"

    # Kept by the parts, read by /healthz, the dashboard, pinger.py and the tests.
    last_round_at = Forward[datetime | None]("store")  # when the last round was stored
    rounds_run = Forward[int]("store")  # rounds probed and stored
    rounds_lost = Forward[int]("store")  # rounds probed but not stored (database read-only, disk full, ...)
    last_error = Forward[str | None]("store")  # why rounds cannot be stored right now; None while they are
    error_since = Forward[datetime | None]("store")  # when the current outage began
    outage_rounds = Forward[int]("store")  # rounds refused since last_error was set
    rounds_waiting = Forward[int]("store")  # rounds in the local spool, waiting for the database
    probe_factory = Forward[Callable[[str], Probe]]("prober")

    def __init__(self, config: Config, writer: Writer, *, probe_factory: Callable[[str], Probe] | None = None,
                 auto_kind: str | None = None, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = utcnow, name: str | None = None, notifier=None,
                 sip_checker: SipChecker | None = None, spool: Spool | None = None):
        super().__init__()
        self.config, self.writer, self.clock, self.now = config, writer, clock, now
        self.name = name or config.collector_name or socket.gethostname()
        self.notifier = notifier if notifier is not None else build_notifier(config)
        self.alerts, self.controls = self._alert_manager(config), control_servers(config)
        self.prober = Prober(config, probe_factory, auto_kind)
        self.sip = sip_checker or SipChecker()
        self.store = RoundStore(writer, self.name, now,
                                spool=spool if spool is not None else _open_spool(config, self.name),
                                heartbeat=lambda: {"location": self.config.collector_location or self.name,
                                                   "version": APP_VERSION})
        # storage.retention.prune, passed from here so that tests can substitute collector.service.prune.
        self.upkeep = Upkeep(writer, self.store, prune_rows=prune)
        self.pending = PendingConfig(self._alert_manager)

    def on_start(self) -> None:
        """The notifier runs while the collector does."""
        if self.notifier is not None:
            self.notifier.start()

    def on_stop(self) -> None:
        """Stop the notifier after the last round."""
        if self.notifier is not None:
            self.notifier.stop()

    def _loop(self) -> None:
        """Rounds on the fixed cadence until stopped; the interval is read each time, a reload may change it."""
        run_on_cadence(self.run_round, self._between_rounds, lambda: float(self.config.interval_seconds),
                       self.clock, self._stop)

    def _between_rounds(self, next_start: float) -> None:
        """Upkeep in the slack; only the loop prunes: a one-off run_round() (pinger.py --once) never does."""
        self.upkeep.checkpoint()
        self._prune_in_slack(next_start - self.clock())

    def _prune_in_slack(self, slack_seconds: float) -> None:
        """One budgeted retention step between rounds; a stop() is honoured between its batches."""
        self.upkeep.prune_in_slack(self.config.retention.as_dict(), slack_seconds, self._stop.is_set)

    def reload(self, config: Config) -> None:
        """Use `config` from the next round on; safe from any thread, the round in progress is not touched."""
        self.pending.offer(config)

    def run_round(self) -> RoundReport:
        """Probe every server once, concurrently, store the round and return what was measured.

        A round that cannot be stored (database read-only, disk full) is logged once per outage, kept in
        last_error for /healthz, and returned with round_id None; probing goes on.
        """
        self._apply_pending()
        config, started_at, t0 = self.config, self.now(), self.clock()
        kinds, results, sip = probe_with_sip(self.prober, self.sip, config, self.controls)
        measured = measure_servers(config.servers, results, config)
        rows = round_rows(measured, kinds, started_at, config)
        round_id = self.store.write(started_at, rows, sip_rows(sip, config.servers, started_at))
        duration = self.clock() - t0
        if round_id is not None:
            log_round(measured, rows, duration)
            controls = measure_servers(self.controls, results, config) or None  # None: no controls
            self.alerts.on_round(measured, started_at, controls, sip)
        return RoundReport(round_id, started_at, duration, measured, sip)

    def _apply_pending(self) -> None:
        """Between rounds: swap in a reloaded config with its alert rules, control targets and probes."""
        ready = self.pending.take()
        if ready is not None:
            self.config, self.alerts = ready
            self.controls = control_servers(self.config)
            self.prober.use(self.config)

    def _alert_manager(self, config: Config) -> AlertManager:
        """Alert rules for `config`; reads and writes the database (restores open alerts, resolves removed ones)."""
        # A reload keeps the path snapshotter, so its queue and worker outlive the swap of alert rules.
        snapshotter = getattr(getattr(self, "alerts", None), "snapshotter", None)
        return AlertManager(config, self.writer, notifier=self.notifier, now=self.now, name=self.name,
                            snapshotter=snapshotter)
