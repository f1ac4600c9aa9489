"""The collector: a thread that probes every server on a fixed cadence and stores each round."""
from __future__ import annotations

import logging
import math
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from collector.alertmanager import AlertManager, control_servers
from settings import Config, Server
from collector.notify import build_notifier
from collector.measure import Measurement, measure
from collector.rows import result_row, server_labels
from collector.probes.base import Probe, ProbeResult, Target
from storage.retention import prune
from common.timeutil import utcnow
from storage.writer import Writer

log = logging.getLogger(__name__)

# Retention runs in the slack between rounds: at most half of it, and at most PRUNE_BUDGET_SECONDS a round,
# so a backlog (a year of rows when retention is first turned on) is worked off over many rounds.
PRUNE_BUDGET_SECONDS = 1.0
PRUNE_MIN_BUDGET_SECONDS = 0.05  # less than this and the next round is too close: prune next time


@dataclass
class RoundReport:
    """What one round measured, for the --once table and for tests."""

    round_id: int | None
    started_at: datetime
    duration_seconds: float
    results: list[tuple[Server, Measurement]]


def os_params(config: Config, platform_name: str = sys.platform) -> dict:
    """The ping flags for this operating system from the config."""
    return config.windows_params if platform_name.startswith("win") else config.unix_params


def default_probe_factory(config: Config) -> Callable[[str], Probe]:
    """Build probes from the config: kind name in, Probe out ('auto' already resolved)."""
    from collector.probes import make_probe

    def factory(kind: str) -> Probe:
        return make_probe(kind, count=config.ping_count, timeout_seconds=config.ping_timeout,
                          os_params=os_params(config), concurrency=config.max_concurrent_probes)

    return factory


def resolve_kind(server: Server, auto_kind: str) -> str:
    """The backend a server uses this round."""
    return auto_kind if server.probe == "auto" else server.probe


# What to check for the write errors SQLite reports when the disk or the file system is the problem.
WRITE_HINTS = (("disk is full", "free some disk space"),
               ("readonly", "the database file or its folder is read-only"),
               ("unable to open database file", "check that the database folder exists, is writable and has space"),
               ("disk I/O error", "check whether the disk is full, read-only or failing: df, dmesg"))


def write_hint(reason: str) -> str:
    """Advice for a write error, e.g. ' (free some disk space)'; empty when there is none."""
    advice = next((text for needle, text in WRITE_HINTS if needle in reason), None)
    return f" ({advice})" if advice else ""


def error_text(exc: BaseException) -> str:
    """A one-line reason for an error, safe to show on /healthz: the driver's own message, never SQL or rows."""
    orig = getattr(exc, "orig", None)  # SQLAlchemy wraps the driver's error; its str() adds the SQL and values
    cause = orig if isinstance(orig, BaseException) else exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line}"[:300].rstrip(": ")


