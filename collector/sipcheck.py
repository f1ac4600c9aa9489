"""The round's SIP OPTIONS checks: one SipProbe over every server with a ``sip`` setting, its rows and its
stand-in network result for ``probe: "sip"`` servers.

A SIP check runs *beside* the network probe (same round, same timestamp, one sip_results row next to
the server's ping_results row). A ``probe: "sip"`` server has no network probe: its ping_results row is
made from the SIP round (requests as packets, response times as RTTs, probe = "sip"), so history,
rollups, staleness and the latency alerts cover it like any other server.
"""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Callable

from collector.probes.base import ProbeResult
from collector.probes.sip import SipProbe, SipRoundResult, SipTarget, failed_round
from settings import Config, Server

log = logging.getLogger("collector.service")

# SIP transactions are asyncio tasks on one loop, not processes: far more than max_concurrent_probes fit.
MIN_SIP_CONCURRENCY = 256


def sip_servers(servers: tuple[Server, ...]) -> tuple[Server, ...]:
    """The servers that have a SIP check."""
    return tuple(s for s in servers if s.sip is not None)


def sip_target(server: Server) -> SipTarget:
    """The probe's target for one server with a SIP check."""
    return SipTarget.from_settings(server.id, server.ip, server.sip.as_dict())


def default_sip_probe(config: Config) -> SipProbe:
    """A SipProbe with the round's count and timeout (ping_count, ping_timeout)."""
    return SipProbe(config.ping_count, config.ping_timeout,
                    concurrency=max(config.max_concurrent_probes, MIN_SIP_CONCURRENCY))


class SipChecker:
    """Runs each round's SIP checks; never raises: a failing probe marks its servers down (error)."""

    def __init__(self, probe_factory: Callable[[Config], SipProbe] = default_sip_probe):
        self.probe_factory = probe_factory

    def run(self, config: Config, servers: tuple[Server, ...]) -> dict[str, SipRoundResult]:
        """The SIP result of every server in `servers` that has a SIP check, by server id."""
        targets = [sip_target(s) for s in sip_servers(servers)]
        if not targets:
            return {}
        try:
            found = self.probe_factory(config).run(targets)
        except Exception as exc:  # noqa: BLE001 - the network results of the round are still stored
            log.exception("sip probe failed for %d server(s)", len(targets))
            found = {}
            error = f"sip probe failed: {exc}"
        else:
            error = "sip probe returned no result"
        return {t.server_id: found.get(t.server_id) or failed_round(t, config.ping_count, "error", error)
                for t in targets}


def as_probe_result(result: SipRoundResult) -> ProbeResult:
    """A probe: "sip" server's network-shaped result: each request a packet, its response time the RTT.

    A SIP check that is down (no reply, refused, 5xx...) is a failed probe, so the row is down like an
    unreachable host's; maintenance keeps its response times (the status shows it as degraded)."""
    samples = [r.response_ms if r.answered else None for r in result.requests]
    error = (result.detail or result.failure) if result.status == "down" else None
    if not samples:
        return ProbeResult.failed(result.sent, error or "no SIP request sent")
    return ProbeResult(transmitted=result.sent, received=result.answered, samples_ms=samples, error=error)


def sip_row(result: SipRoundResult, at: datetime) -> dict:
    """The sip_results row of one server's SIP round."""
    return {"server_id": result.server_id, "timestamp": at, "status": result.status, "failure": result.failure,
            "detail": result.detail, "code": result.code, "reason": result.reason,
            "server_header": result.server_header, "transport": result.transport, "sent": result.sent,
            "answered": result.answered, "loss_pct": result.loss_pct, "response_min_ms": result.response_min_ms,
            "response_avg_ms": result.response_avg_ms, "response_max_ms": result.response_max_ms,
            "connect_ms": result.connect_ms, "tls_handshake_ms": result.tls_handshake_ms,
            "tls_days_left": result.tls_days_left, "tls_verified": result.tls_verified}


def sip_rows(sip: dict[str, SipRoundResult], servers: tuple[Server, ...], at: datetime) -> list[dict]:
    """The sip_results rows of a round, in config order."""
    return [sip_row(sip[s.id], at) for s in servers if s.id in sip]


def probe_with_sip(prober, checker: SipChecker, config: Config,
                   controls: tuple[Server, ...]) -> tuple[dict, dict, dict[str, SipRoundResult]]:
    """The round's network probes and its SIP checks side by side: (kinds, ProbeResults, SIP results).

    probe: "sip" servers skip the network probe; their ProbeResult is made from their SIP round."""
    network = tuple(s for s in config.servers if s.probe != "sip")
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sip") as pool:
        pending = pool.submit(checker.run, config, config.servers)
        kinds, results = prober.probe_round(network, controls)
        sip = pending.result()
    for server in config.servers:
        if server.probe == "sip":
            kinds[server.id], results[server.id] = "sip", as_probe_result(sip[server.id])
    return kinds, results, sip
