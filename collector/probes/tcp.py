"""Probe backend that times TCP connects (the SYN / SYN-ACK round trip) to each target.

Useful where ICMP is filtered but the partner's SIP port (5060 by default) answers. Each
attempt is one connect; the time from ``connect()`` to established is one sample.
"""
from __future__ import annotations

import socket
import time
from typing import Callable

from .base import ProbeResult, Target
from .concurrent import PerTargetProbe

DEFAULT_PORT = 5060

Resolver = Callable[..., list]


def connect_once(family: int, address: tuple, timeout_seconds: float) -> tuple[float | None, str | None]:
    """One connect attempt: (RTT in ms, None) on success, (None, error kind) otherwise."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout_seconds)
    try:
        start = time.perf_counter()
        sock.connect(address)
        return (time.perf_counter() - start) * 1000, None
    except ConnectionRefusedError:
        # A RST proves the host is up and reachable, but the service is not listening:
        # for a SIP latency monitor that attempt measured nothing useful, so it is a loss.
        return None, "refused"
    except (socket.timeout, TimeoutError):
        return None, "timeout"
    except OSError as exc:
        # Host/network unreachable (an ICMP error came back) and similar: also a loss.
        return None, exc.strerror or type(exc).__name__
    finally:
        sock.close()


class TcpProbe(PerTargetProbe):
    """Times ``count`` TCP connects per target; targets run concurrently in threads."""

    name = "tcp"

    def __init__(
        self,
        count: int,
        timeout_seconds: float,
        default_port: int = DEFAULT_PORT,
        concurrency: int = 64,
        resolve: Resolver = socket.getaddrinfo,
    ):
        self.count = count
        self.timeout_seconds = timeout_seconds
        self.default_port = default_port
        self.concurrency = max(1, concurrency)
        self._resolve = resolve

    def probe(self, target: Target) -> ProbeResult:
        """Connect ``count`` times to one target; a name that does not resolve is a failure."""
        port = target.port or self.default_port
        try:
            # Resolve once, outside the timed part: we measure the network, not DNS.
            family, _, _, _, address = self._resolve(target.host, port, type=socket.SOCK_STREAM)[0]
        except (socket.gaierror, UnicodeError, IndexError) as exc:
            return ProbeResult.failed(self.count, f"unknown host: {target.host} ({exc})")
        except Exception as exc:  # noqa: BLE001 - one target must never break the round
            return ProbeResult.failed(self.count, f"cannot resolve {target.host}: {exc}")
        return self._attempts(family, address)

    def _attempts(self, family: int, address: tuple) -> ProbeResult:
        """Run the connects; refusals and timeouts are lost samples, not a probe failure."""
        samples: list[float | None] = []
        negative_answers = 0
        for _ in range(self.count):
            rtt, kind = connect_once(family, address, self.timeout_seconds)
            samples.append(rtt)
            # Like ping's "+N errors": an explicit "no" (RST, ICMP unreachable), not silence.
            negative_answers += kind not in (None, "timeout")
        return ProbeResult(
            transmitted=self.count,
            received=sum(s is not None for s in samples),
            samples_ms=samples,
            errors=negative_answers,
        )
