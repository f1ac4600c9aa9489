"""Reload config.json while running: poll the file, validate a changed one, hand a valid one on.

The watcher compares the file's mtime and size every few seconds and, when they change, its SHA-256
(so `touch` or an editor saving the same text does nothing). A changed file is validated in full; a valid
one goes to `apply` (the collector takes it from its next round), an invalid one is logged once as an
ERROR naming every problem, and the running config stays. Settings that are fixed for the life of the
process (where the database is, the log file, authentication, ...) keep their running values, with a
warning that they need a restart.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Callable

from collector.periodic import PeriodicWorker
from settings import Config, ConfigError, load_config, validate_config

log = logging.getLogger("collector.reload")
DEFAULT_INTERVAL_SECONDS = 3.0
# Opened once at start: the database and log file, authentication (installed on the web server), the
# notification channels and the name stored with every row.
RESTART_KEYS = ("database_path", "database_url", "log_file", "auth", "collector_name", "notifications",
                "public_url")
SECRET_KEYS = ("auth", "notifications")


def restart_only_changes(old: Config, new: Config) -> list[str]:
    """The settings that differ between old and new but only take effect after a restart."""
    return [key for key in RESTART_KEYS if old.raw.get(key) != new.raw.get(key)]


def keep_restart_settings(old: Config, new: Config) -> Config:
    """new, with the restart-only settings of old (so the running database is the one the config names)."""
    raw = {k: v for k, v in new.raw.items() if k not in RESTART_KEYS}
    raw.update({k: old.raw[k] for k in RESTART_KEYS if k in old.raw})
    return validate_config(raw, source=new.source)


def describe_changes(old: Config, new: Config) -> str:
    """A short summary of what a reload changes: servers added and removed, other keys changed."""
    before, after = {s.id for s in old.servers}, {s.id for s in new.servers}
    keys = sorted(k for k in set(old.raw) | set(new.raw) if k != "servers" and old.raw.get(k) != new.raw.get(k))
    parts = [f"{len(new.servers)} servers ({len(after - before)} added, {len(before - after)} removed)"]
    if keys:
        parts.append("changed: " + ", ".join(keys))
    return "; ".join(parts)


class ConfigWatcher(PeriodicWorker):
    """Polls one config file; start()/stop() run it on a thread, check_once() does one poll (tests)."""

    thread_name = "config-watcher"

    def __init__(self, path: str | Path, current: Config, apply: Callable[[Config], None], *,
                 interval_seconds: float = DEFAULT_INTERVAL_SECONDS):
        self.path = Path(path)
        self.current = current
        self.apply = apply
        self.interval_seconds = interval_seconds
        self._signature = self._stat()
        self._digest = self._hash()
        self._reported: str | None = None  # the digest of the last invalid file already logged
        self.error: str | None = None  # why the file on disk is not the running config; None while it is


    def on_check_error(self) -> None:
        """A failed apply must not end the watching."""
        log.exception("config reload failed; keeping the running config")

    # -- one poll -----------------------------------------------------------------------------------
    def check_once(self) -> Config | None:
        """Reload when the file changed; returns the config now applied, or None when nothing was applied."""
        signature = self._stat()
        if signature == self._signature:
            return None
        self._signature = signature
        digest = self._hash()
        if digest is None:
            return None  # gone for a moment (an editor replacing it)
        if digest == self._digest:
            self.error = self._reported = None  # back to the running config's bytes (an invalid edit undone)
            return None
        try:
            loaded = load_config(self.path)
        except ConfigError as exc:
            self._invalid(digest, exc)
            return None
        return self._accept(digest, loaded)

    def _accept(self, digest: str, loaded: Config) -> Config:
        """Apply a valid new file, keeping the settings that need a restart."""
        stays = restart_only_changes(self.current, loaded)
        if stays:
            log.warning("config file %s: %s changed, which takes effect only after a restart; keeping %s",
                        self.path, ", ".join(stays), _running_values(self.current, stays))
        config = keep_restart_settings(self.current, loaded) if stays else loaded
        log.info("config file %s changed; reloading: %s", self.path, describe_changes(self.current, config))
        self.apply(config)
        self.current, self._digest, self._reported, self.error = config, digest, None, None
        return config

    def _invalid(self, digest: str, exc: ConfigError) -> None:
        """Log an invalid file once (not every poll) and keep running on the current config."""
        problems = str(exc).replace("\n", "; ")
        self.error = problems
        if digest == self._reported:
            return
        self._reported = digest
        log.error("config file %s changed but is invalid, so the running config is kept: %s", self.path, problems)

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _hash(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None


def _running_values(config: Config, keys: list[str]) -> str:
    """The running values of restart-only keys for the log line; auth and notification URLs hold secrets."""
    return ", ".join(f"{key} as it was" if key in SECRET_KEYS else f"{key}={config.raw.get(key)!r}" for key in keys)
