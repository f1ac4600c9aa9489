"""Stand-ins for the collector's dependencies: a probe factory answering from a table, and clocks."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from collector.probes.base import ProbeResult

T0 = datetime(2024, 5, 1, 10, 0, 0)


def replies(rtt: float = 20.0, count: int = 4) -> ProbeResult:
    """Every packet answered in rtt ms."""
    return ProbeResult(transmitted=count, received=count, samples_ms=[rtt] * count)


class FakeProbe:
    """A backend that answers from a table, optionally after a delay, and records each call."""

    def __init__(self, kind: str, factory: "FakeFactory"):
        self.name, self.factory = kind, factory

    def run(self, targets):
        start = time.monotonic()
        self.factory.calls.append((self.name, [t.server_id for t in targets], threading.current_thread().name))
        outcome = self.factory.outcomes.get(self.name)
        if self.factory.delay:
            time.sleep(self.factory.delay)
        try:
            if isinstance(outcome, Exception):
                raise outcome
            if callable(outcome):
                return outcome(targets)
            return {t.server_id: self.factory.results.get(t.server_id, replies()) for t in targets}
        finally:
            self.factory.spans[self.name] = (start, time.monotonic())


class FakeFactory:
    """probe_factory stand-in: kind in, FakeProbe out; outcomes[kind] may be an exception or a function."""

    def __init__(self, delay: float = 0.0):
        self.calls: list[tuple] = []
        self.outcomes: dict = {}
        self.results: dict[str, ProbeResult] = {}
        self.spans: dict[str, tuple[float, float]] = {}
        self.delay = delay
        self.broken_kinds: set[str] = set()

    def __call__(self, kind: str) -> FakeProbe:
        if kind in self.broken_kinds:
            raise RuntimeError(f"cannot build {kind}")
        return FakeProbe(kind, self)


def ticking_now(start: datetime = T0, step: timedelta = timedelta(seconds=1)):
    """A now() that returns start, start+step, ... on successive calls."""
    state = {"t": start - step}

    def now() -> datetime:
        state["t"] += step
        return state["t"]

    return now


class FakeClock:
    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class SteppingStop:
    """Stands in for the stop event: waiting advances the fake clock; stops after `rounds` waits."""

    def __init__(self, clock: FakeClock, rounds: int):
        self.clock, self.rounds, self.waits, self.flag = clock, rounds, [], False

    def is_set(self) -> bool:
        return self.flag

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        self.clock.t += timeout
        self.flag = len(self.waits) >= self.rounds
        return self.flag
