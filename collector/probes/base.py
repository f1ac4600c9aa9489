"""The probe interface: what a backend is given and what it must return."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, Sequence


@dataclass(frozen=True)
class Target:
    """One host to probe in a round."""

    server_id: str
    host: str
    port: int | None = None


@dataclass
class ProbeResult:
    """Raw facts from one probe of one target; statistics are derived in stats.py.

    ``samples_ms`` lists the RTT of every reply in order, with ``None`` for a
    probe that got no reply when the backend knows per-packet outcomes (fping
    -C, tcp); backends that only see replies list the replies.
    The ``rtt_*`` fields are what the tool itself printed (ping's summary line)
    and are used only when there are no samples.
    """

    transmitted: int
    received: int
    samples_ms: list[float | None] = field(default_factory=list)
    duplicates: int = 0
    errors: int = 0
    error: str | None = None
    rtt_min_ms: float | None = None
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    rtt_mdev_ms: float | None = None

    @classmethod
    def failed(cls, transmitted: int, error: str) -> "ProbeResult":
        """A probe that could not measure at all (unknown host, no binary...)."""
        return cls(transmitted=transmitted, received=0, error=error)


class Probe(Protocol):
    """A backend: probes all its targets for one round and returns a result per server id."""

    name: str

    def run(self, targets: Sequence[Target]) -> dict[str, ProbeResult]:
        """Probe every target once (count packets each); never raises for one bad target."""
        ...
