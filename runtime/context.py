"""What one running app shares between its routes and callbacks: config, engines, writer, collector, services."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from flask import current_app

from runtime.cache import ResultCache
from sqlalchemy.engine import Engine

from settings import Config
from collector.service import Collector
from storage.engine import make_engine
from common.timeutil import iso_z
from storage.writer import Writer

log = logging.getLogger(__name__)
EXTENSION_KEY = "latency_monitor"


@dataclass
class Runtime:
    """The app's shared objects; routes and callbacks reach it with get_runtime()."""

    config: Config
    base_dir: Path
    writer: Writer
    read_engine: Engine
    collector: Collector | None = None
    owns_writer: bool = True  # False when the caller passed in the process's writer (and closes it)
    services: Any = None  # runtime.services.Services, set by create_app
    cache: ResultCache = field(default_factory=ResultCache)  # results per data stamp (runtime/cache.py)
    recent_views: dict = field(default_factory=dict)  # view -> when last asked for (callbacks.common.remember_view)
    generation: int = 0  # bumped by every config reload, so cached results of the old config are not served
    # Called with the new Config on every reload (the API rebuilds its metrics registry here).
    reload_listeners: list[Callable[[Config], None]] = field(default_factory=list)


def get_runtime() -> Runtime:
    """The Runtime of the Flask app handling the current request or callback."""
    return current_app.extensions[EXTENSION_KEY]


def read_engine_for(url: str) -> Engine:
    """Readers get their own engine, read-only (a SQLite read-only connection, a PostgreSQL read-only session)."""
    return make_engine(url, readonly=True)


def collector_state(runtime: Runtime) -> dict:
    """The embedded collector for /healthz: running (None when this process runs none), last round, last error."""
    collector = runtime.collector
    if collector is None:
        return {"running": None, "last_round_at": None, "last_error": None, "rounds_waiting": None}
    running = collector.is_alive()
    error = collector.last_error
    if not running and error is None:
        error = f"the collector thread is not running ({collector.crash_reason or 'stopped'})"
    return {"running": running, "last_round_at": iso_z(collector.last_round_at), "last_error": error,
            "rounds_waiting": collector.rounds_waiting}


def config_state(runtime: Runtime) -> dict:
    """The config file for /healthz: ok, or error with the problems of an edit that was not applied."""
    watcher = getattr(runtime.services, "config_watcher", None)
    error = watcher.error if watcher is not None else None
    return {"status": "ok", "error": None} if error is None else {"status": "error", "error": error}


def config_problem(runtime: Runtime) -> str | None:
    """An invalid config edit, in a sentence for the dashboard; None when the file is the running config."""
    error = config_state(runtime)["error"]
    if error is None:
        return None
    return (f"The edited config file is invalid, so the app keeps running on the previous config: {error}. "
            "Fix the file and save it again; it is reloaded within seconds.")


def collector_problem(runtime: Runtime) -> str | None:
    """What is wrong with this process's collector, in a sentence for the dashboard; None when nothing is."""
    collector = runtime.collector
    if collector is None:
        return None
    if collector.last_error is not None:
        since = iso_z(collector.error_since) or "now"
        return (f"The collector cannot store results since {since} ({collector.rounds_waiting} rounds waiting): "
                f"{collector.last_error}. Probing goes on; check the database file and the free disk space.")
    if not collector.is_alive():
        return (f"The collector thread is not running ({collector.crash_reason or 'stopped'}); "
                "it is restarted within seconds, see the log.")
    return None