class Collector:
    """Runs rounds on a fixed cadence in a background thread; start() and stop() are safe to repeat."""

    def __init__(self, config: Config, writer: Writer, *, probe_factory: Callable[[str], Probe] | None = None,
                 auto_kind: str | None = None, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = utcnow, name: str | None = None, notifier=None):
        self.config = config
        self.writer = writer
        # An injected factory (tests, benchmarks) is kept across reloads; the default one is rebuilt.
        self._own_factory = probe_factory is None
        self.probe_factory = probe_factory or default_probe_factory(config)
        self.auto_kind = auto_kind
        self.clock = clock
        self.now = now
        self.name = name or config.collector_name or socket.gethostname()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_round_at: datetime | None = None  # when the last round was stored
        self.rounds_run = 0  # rounds probed and stored
        self.rounds_lost = 0  # rounds probed but not stored (database read-only, disk full, ...)
        self.last_error: str | None = None  # why rounds cannot be stored right now; None while they are
        self.error_since: datetime | None = None  # when the current outage began
        self.crash_reason: str | None = None  # why the thread last died, for the supervisor's log line
        self.outage_rounds = 0  # rounds lost since last_error was set
        self._pending: Config | None = None
        self._pending_lock = threading.Lock()
        self._reload_failing = False
        self._prune_failing = False
        self.notifier = notifier if notifier is not None else build_notifier(config)
        self.alerts = AlertManager(config, writer, notifier=self.notifier, now=now, name=self.name)
        self.controls = control_servers(config)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> "Collector":
        """Start the background thread (no-op when it is already running)."""
        if self._thread and self._thread.is_alive():
            if not self._stop.is_set():
                return self
            self._thread.join()  # still finishing after a stop() that timed out: it would exit on its own
        self._stop.clear()
        if self.notifier is not None:
            self.notifier.start()
        self._thread = threading.Thread(target=self._run, name="collector", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop after the current round and wait for it (no-op when stopped)."""
        self._stop.set()
        thread = self._thread
        if thread and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)
        if self.notifier is not None:
            self.notifier.stop()

    def is_alive(self) -> bool:
        """True while the background thread runs."""
        return bool(self._thread and self._thread.is_alive())

    def crashed(self) -> bool:
        """True when the thread was started, not asked to stop, and is gone anyway."""
        return self._thread is not None and not self._stop.is_set() and not self._thread.is_alive()

    def _run(self) -> None:
        """The thread's body: the loop, and a record of why it ended if anything escaped it."""
        try:
            self._loop()
        except BaseException as exc:  # noqa: BLE001 - the supervisor restarts the thread; say why it died
            self.crash_reason = error_text(exc)
            log.error("collector thread died: %s", self.crash_reason, exc_info=True)

    def _loop(self) -> None:
        next_start = self.clock()
        while not self._stop.is_set():
            try:
                self.run_round()
            except Exception:  # noqa: BLE001 - one bad round must not end monitoring
                log.exception("round failed")
            # Read every time: a reloaded config may change the interval.
            next_start = self._next_start(next_start, float(self.config.interval_seconds))
            self._checkpoint()
            self._prune_in_slack(next_start - self.clock())
            self._stop.wait(max(0.0, next_start - self.clock()))

    def _next_start(self, previous: float, interval: float) -> float:
        """Keep a fixed cadence: the next slot after now, skipping slots a long round overran."""
        now = self.clock()
        # A round that ends exactly on the next slot has not overrun it: start that slot at once.
        slots = max(1, math.ceil((now - previous) / interval))
        if slots > 1:
            log.warning("round overran its interval; skipped %d scheduled round(s)", slots - 1)
        return previous + slots * interval

    # -- upkeep between rounds ----------------------------------------------------------------
    def _checkpoint(self) -> None:
        """Fold the round just written from the WAL into the database, outside any round's transaction."""
        if not self._storing_rounds():
            return
        try:
            self.writer.checkpoint()
        except Exception as exc:  # noqa: BLE001 - SQLite's autocheckpoint still runs at some later COMMIT
            log.debug("WAL checkpoint skipped: %s", error_text(exc))

    # -- retention ------------------------------------------------------------------------------
    def _prune_in_slack(self, slack_seconds: float) -> None:
        """Between rounds, one budgeted retention step: delete expired rows in batches, log what went."""
        # Called from the loop only: run_round() alone (pinger.py --once) never prunes, so a one-off check of the
        # probes does not start working off a backlog of deletes that the long-running collector owns.
        budget_seconds = min(PRUNE_BUDGET_SECONDS, slack_seconds / 2)
        if budget_seconds < PRUNE_MIN_BUDGET_SECONDS or not self._storing_rounds():
            return
        try:
            # The last stored round's time stands in for now, so the horizons move with the rounds (and fake clocks).
            deleted = prune(self.writer, self.config.retention.as_dict(), self.last_round_at, budget_seconds=budget_seconds,
                            should_stop=self._stop.is_set)  # a stop() is honoured between batches
        except Exception as exc:  # noqa: BLE001 - retention must never stop the measuring
            self._prune_failed(exc)
            return
        self._prune_failing = False
        if any(deleted.values()):
            log.info("retention: deleted %s", ", ".join(f"{n} {label}" for label, n in deleted.items() if n))

    def _storing_rounds(self) -> bool:
        """True once a round is stored and while rounds are stored: a failing database gets no deletes on top."""
        return self.last_round_at is not None and self.last_error is None

    def _prune_failed(self, exc: Exception) -> None:
        """Log a failed retention step: a WARNING the first time, DEBUG while it keeps failing."""
        reason = error_text(exc)
        if not self._prune_failing:
            log.warning("could not delete expired rows (%s); retrying between rounds", reason, exc_info=True)
        else:
            log.debug("retention still failing: %s", reason)
        self._prune_failing = True

    # -- reloading ------------------------------------------------------------------------------
    def reload(self, config: Config) -> None:
        """Use `config` from the next round on; safe from any thread, the round in progress is not touched."""
        with self._pending_lock:
            self._pending = config

    def _apply_pending(self) -> None:
        """Between rounds: swap in a reloaded config with its probes, alert rules and control targets."""
        with self._pending_lock:
            config, self._pending = self._pending, None
        if config is None:
            return
        try:
            # Restores the open alerts and resolves those of removed servers, so it reads and writes the database.
            alerts = AlertManager(config, self.writer, notifier=self.notifier, now=self.now, name=self.name,
                                  snapshotter=self.alerts.snapshotter)
        except Exception as exc:  # noqa: BLE001 - keep the old config and try again next round
            with self._pending_lock:
                self._pending = self._pending or config
            if not self._reload_failing:
                log.error("could not apply the reloaded config (%s); keeping the old one and retrying each round",
                          error_text(exc))
            self._reload_failing = True
            return
        self._reload_failing = False
        self.config, self.alerts, self.controls = config, alerts, control_servers(config)
        if self._own_factory:
            self.probe_factory = default_probe_factory(config)
        log.info("collector now uses the reloaded config: %d servers every %s s", len(config.servers),
                 config.interval_seconds)

    # -- one round -------------------------------------------------------------------------
    def run_round(self) -> RoundReport:
        """Probe every server once, concurrently, store the round and return what was measured.

        A round that cannot be stored (database read-only, disk full) is logged once per outage, kept in
        last_error for /healthz, and returned with round_id None; probing goes on.
        """
        self._apply_pending()
        config, controls = self.config, self.controls
        started_at, t0 = self.now(), self.clock()
        kinds = self._kinds(config.servers)
        results = self._probe_all(config.servers + controls, {**kinds, **self._kinds(controls)})
        # Per-partner / per-server overrides: a 600 ms satellite partner is classed by its own thresholds.
        measured = [(s, measure(results[s.id], config.thresholds_for(s.id))) for s in config.servers]
        rows = [result_row(m, server_labels(server, kinds[server.id]), started_at, config.thresholds_for(server.id),
                           config.alert_conditions_for(server.id)) for server, m in measured]
        round_id = self._store(started_at, rows)
        duration = self.clock() - t0
        if round_id is None:
            return RoundReport(None, started_at, duration, measured)
        self.last_round_at, self.rounds_run = self.now(), self.rounds_run + 1
        self._log_round(measured, rows, duration)
        self.alerts.on_round(measured, started_at, self._control_measurements(results))
        return RoundReport(round_id, started_at, duration, measured)

    def _store(self, started_at: datetime, rows: list[dict]) -> int | None:
        """Write the round; None when the database refused it (the outage is logged once, not every round)."""
        try:
            round_id = self.writer.write_round(self.name, started_at, self.now(), rows)
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop the probing
            self._write_failed(exc)
            return None
        if self.last_error is not None:
            log.warning("rounds are stored again; %d round(s) could not be stored during the outage (%s)",
                        self.outage_rounds, self.last_error)
        self.last_error, self.error_since, self.outage_rounds = None, None, 0
        return round_id

    def _write_failed(self, exc: Exception) -> None:
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

    def _control_measurements(self, results: dict[str, ProbeResult]) -> list[Measurement] | None:
        """The control targets' measurements this round, or None when none are configured."""
        if not self.controls:
            return None
        return [measure(results[s.id], self.config.thresholds) for s in self.controls]

    def _kinds(self, servers: tuple[Server, ...]) -> dict[str, str]:
        """Each server's backend this round; 'auto' stays unresolved (and fails) if detection raises."""
        auto = "auto"
        if any(s.probe == "auto" for s in servers):
            try:
                auto = self._auto()
            except Exception:  # noqa: BLE001 - the servers with an explicit probe still run
                log.exception('could not resolve probe "auto"')
        return {s.id: resolve_kind(s, auto) for s in servers}

    def _probe_all(self, servers: tuple[Server, ...], kinds: dict[str, str]) -> dict[str, ProbeResult]:
        """Run each backend over its servers, the backends side by side."""
        groups: dict[str, list[Server]] = {}
        for server in servers:
            groups.setdefault(kinds[server.id], []).append(server)
        results: dict[str, ProbeResult] = {}
        if not groups:
            return results
        with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="probe") as pool:
            futures = {kind: pool.submit(self._probe_group, kind, group) for kind, group in groups.items()}
            for kind, future in futures.items():
                results.update(future.result())
        return results

    def _probe_group(self, kind: str, servers: list[Server]) -> dict[str, ProbeResult]:
        """One backend's results; a backend that raises marks only its own servers failed."""
        targets = [Target(s.id, s.ip, s.port) for s in servers]
        try:
            found = self.probe_factory(kind).run(targets)
            if not isinstance(found, dict):
                raise TypeError(f"run() returned {type(found).__name__}, not a dict")
        except Exception as exc:  # noqa: BLE001
            log.exception("%s probe failed for %d server(s)", kind, len(servers))
            found = {}
            error = f"{kind} probe failed: {exc}"
        else:
            error = f"{kind} probe returned no result"
        count = self.config.ping_count
        return {s.id: _usable(found.get(s.id)) or ProbeResult.failed(count, error) for s in servers}

    def _auto(self) -> str:
        if self.auto_kind is None:
            from collector.probes import resolve_auto
            self.auto_kind = resolve_auto()
        return self.auto_kind

    def _log_round(self, measured, rows: list[dict], duration: float) -> None:
        up = sum(1 for _, m in measured if m.success)
        flagged = [(s, r) for (s, _), r in zip(measured, rows) if r["concerns"]]
        # Conditions become WARNING/ERROR lines through the alert life cycle (one per alert, not per
        # round); the per-round detail stays at DEBUG for troubleshooting.
        for server, row in flagged:
            log.debug("%s %s (%s): %s", server.partner, server.country, server.id, row["concerns"])
        log.info("round finished in %.1f s: %d/%d servers answered, %d with concerns",
                 duration, up, len(measured), len(flagged))


def _usable(result: object) -> ProbeResult | None:
    """A backend's result for one server, or None when it gave nothing usable."""
    return result if isinstance(result, ProbeResult) else None
