"""Maintenance windows for the read side: spans per server over a window (for SLA figures, graphs, cards)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from settings import Config
from storage.maintenance import all_windows, servers_in_maintenance


def merge_spans(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching spans merged into one, sorted by start."""
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def maintenance_spans(config: Config, engine: Engine, start: datetime, end: datetime,
                      server_ids: set[str] | None = None) -> list[tuple[str, datetime, datetime]]:
    """(server_id, start, end) of every maintenance span of a configured server inside [start, end), naive UTC,
    overlapping windows of one server merged, sorted by server then start (optionally only these servers)."""
    windows = all_windows(config, engine)
    found = []
    for server in config.servers:
        if server_ids is not None and server.id not in server_ids:
            continue
        spans = [span for w in windows if w.covers(server.id, server.partner, server.country)
                 for span in w.spans(start, end)]
        found += [(server.id, s, e) for s, e in merge_spans(spans)]
    return found


def maintenance_now(config: Config, engine: Engine, at: datetime) -> dict[str, list]:
    """server id -> the windows covering it at `at` (for the cards' badge)."""
    return servers_in_maintenance(config, all_windows(config, engine), at)
