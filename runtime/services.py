"""The background services of a running web app, started in order and stopped in reverse by close().

In start order: the collector lock and the embedded collector (with its supervisor), the notifier (when no
collector owns one), the stale watcher, the config watcher and what the app adopts (callbacks.prewarm). Each is
a handle with start()/stop(); every one that follows a reloaded config does so through reload(config), called from Services.reload() only.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from collector.instancelock import SingleInstanceLock, collector_lock_path
from collector.notify import build_notifier
from collector.reload import ConfigWatcher
from collector.service import Collector
from collector.supervisor import Supervisor
from runtime.context import Runtime
from runtime.stale import StaleWatcher
from settings import Config

log = logging.getLogger(__name__)
# How long close() lets the collector finish the round in progress. A round is one transaction, so one that
# is still probing after this is abandoned whole: nothing of it is stored.
STOP_TIMEOUT_SECONDS = 15.0


class Services:
    """The threads one app started; close() stops each of them, last started first."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime
        self.collector_lock: SingleInstanceLock | None = None
        self.supervisor: Supervisor | None = None
        self.notifier = None
        self.stale_watcher: StaleWatcher | None = None
        self.config_watcher: ConfigWatcher | None = None
        self._stoppers: list[tuple[str, Callable[[], None]]] = []  # in start order
        self._adopted: list[Any] = []  # handles started by adopt()

    # -- starting ---------------------------------------------------------------------------------------
    def start_collector(self, factory: Callable[[Config, Any], Collector] | None = None, *,
                        supervise_every: float = 5.0) -> Collector | None:
        """Start the embedded collector and its supervisor, unless another process already runs one."""
        runtime = self.runtime
        lock = SingleInstanceLock(collector_lock_path(runtime.config, runtime.base_dir))
        if not lock.acquire():
            log.info("another process runs the collector on this database; this one serves the UI and API only")
            return None
        self.collector_lock = lock
        self._stoppers.append(("collector lock", lock.release))
        runtime.collector = (factory or Collector)(runtime.config, runtime.writer).start()
        self._stoppers.append(("collector", self._stop_collector))
        self.supervisor = Supervisor(runtime.collector, interval_seconds=supervise_every).start()
        self._stoppers.append(("supervisor", self.supervisor.stop))
        return runtime.collector

    def start_stale_watcher(self) -> StaleWatcher:
        """Watch for stale servers from the web app, which keeps running when a collector does not."""
        runtime = self.runtime
        notifier = runtime.collector.notifier if runtime.collector else build_notifier(runtime.config)
        if notifier is not None and runtime.collector is None:
            self.notifier = notifier.start()
            self._stoppers.append(("notifier", notifier.stop))
        self.stale_watcher = StaleWatcher(runtime.config, runtime.writer, runtime.read_engine, notifier).start()
        self._stoppers.append(("stale watcher", self.stale_watcher.stop))
        return self.stale_watcher

    def start_config_watcher(self, interval_seconds: float | None = None) -> ConfigWatcher | None:
        """Reload the config file whenever it changes (None when the config did not come from a file)."""
        config = self.runtime.config
        if not Path(config.source).is_file():
            return None
        options = {} if interval_seconds is None else {"interval_seconds": interval_seconds}
        self.config_watcher = ConfigWatcher(config.source, config, self.reload, **options).start()
        self._stoppers.append(("config watcher", self.config_watcher.stop))
        return self.config_watcher

    def adopt(self, name: str, handle: Any) -> Any:
        """Start a handle from a layer above (start()/stop(), e.g. callbacks.prewarm.Prewarmer) and stop it in close()."""
        handle.start()
        self._stoppers.append((name, handle.stop))
        self._adopted.append(handle)
        return handle

    # -- running ------------------------------------------------------------------------------------------
    def reload(self, config: Config) -> None:
        """Switch the app to a reloaded config: routes and callbacks, listeners, stale watcher and collector."""
        self.runtime.config = config  # routes and callbacks read it on every request
        self.runtime.generation += 1
        self.runtime.cache.clear()
        for listener in self.runtime.reload_listeners:
            listener(config)
        for service in (self.stale_watcher, self.runtime.collector):
            if service is not None:
                service.reload(config)

    def threads(self) -> list[Any]:
        """The handles started so far that run a thread (for tests and /healthz)."""
        return [s for s in (self.runtime.collector, self.supervisor, self.stale_watcher, self.config_watcher,
                            *self._adopted) if s is not None]

    # -- stopping -----------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every service this object started, the last started first; safe to call twice."""
        while self._stoppers:
            name, stop = self._stoppers.pop()
            try:
                stop()
            except Exception:  # noqa: BLE001 - one failing stop must not leave the others running
                log.exception("could not stop the %s", name)

    def _stop_collector(self) -> None:
        """Let the collector finish its round, or abandon it whole, and say which in the log."""
        collector = self.runtime.collector
        if collector is None or not collector.is_alive():
            return
        log.info("stopping the collector: letting the round in progress finish (at most %.0f s)",
                 STOP_TIMEOUT_SECONDS)
        collector.stop(timeout=STOP_TIMEOUT_SECONDS)
        if collector.is_alive():
            log.warning("collector stopped without finishing its round: that round is abandoned and nothing of "
                        "it is stored (a round is written in one transaction)")
        else:
            log.info("collector stopped after its last round (%d rounds this run)", collector.rounds_run)
