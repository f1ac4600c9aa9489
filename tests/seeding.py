"""Write known history through the project's own code path (measure + Writer) for tests."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from settings import Config, Server
from collector.measure import measure
from collector.rows import result_row, server_labels
from collector.probes.base import ProbeResult
from collector.probes.sip import SipRequestResult, SipTarget, summarise
from collector.sipcheck import sip_row
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


def sip_result(server_index: int, round_index: int, server_id: str):
    """Server k answers 200 in 10 + k ms, but every 7th round answers 503 and every 11th nothing at all."""
    target = SipTarget(server_id, server_id)
    if round_index % 11 == 0:
        requests = [SipRequestResult(failure="timeout", detail="no final response")] * 3
    elif round_index % 7 == 0:
        requests = [SipRequestResult(code=503, reason="Service Unavailable", response_ms=2.0)] * 3
    else:
        requests = [SipRequestResult(code=200, reason="OK", response_ms=10.0 + server_index + round_index % 3)] * 3
    return summarise(target, requests)


def sip_round(config, round_index: int, at) -> tuple[list[dict], list[dict]]:
    """(ping_results rows, sip_results rows) of one round of every configured server."""
    ping = [result_row(measure(ProbeResult(4, 4, [20.0] * 4), config.thresholds), server_labels(s, "ping"), at,
                       config.thresholds, config.alert_conditions) for s in config.servers]
    sip = [sip_row(sip_result(k, round_index, s.id), at) for k, s in enumerate(config.servers)]
    return ping, sip


def seed_sip(writer, config, end, rounds=96, batch_rounds=24) -> list:
    """Store `rounds` 5-minute rounds with SIP checks ending at `end`, `batch_rounds` per transaction."""
    times = [end - timedelta(minutes=5 * (rounds - 1 - i)) for i in range(rounds)]
    for first in range(0, rounds, batch_rounds):
        chunk = list(enumerate(times))[first:first + batch_rounds]
        made = [sip_round(config, r, at) for r, at in chunk]
        writer.write_rounds("test", [(at, at, ping) for (_, at), (ping, _) in zip(chunk, made)],
                            [sip for _, sip in made])
    return times


def in_a_whole_bucket(now: datetime, bucket_seconds: int = 300) -> datetime:
    """A time just inside the last whole bucket before `now`: the newest data a live graph draws (a 24 h graph is in
    5-minute buckets, drawn up to the last whole one; queries.filters.settled)."""
    into = (now - datetime(1970, 1, 1)).total_seconds() % bucket_seconds
    return now - timedelta(seconds=into + 10)
