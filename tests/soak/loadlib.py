"""Many concurrent API clients against a real waitress server while the embedded collector writes rounds.

Used by tests/app/test_reliability_load.py (bounded) and tests/soak/load_soak.py (the full 50 clients x 60 s).
The collector uses instant fake probes so every round is a database write; the server is the real app
(create_app + Services.start_collector) served by waitress with the production thread count.
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from settings import Config, validate_config
from collector.service import Collector
from runtime import EXTENSION_KEY, Runtime
from tests.conftest import make_config_dict
from tests.helpers.fakes import FakeFactory

# What a dashboard, a script and Prometheus ask for: every API route, the ops routes and the dashboard.
ROUTES = ("/api/servers/status", "/api/ping-data?range=1h", "/api/ping-data?group=server&range=24h",
          "/api/ping-data?range=1h&format=csv", "/api/logs?limit=100", "/api/export-data?range=1h&format=json",
          "/api/export-data?range=1h", "/api/openapi.json", "/healthz", "/metrics", "/", "/_dash-layout")
TROUBLE = ("database is locked", "locking protocol", "Traceback", "internal error")


@dataclass
class LoadResult:
    """What the clients saw."""

    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    slowest_seconds: float = 0.0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, path: str, status: int, body: bytes, took: float) -> None:
        """Record one response."""
        self.requests += 1
        self.latencies.append(took)
        self.statuses[status] += 1
        self.slowest_seconds = max(self.slowest_seconds, took)
        found = [t for t in TROUBLE if t.encode() in body]
        if status != 200 or found:
            self.problems.append(f"{path}: {status} {found} {body[:200]!r}")


class LogTrap(logging.Handler):
    """Keeps every WARNING-or-worse record logged while installed (a lock error would show up here)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[str] = []
        self.queued = 0  # waitress's "Task queue depth is N": more clients than threads, requests wait their turn
        self.overruns = 0  # "round overran its interval": a slot skipped (counted in the report), not a loss

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "waitress.queue":
            self.queued += 1
            return
        if record.name == "collector.service" and record.getMessage().startswith("round overran its interval"):
            self.overruns += 1
            return
        self.records.append(f"{record.name} {record.levelname}: {record.getMessage()}")


class Served:
    """The app with its embedded fake-probe collector, served by waitress on 127.0.0.1."""

    def __init__(self, folder: Path, servers: int, interval: float, threads: int = 8):
        from waitress import create_server

        from app import create_app
        self.config = load_config(folder, servers, interval)
        self.app = create_app(self.config, start_collector=False)
        self.runtime: Runtime = self.app.server.extensions[EXTENSION_KEY]
        self.runtime.services.start_collector(fake_collector)
        self.server = create_server(self.app.server, host="127.0.0.1", port=0, threads=threads)
        self.port = self.server.effective_port
        threading.Thread(target=self.server.run, name="waitress", daemon=True).start()

    def close(self) -> None:
        """Stop the collector, the server and the engines."""
        self.server.close()
        self.app.close()

    def rounds(self) -> dict:
        """Rounds stored, rounds the collector ran and lost, and stored rounds missing rows (after close())."""
        with self.runtime.writer.engine.connect() as conn:
            stored = conn.execute(text("SELECT COUNT(*) FROM rounds")).scalar()
            partial = conn.execute(text("SELECT COUNT(*) FROM rounds r WHERE r.servers != (SELECT COUNT(*) "
                                        "FROM ping_results p WHERE p.round_id = r.id)")).scalar()
        collector = self.runtime.collector
        return {"stored": stored, "run": collector.rounds_run, "lost": collector.rounds_lost, "partial": partial}


def load_config(folder: Path, servers: int, interval: float) -> Config:
    """`servers` loopback servers in a few countries, a round every `interval` seconds."""
    entries = [{"partner": f"Partner {i % 7}", "country": f"Country {i % 5}", "ip": f"127.0.{i // 250}.{i % 250 + 1}",
                "dn_ext": f"sip{i}.example", "probe": "ping"} for i in range(servers)]
    data = make_config_dict(folder, servers=entries, interval_seconds=interval, stale_after_seconds=60)
    return validate_config(data, source=str(folder / "config.json"))


def fake_collector(config: Config, writer) -> Collector:
    """The embedded collector with instant fake probes: each round is one write."""
    return Collector(config, writer, probe_factory=FakeFactory(), auto_kind="ping", name="load")


def client_loop(port: int, until: float, result: LoadResult, lock: threading.Lock, seed: int) -> None:
    """One client: random routes over a keep-alive connection until the deadline."""
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    while time.monotonic() < until:
        path = rng.choice(ROUTES)
        start = time.monotonic()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            status, body = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            status, body = 0, repr(exc).encode()
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        with lock:
            result.add(path, status, body, time.monotonic() - start)
    conn.close()


def hammer_here(port: int, clients: int, seconds: float) -> LoadResult:
    """Run `clients` concurrent client threads in this process for `seconds`."""
    result, lock = LoadResult(), threading.Lock()
    start = time.monotonic()
    until = start + seconds
    threads = [threading.Thread(target=client_loop, args=(port, until, result, lock, i), daemon=True)
               for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    result.seconds = time.monotonic() - start
    return result


def hammer(port: int, clients: int, seconds: float) -> LoadResult:
    """The clients in a child process, as real clients are: they do not share the server's interpreter lock."""
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-m", "tests.soak.loadlib", str(port), str(clients), str(seconds)],
                          cwd=repo, capture_output=True, text=True, timeout=seconds + 180,
                          env=dict(os.environ, PYTHONPATH=str(repo)))
    if done.returncode != 0:
        raise RuntimeError(f"load clients failed: {done.stderr[-2000:]}")
    data = json.loads(done.stdout)
    return LoadResult(data["requests"], Counter({int(k): v for k, v in data["statuses"].items()}),
                      data["problems"], data["slowest_seconds"], data["seconds"], data["latencies"])


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run(folder: Path, clients: int, seconds: float, servers: int, interval: float) -> tuple[LoadResult, dict, list]:
    """Serve, hammer, stop; returns (client results, round counts, warning-or-worse log lines)."""
    trap = LogTrap()
    logging.getLogger().addHandler(trap)
    served = Served(folder, servers, interval)
    try:
        result = hammer(served.port, clients, seconds)
    finally:
        served.close()
        logging.getLogger().removeHandler(trap)
    return result, dict(served.rounds(), queue_warnings=trap.queued, overruns=trap.overruns), trap.records


if __name__ == "__main__":
    # Client mode: python -m tests.soak.loadlib PORT CLIENTS SECONDS prints the LoadResult as JSON.
    found = hammer_here(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
    print(json.dumps({"requests": found.requests, "statuses": found.statuses, "problems": found.problems[:50],
                      "slowest_seconds": found.slowest_seconds, "seconds": found.seconds,
                      "latencies": found.latencies}))
