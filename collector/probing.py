"""Probing one round: servers grouped by backend, the backends side by side, a failure kept to its own servers."""
from __future__ import annotations

import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from collector.probes.base import Probe, ProbeResult, Target
from settings import Config, Server

log = logging.getLogger("collector.service")


def os_params(config: Config, platform_name: str = sys.platform) -> dict:
    """The ping flags for this operating system from the config."""
    return config.windows_params if platform_name.startswith("win") else config.unix_params


def default_probe_factory(config: Config) -> Callable[[str], Probe]:
    """Build probes from the config: kind name in, Probe out ('auto' already resolved)."""
    from collector.probes import make_probe

    def factory(kind: str) -> Probe:
        return make_probe(kind, count=config.ping_count, timeout_seconds=config.ping_timeout,
                          os_params=os_params(config), concurrency=config.max_concurrent_probes,
                          fping_interval_ms=config.fping_interval_ms, fping_period_ms=config.fping_period_ms)

    return factory


def resolve_kind(server: Server, auto_kind: str) -> str:
    """The backend a server uses this round."""
    return auto_kind if server.probe == "auto" else server.probe


def detect_auto() -> str:
    """What probe "auto" means on this machine."""
    from collector.probes import resolve_auto
    return resolve_auto()


class Prober:
    """Runs each round's probes; never raises for a backend that fails, it fails that backend's servers."""

    def __init__(self, config: Config, probe_factory: Callable[[str], Probe] | None = None,
                 auto_kind: str | None = None, detect: Callable[[], str] = detect_auto):
        self.config = config
        # An injected factory (tests, benchmarks) is kept across reloads; the default one is rebuilt.
        self._own_factory = probe_factory is None
        self.probe_factory = probe_factory or default_probe_factory(config)
        self.auto_kind = auto_kind  # detected on first use when None
        self.detect = detect

    def use(self, config: Config) -> None:
        """Probe with a reloaded config from the next round on."""
        self.config = config
        if self._own_factory:
            self.probe_factory = default_probe_factory(config)

    def probe_round(self, servers: tuple[Server, ...], controls: tuple[Server, ...]) -> tuple[dict, dict]:
        """Each server's backend this round, and the ProbeResult of every server and control target by id."""
        kinds = self.kinds(servers)
        return kinds, self.probe_all(servers + controls, {**kinds, **self.kinds(controls)})

    def kinds(self, servers: tuple[Server, ...]) -> dict[str, str]:
        """Each server's backend this round; 'auto' stays unresolved (and fails) if detection raises."""
        auto = "auto"
        if any(s.probe == "auto" for s in servers):
            try:
                auto = self._auto()
            except Exception:  # noqa: BLE001 - the servers with an explicit probe still run
                log.exception('could not resolve probe "auto"')
        return {s.id: resolve_kind(s, auto) for s in servers}

    def probe_all(self, servers: tuple[Server, ...], kinds: dict[str, str]) -> dict[str, ProbeResult]:
        """Run each backend over its servers, the backends side by side."""
        groups: dict[str, list[Server]] = {}
        for server in servers:
            groups.setdefault(kinds[server.id], []).append(server)
        results: dict[str, ProbeResult] = {}
        if not groups:
            return results
        with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="probe") as pool:
            futures = [pool.submit(self._probe_group, kind, group) for kind, group in groups.items()]
            for future in futures:
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
        """The backend 'auto' stands for, detected once."""
        if self.auto_kind is None:
            self.auto_kind = self.detect()
        return self.auto_kind


def _usable(result: object) -> ProbeResult | None:
    """A backend's result for one server, or None when it gave nothing usable."""
    return result if isinstance(result, ProbeResult) else None
