"""Logging to the logs table, a rotating file and the console, configured once per process."""
from __future__ import annotations

import logging
import logging.handlers
import sys
import threading
import traceback
from datetime import datetime, timezone
from pathlib import Path

from storage.writer import Writer

_installed: list[logging.Handler] = []


class DatabaseHandler(logging.Handler):
    """Writes log records to the logs table through the single writer."""

    def __init__(self, writer: Writer, collector: str, level: int = logging.INFO):
        super().__init__(level)
        self.writer = writer
        self.collector = collector
        self._busy = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        # A failing write may itself log; the guard stops that from recursing forever.
        # A record logged while this thread holds the writer (e.g. by SQLAlchemy's pool inside a write)
        # cannot be written now: the writer's lock is not re-entrant. The console and file still get it.
        if getattr(self._busy, "on", False) or self.writer.writing_in_this_thread():
            return
        self._busy.on = True
        try:
            self.writer.write_logs([self._row(record)])
        except Exception:  # noqa: BLE001 - a log write must never break the caller
            self.handleError(record)
        finally:
            self._busy.on = False

    def _row(self, record: logging.LogRecord) -> dict:
        tb = "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else None
        at = datetime.fromtimestamp(record.created, timezone.utc).replace(tzinfo=None)
        # server_id: set by a logger call with extra={"server_id": ...} (alert lines), so a server's page selects
        # the lines about it by id, not by searching the text for its address.
        return {"timestamp": at, "level": record.levelname, "message": record.getMessage(),
                "module": record.name, "traceback": tb, "collector": self.collector,
                "server_id": getattr(record, "server_id", None)}


def configure_logging(writer: Writer | None, collector: str, log_file: str | None,
                      verbose: bool = False, base_dir: Path | None = None) -> None:
    """Install the database, file and console handlers on the root logger (replacing earlier ones)."""
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
        handler.close()
    _installed.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    _installed.append(console)
    if log_file:
        path = Path(log_file) if base_dir is None or Path(log_file).is_absolute() else base_dir / log_file
        path.parent.mkdir(parents=True, exist_ok=True)
        _installed.append(logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5))
    if writer is not None:
        _installed.append(DatabaseHandler(writer, collector))
    for handler in _installed:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Library chatter (HTTP access lines, SQL) stays out of the logs table.
    for noisy in ("waitress", "werkzeug", "sqlalchemy", "urllib3", "apprise"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
