"""Maintenance windows made through the API: stored as their JSON definition (SQLAlchemy Core)."""
from __future__ import annotations

import json

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Engine

from common.timeutil import to_naive_utc
from storage.alertstore import _transaction
from storage.schema import maintenance_windows


def add_window(target, definition: dict, created_by: str, at) -> int:
    """Store one window (already validated); returns its id."""
    with _transaction(target) as conn:
        result = conn.execute(insert(maintenance_windows).values(
            definition=json.dumps(definition, sort_keys=True), created_by=created_by, created_at=to_naive_utc(at)))
        return int(result.inserted_primary_key[0])


def delete_window(target, window_id: int) -> bool:
    """Remove one stored window; False when there was none with that id."""
    with _transaction(target) as conn:
        return conn.execute(delete(maintenance_windows).where(maintenance_windows.c.id == window_id)).rowcount > 0


def load_windows(engine: Engine) -> list[dict]:
    """Every stored window as {id, definition (dict), created_by, created_at}, oldest first."""
    stmt = select(maintenance_windows).order_by(maintenance_windows.c.id)
    with engine.connect() as conn:
        return [dict(row._mapping, definition=json.loads(row.definition)) for row in conn.execute(stmt)]


def all_windows(config, engine: Engine) -> list:
    """The config's windows followed by the stored ones, as settings.maintenance.Window objects."""
    from settings.maintenance import build_window, window_errors
    stored = []
    for row in load_windows(engine):
        if not window_errors(row["definition"], f"maintenance_windows[{row['id']}]"):  # tz data may have changed
            stored.append(build_window(row["definition"], id=row["id"], created_by=row["created_by"]))
    return [*config.maintenance, *stored]


def servers_in_maintenance(config, windows, at) -> dict[str, list]:
    """server id -> the windows covering it at `at` (naive UTC), for the configured servers in maintenance."""
    found = {}
    for server in config.servers:
        covering = [w for w in windows if w.covers(server.id, server.partner, server.country) and w.active(at)]
        if covering:
            found[server.id] = covering
    return found
