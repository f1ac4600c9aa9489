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
from collector.config import Config, Server
from collector.notify import build_notifier
from collector.measure import Measurement, concerns, measure
from collector.probes.base import Probe, ProbeResult, Target
from storage.timeutil import utcnow
from storage.writer import Writer

log = logging.getLogger(__name__)


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


class Collector:
    """Runs rounds on a fixed cadence in a background thread; start() and stop() are safe to repeat."""

    def __init__(self, config: Config, writer: Writer, *, probe_factory: Callable[[str], Probe] | None = None,
                 auto_kind: str | None = None, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = utcnow, name: str | None = None, notifier=None):
        self.config = config
        self.writer = writer
        self.probe_factory = probe_factory or default_probe_factory(config)
        self.auto_kind = auto_kind
        self.clock = clock
        self.now = now
        self.name = name or config.collector_name or socket.gethostname()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_round_at: datetime | None = None
        self.rounds_run = 0
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
        self._thread = threading.Thread(target=self._loop, name="collector", daemon=True)
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

    def _loop(self) -> None:
        interval = float(self.config.interval_seconds)
        next_start = self.clock()
        while not self._stop.is_set():
            try:
                self.run_round()
            except Exception:  # noqa: BLE001 - one bad round must not end monitoring
                log.exception("round failed")
            next_start = self._next_start(next_start, interval)
            self._stop.wait(max(0.0, next_start - self.clock()))

    def _next_start(self, previous: float, interval: float) -> float:
        """Keep a fixed cadence: the next slot after now, skipping slots a long round overran."""
        now = self.clock()
        # A round that ends exactly on the next slot has not overrun it: start that slot at once.
        slots = max(1, math.ceil((now - previous) / interval))
        if slots > 1:
            log.warning("round overran its interval; skipped %d scheduled round(s)", slots - 1)
        return previous + slots * interval

    # -- one round -------------------------------------------------------------------------
    def run_round(self) -> RoundReport:
        """Probe every server once, concurrently, store the round and return what was measured."""
        started_at, t0 = self.now(), self.clock()
        kinds = self._kinds(self.config.servers)
        results = self._probe_all(self.config.servers + self.controls, {**kinds, **self._kinds(self.controls)})
        measured = [(s, measure(results[s.id], self.config.thresholds)) for s in self.config.servers]
        rows = [self._row(server, m, started_at, kinds[server.id]) for server, m in measured]
        round_id = self.writer.write_round(self.name, started_at, self.now(), rows)
        duration = self.clock() - t0
        self.last_round_at, self.rounds_run = self.now(), self.rounds_run + 1
        self._log_round(measured, rows, duration)
        self.alerts.on_round(measured, started_at, self._control_measurements(results))
        return RoundReport(round_id, started_at, duration, measured)

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

    def _row(self, server: Server, m: Measurement, at: datetime, kind: str) -> dict:
        limits = self.config.alert_conditions
        found = concerns(m, self.config.thresholds, limits.get("max_packet_loss", 1), limits.get("max_jitter", 30))
        return dict(m.as_row(), server_id=server.id, server_ip=server.ip, country=server.country,
                    partner=server.partner, dn_ext=server.dn_ext, timestamp=at,
                    probe=kind, concerns="; ".join(found) or None)

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
