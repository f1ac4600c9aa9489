"""One round's outcome: the measurements, the rows to store, the report, and its log line."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from collector.measure import Measurement, measure
from collector.probes.base import ProbeResult
from collector.rows import result_row, server_labels
from settings import Config, Server

log = logging.getLogger("collector.service")


@dataclass
class RoundReport:
    """What one round measured, for the --once table and for tests."""

    round_id: int | None
    started_at: datetime
    duration_seconds: float
    results: list[tuple[Server, Measurement]]
    sip: dict = field(default_factory=dict)  # the round's SipRoundResult by server id


def measure_servers(servers: tuple[Server, ...], results: dict[str, ProbeResult],
                    config: Config) -> list[tuple[Server, Measurement]]:
    """Each server with the statistics of its probe result, in the order given, classed by the thresholds that
    apply to it (per-partner / per-server overrides: a 600 ms satellite partner is classed by its own)."""
    return [(server, measure(results[server.id], config.thresholds_for(server.id))) for server in servers]


def round_rows(measured: list[tuple[Server, Measurement]], kinds: dict[str, str], started_at: datetime,
               config: Config) -> list[dict]:
    """The ping_results rows of a round, one per server."""
    return [result_row(m, server_labels(server, kinds[server.id]), started_at, config.thresholds_for(server.id),
                       config.alert_conditions_for(server.id)) for server, m in measured]


def log_round(measured: list[tuple[Server, Measurement]], rows: list[dict], duration_seconds: float) -> None:
    """One INFO line per stored round; the per-server concerns at DEBUG."""
    up = sum(1 for _, m in measured if m.success)
    flagged = [(s, r) for (s, _), r in zip(measured, rows) if r["concerns"]]
    # Conditions become WARNING/ERROR lines through the alert life cycle (one per alert, not per
    # round); the per-round detail stays at DEBUG for troubleshooting.
    for server, row in flagged:
        log.debug("%s %s (%s): %s", server.partner, server.country, server.id, row["concerns"])
    log.info("round finished in %.1f s: %d/%d servers answered, %d with concerns",
             duration_seconds, up, len(measured), len(flagged))
