"""Bounded concurrent probing, shared by the backends that probe each target on its own (ping, tcp)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Sequence

from .base import ProbeResult, Target


class PerTargetProbe:
    """A backend that probes one target at a time per worker, up to ``concurrency`` targets at once.

    Subclasses set ``name`` and ``concurrency`` and implement ``probe(target)``, which must never raise:
    a target that cannot be measured is a failed ProbeResult.
    """

    name: str
    concurrency: int

    def probe(self, target: Target) -> ProbeResult:
        """Probe one target; implemented by subclasses."""
        raise NotImplementedError

    def run(self, targets: Sequence[Target]) -> dict[str, ProbeResult]:
        """Probe all targets concurrently (bounded by ``concurrency``); one result per server id."""
        if not targets:
            return {}
        workers = min(max(1, self.concurrency), len(targets))
        # Named after the backend, so a thread dump says which probe a stuck worker belongs to.
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.name) as pool:
            results = list(pool.map(self.probe, targets))
        return {target.server_id: result for target, result in zip(targets, results)}
