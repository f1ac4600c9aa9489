"""A reloaded config waiting for the round in progress to end: handed in from any thread, taken between rounds."""
from __future__ import annotations

import logging
import threading
from typing import Callable, Generic, TypeVar

from collector.errors import error_text
from settings import Config

log = logging.getLogger("collector.service")

T = TypeVar("T")


class PendingConfig(Generic[T]):
    """Holds the newest reloaded config; take() hands it over with what prepare() builds for it."""

    def __init__(self, prepare: Callable[[Config], T]):
        self.prepare = prepare
        self._config: Config | None = None
        self._lock = threading.Lock()
        self._failing = False

    def offer(self, config: Config) -> None:
        """Use `config` from the next round on (a newer offer replaces an older one)."""
        with self._lock:
            self._config = config

    def take(self) -> tuple[Config, T] | None:
        """The offered config and what prepare() built for it; None when there is none or prepare() failed."""
        with self._lock:
            config, self._config = self._config, None
        if config is None:
            return None
        try:
            prepared = self.prepare(config)
        except Exception as exc:  # noqa: BLE001 - keep the old config and try again next round
            self._keep_for_next_round(config, exc)
            return None
        self._failing = False
        log.info("collector now uses the reloaded config: %d servers every %s s", len(config.servers),
                 config.interval_seconds)
        return config, prepared

    def _keep_for_next_round(self, config: Config, exc: Exception) -> None:
        """Offer `config` again unless a newer one came in meanwhile; log the first failure only."""
        with self._lock:
            self._config = self._config or config
        if not self._failing:
            log.error("could not apply the reloaded config (%s); keeping the old one and retrying each round",
                      error_text(exc))
        self._failing = True
