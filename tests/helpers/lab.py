"""A real Collector with fake probes on a test clock, one round at a time, and what the app then shows."""
from __future__ import annotations

from datetime import timedelta

from collector.service import Collector
from common.timeutil import utcnow
from tests.helpers.alerts import GOOD_PROBE, replies, silent
from tests.helpers.fakes import FakeFactory

# name: (what the server answers while bad, the API kind, the severity); limits are the conftest config's.
BAD = {
    "slow": (replies(200, 200, 200, 200), "high_latency", "warning"),
    "very slow": (replies(650, 640, 660, 650), "high_latency", "critical"),
    "lossy": (replies(*[20] * 19, sent=20), "packet_loss", "warning"),
    "very lossy": (replies(20, 20, 20, sent=4), "packet_loss", "critical"),
    "jittery": (replies(20, 80, 20, 80), "jitter", "warning"),
    "silent": (silent(), "down", "critical"),
}


class Lab:
    """The collector under test with fake probes; each round() is one round, one interval after the last."""

    def __init__(self, config, writer):
        self.config = config
        self.factory = FakeFactory()
        self.at = utcnow().replace(microsecond=0)
        self.collector = Collector(config, writer, probe_factory=self.factory, auto_kind="ping",
                                   now=lambda: self.at, name="e2e")
        self.collector.notifier.start()  # start() would also start the thread; rounds run here, one by one

    def plan(self, rounds: int) -> None:
        """Start the clock so the last of `rounds` rounds lands at about now: the web app, which judges staleness
        by the wall clock, then sees fresh rows."""
        self.at = utcnow().replace(microsecond=0) - timedelta(seconds=self.config.interval_seconds * (rounds - 1))

    def answers(self, probe, server: int = 0) -> None:
        """What the probes answer from now on: `probe` for one server, a clean reply for the others."""
        self.factory.results = {s.id: probe if i == server else GOOD_PROBE for i, s in enumerate(self.config.servers)}

    def round(self, probe=GOOD_PROBE, server: int = 0) -> None:
        """One collector round with that answer, then the clock moves on by the interval."""
        self.answers(probe, server)
        self.collector.run_round()
        self.at += timedelta(seconds=self.config.interval_seconds)

    def webhooks(self) -> list[dict]:
        """Every notification the receiver got, once the notifier has nothing left to send."""
        assert self.collector.notifier.wait_idle(10)
        return self.receiver.delivered()


def api_alerts(client, state: str = "open") -> list[dict]:
    response = client.get(f"/api/alerts?state={state}")
    assert response.status_code == 200
    return response.get_json()["alerts"]


def api_status(client) -> dict[str, dict]:
    return {s["id"]: s for s in client.get("/api/servers/status").get_json()["servers"]}
