"""Write known history through the project's own code path (measure + Writer) for tests."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from settings import Config, Server
from collector.measure import measure
from collector.rows import result_row, server_labels
from collector.probes.base import ProbeResult
from storage.writer import Writer


def steady_profile(server_index: int, round_index: int, count: int = 4) -> ProbeResult:
    """Server k answers every packet in exactly 20 + 30*k ms (jitter 0, loss 0)."""
    rtt = 20.0 + 30.0 * server_index
    return ProbeResult(transmitted=count, received=count, samples_ms=[rtt] * count)


# Rounds stored per transaction: the writer folds a batch into the rollups exactly as it folds rounds one by one
# (tests/test_rollups.py checks it), and a commit per round made seeding a day of history take seconds on PostgreSQL.
SEED_BATCH_ROUNDS = 48


def seed_history(writer: Writer, config: Config, end: datetime, rounds: int, interval_seconds: int = 300,
                 profile: Callable[[int, int], ProbeResult] = steady_profile, collector: str = "test") -> list[datetime]:
    """Store `rounds` rounds for every configured server ending at `end`; returns the round times."""
    times = [end - timedelta(seconds=interval_seconds * (rounds - 1 - i)) for i in range(rounds)]
    batch = []
    for r, at in enumerate(times):
        rows = [result_row(measure(profile(k, r), config.thresholds), server_labels(s, "ping"), at, config.thresholds,
                           config.alert_conditions) for k, s in enumerate(config.servers)]
        batch.append((at, at + timedelta(seconds=1), rows))
        if len(batch) == SEED_BATCH_ROUNDS or r == len(times) - 1:
            writer.write_rounds(collector, batch)
            batch = []
    return times
