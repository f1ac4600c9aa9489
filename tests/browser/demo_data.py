"""A few days of varied, deterministic history through the real write path (measure + Writer).

Used by the browser tests and to make the screenshots: servers in several countries, each with its own
behaviour (steady, jittery, lossy, congested in the evening, high latency, down now, stale, a collector
outage), plus log lines, and the alerts the collector and the stale watcher would have raised meanwhile.
"""
from __future__ import annotations

import json
import logging
import math
import random
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from collector.alertmanager import AlertManager
from settings import Config, validate_config
from collector.measure import Measurement
from collector.probes.base import ProbeResult
from runtime.stale import StaleWatcher
from storage.compact import t_us
from storage.schema import RAW_COLUMNS, ping_results
from storage.writer import Writer
from tests.seeding import seed_history

DEMO_SERVERS = [
    {"partner": "Safari Voice", "country": "Kenya", "ip": "10.20.1.10", "dn_ext": "sip.safarivoice.example"},
    {"partner": "Safari Voice", "country": "Kenya", "ip": "10.20.1.11", "dn_ext": "sip2.safarivoice.example"},
    {"partner": "Lagos Link", "country": "Nigeria", "ip": "10.30.4.20", "dn_ext": "trunk.lagoslink.example"},
    {"partner": "Lagos Link", "country": "Nigeria", "ip": "10.30.4.21", "dn_ext": "backup.lagoslink.example"},
    {"partner": "Nile Telecom", "country": "Egypt", "ip": "10.40.2.5", "dn_ext": "sbc.niletel.example"},
    {"partner": "Cape Carrier", "country": "South Africa", "ip": "10.50.9.1", "dn_ext": "sip.capecarrier.example"},
    {"partner": "Cape Carrier", "country": "South Africa", "ip": "10.50.9.2", "dn_ext": "sbc.capecarrier.example"},
    {"partner": "Accra Tel", "country": "Ghana", "ip": "10.60.0.8", "dn_ext": "voice.accratel.example"},
    {"partner": "Atlas Voice", "country": "Morocco", "ip": "10.70.3.3", "dn_ext": "sip.atlasvoice.example"},
]
STALE_SERVER = "10.50.9.2"
DOWN_SERVER = "10.30.4.21"
# (base RTT ms, jitter ms, loss probability) per server.
BEHAVIOUR = {
    "10.20.1.10": (42, 1.5, 0.0), "10.20.1.11": (58, 5, 0.002), "10.30.4.20": (105, 3, 0.03),
    "10.30.4.21": (96, 2, 0.0), "10.40.2.5": (168, 4, 0.004), "10.50.9.1": (24, 0.8, 0.0),
    "10.50.9.2": (31, 1, 0.0), "10.60.0.8": (78, 2.5, 0.0), "10.70.3.3": (132, 3, 0.01),
}


def demo_config_dict(database_path: str | Path, **overrides) -> dict:
    """A config for the demo servers on the given database (10 packets per round, like SmokePing's 20)."""
    data = {"database_path": str(database_path), "servers": [dict(s) for s in DEMO_SERVERS], "ping_count": 10,
            "ping_timeout": 1, "interval_seconds": 300, "stale_after_seconds": 900, "log_file": None,
            "latency_thresholds": {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}}
    data.update(overrides)
    return data


def _evening_factor(at: datetime) -> float:
    """Congestion from 17:00 to 23:00 UTC, peaking at 20:00 (1.0 = none)."""
    hour = at.hour + at.minute / 60
    return 1.0 + 1.6 * max(0.0, math.cos((hour - 20) / 3 * math.pi / 2)) if 17 <= hour <= 23 else 1.0


def _rtts(server_ip: str, at: datetime, rng: random.Random, count: int) -> list[float | None]:
    """One round's per-packet RTTs (None = lost) for a server at a time."""
    base, jitter, loss = BEHAVIOUR[server_ip]
    if server_ip == "10.60.0.8":
        base *= _evening_factor(at)
    if server_ip == "10.30.4.20" and at.hour in (9, 10):
        loss = 0.25
    return [None if rng.random() < loss else round(max(1.0, rng.gauss(base, jitter) + _spike(rng, base)), 2)
            for _ in range(count)]


def _spike(rng: random.Random, base: float) -> float:
    """Now and then one packet queues behind others: extra delay of up to twice the base RTT."""
    return rng.uniform(0.3, 2.0) * base if rng.random() < 0.006 else 0.0


def make_profile(config: Config, times: list[datetime], down_after: datetime | None, seed: int = 7):
    """A seeding profile (server index, round index) -> ProbeResult for these round times."""
    def profile(k: int, r: int) -> ProbeResult:
        """The probe result of server k in round r."""
        server = config.servers[k]
        at = times[r]
        if server.ip == DOWN_SERVER and down_after is not None and at >= down_after:
            return ProbeResult(transmitted=config.ping_count, received=0, samples_ms=[None] * config.ping_count)
        rng = random.Random(f"{seed}:{server.ip}:{at.isoformat()}")
        samples = _rtts(server.ip, at, rng, config.ping_count)
        return ProbeResult(transmitted=len(samples), received=sum(s is not None for s in samples), samples_ms=samples)
    return profile


