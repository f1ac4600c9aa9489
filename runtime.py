"""What one running app shares between its routes and callbacks: config, engines, writer, collector."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy.engine import Engine

from collector.config import Config
from collector.service import Collector
from storage.engine import is_sqlite, make_engine
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
    extras: dict = field(default_factory=dict)


def get_runtime() -> Runtime:
    """The Runtime of the Flask app handling the current request or callback."""
    return current_app.extensions[EXTENSION_KEY]


def read_engine_for(url: str) -> Engine:
    """Readers get their own engine; on SQLite it is read-only so a reader can never write."""
    return make_engine(url, readonly=is_sqlite(url))