def _phase(writer: Writer, config: Config, end: datetime, rounds: int, interval: int, down_after) -> None:
    """Seed `rounds` rounds ending at `end` with the demo behaviour."""
    if rounds <= 0:
        return
    times = [end - timedelta(seconds=interval * (rounds - 1 - i)) for i in range(rounds)]
    seed_history(writer, config, end, rounds, interval, profile=make_profile(config, times, down_after),
                 collector="demo")


def seed_demo(writer: Writer, config: Config, end: datetime, days: float = 4, interval: int = 300) -> None:
    """Seed `days` of history ending at `end`: a 2-hour collector outage 9 h ago, one server down for
    the last 25 minutes, one stale (nothing for the last 40 minutes); and the alerts all that raised."""
    gap_end = end - timedelta(hours=7)
    gap_start = gap_end - timedelta(hours=2)
    fresh_start = end - timedelta(minutes=40)
    down_after = end - timedelta(minutes=25)
    total = int(days * 86400 // interval)
    before_gap = total - int((end - gap_start).total_seconds() // interval)
    alerts = AlertReplay(writer, config, end)
    _phase(writer, config, gap_start, before_gap, interval, down_after)
    alerts.replay()
    alerts.watch(gap_start + timedelta(seconds=config.stale_after_seconds + 60))  # the outage: all go stale
    _phase(writer, config, fresh_start, int((fresh_start - gap_end).total_seconds() // interval) + 1, interval,
           down_after)
    alerts.watch(gap_end + timedelta(minutes=1))  # ... and recover
    without_stale = validate_config(dict(config.raw, servers=[s for s in config.raw["servers"]
                                                              if s["ip"] != STALE_SERVER]), source=config.source)
    _phase(writer, without_stale, end, int((end - fresh_start).total_seconds() // interval), interval, down_after)
    alerts.replay()
    alerts.watch(end)
    seed_logs(writer, end)


def _measurement(row) -> Measurement:
    """A stored ping_results row back as the Measurement it was written from."""
    values = {f.name: row[f.name] for f in fields(Measurement)}
    values["samples"] = json.loads(row["samples"] or "[]")
    return Measurement(**values)


class AlertReplay:
    """Feeds the stored rounds, oldest first, through the collector's real alert life cycle, and runs the
    stale watcher at chosen moments, so the demo's alerts are the ones the app itself would have raised."""

    def __init__(self, writer: Writer, config: Config, end: datetime):
        self.writer, self.config = writer, config
        self.servers = {s.id: s for s in config.servers}
        self.manager = AlertManager(config, writer, name="demo", now=lambda: end)
        self.done: datetime | None = None

    def replay(self) -> None:
        """Evaluate every stored round newer than the last one replayed."""
        stmt = select(*RAW_COLUMNS).order_by(ping_results.c.t_us, ping_results.c.id)
        if self.done is not None:  # on t_us: the view's timestamp is computed, a filter on it reads every row
            stmt = stmt.where(ping_results.c.t_us > t_us(self.done))
        with self.writer.engine.connect() as conn:
            rows = list(conn.execute(stmt).mappings())
        rounds: dict[datetime, list] = {}
        for row in rows:
            rounds.setdefault(row["timestamp"], []).append((self.servers[row["server_id"]], _measurement(row)))
        with _quiet():
            for at, measured in rounds.items():
                self.manager.on_round(measured, at)
        self.done = max(rounds, default=self.done)

    def watch(self, at: datetime) -> None:
        """One stale check as the web app's watcher would make it at `at`."""
        with _quiet():
            StaleWatcher(self.config, self.writer, self.writer.engine, now=lambda: at).check_once()


@contextmanager
def _quiet():
    """No alert lines on the console while seeding (a demo raises dozens)."""
    logger = logging.getLogger("collector")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


# Lines about a moment: (5-minute steps before the end, level, module, message, server id); every other step
# of the last two hours logs the collector's routine "round finished" line, as a real collector does.
DEMO_LOG_EVENTS = (
    (5, "ERROR", "collector.alerts", f"alert opened: Down on Lagos Link Nigeria ({DOWN_SERVER}): 0 of 10 replies "
                                     "(critical: below 1)", DOWN_SERVER),
    (8, "WARNING", "collector.alerts", "alert opened: High latency on Nile Telecom Egypt (10.40.2.5): 171.3 ms "
                                       "(warning: above 150.0 ms)", "10.40.2.5"),
    (14, "INFO", "app", "serving on http://127.0.0.1:5000/ (collector running)", None),
    (20, "ERROR", "collector.probes.ping", "ping exited with code 2 for 10.30.4.21: network unreachable", None),
)
DEMO_LOG_STEPS = 24
ROUTINE_RUN_NEWEST = 5  # routine lines newer than the first event (steps 0..4)


def seed_logs(writer: Writer, end: datetime) -> None:
    """Two hours of log lines like the collector's, newest at `end`: a routine line per round and a few that
    need reading (alerts, a probe error, a start)."""
    events = {step: rest for step, *rest in DEMO_LOG_EVENTS}
    rows = []
    for step in range(DEMO_LOG_STEPS):
        level, module, message, server_id = events.get(step, (
            "INFO", "collector.service", f"round finished in 1.{step % 7} s: 9/9 servers answered, "
                                         f"{2 + step % 3} with concerns", None))
        rows.append({"timestamp": end - timedelta(minutes=5 * step), "level": level, "message": message,
                     "module": module, "traceback": None, "collector": "demo", "server_id": server_id})
    writer.write_logs(rows)
