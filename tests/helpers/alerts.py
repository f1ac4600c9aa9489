"""Alerts for tests: probe results that trip (or pass) the default rules, and alerts stored in the database."""
from __future__ import annotations

from datetime import datetime, timedelta

from collector.alerts import (CONNECTIVITY_RULE, HOST, OpenAlert, Subject, describe, make_event, rules_from_config,
                              stale_rule)
from collector.measure import Measurement, measure
from collector.probes.base import ProbeResult
from storage.alertstore import apply_events


def replies(*rtts: float, sent: int | None = None) -> ProbeResult:
    """A probe that got these replies out of `sent` packets (default: one per reply, no loss)."""
    return ProbeResult(transmitted=sent or len(rtts), received=len(rtts), samples_ms=list(rtts))


def silent(sent: int = 4) -> ProbeResult:
    """A probe that got no reply at all."""
    return ProbeResult(transmitted=sent, received=0)


BAD_PROBES = {
    # name: (probe result, expected kind, expected severity); limits are the conftest config's defaults
    "slow": (replies(200, 200, 200, 200), "latency", "warning"),
    "very slow": (replies(600, 600, 600, 600), "latency", "critical"),
    "lossy": (replies(*[20] * 19, sent=20), "loss", "warning"),
    "very lossy": (replies(20, 20, 20, sent=4), "loss", "critical"),
    "jittery": (replies(20, 80, 20, 80), "jitter", "warning"),
    "silent": (silent(), "down", "critical"),
    "unknown host": (ProbeResult.failed(4, "ping: nosuch.example: Name or service not known"), "down", "critical"),
}
GOOD_PROBE = replies(20, 20, 20, 20)


def measured(config, probe: ProbeResult) -> Measurement:
    """A Measurement through the project's own measure()."""
    return measure(probe, config.thresholds)


def store_alert(writer, config, server: int | None, kind: str, severity: str, peak: float, started: datetime,
                resolved: datetime | None = None) -> None:
    """Open one alert (and resolve it when `resolved` is given) through the collector's own store path."""
    rules = {r.kind: r for r in rules_from_config(config)}
    rule = {"connectivity": CONNECTIVITY_RULE, "stale": stale_rule(config.stale_after_seconds)}.get(kind) or rules[kind]
    s = config.servers[server] if server is not None else None
    subject = Subject(s.id, s.partner, s.country) if s else HOST
    alert = OpenAlert(subject, severity, peak, started)
    opened = make_event("open", rule, subject, alert, peak, started, describe(rule, subject, peak, severity),
                        collector="test")
    events = [opened]
    if resolved is not None:
        events.append(make_event("resolve", rule, subject, alert, peak, resolved, f"{rule.label} resolved",
                                 collector="test"))
    assert len(apply_events(writer, events)) == len(events)


def seed_alerts(writer, config, now: datetime) -> dict[str, datetime]:
    """Five alerts around `now`: two open, two resolved in the last day, one resolved three days ago."""
    times = {"latency": now - timedelta(minutes=30), "jitter": now - timedelta(minutes=10),
             "loss": now - timedelta(hours=5), "connectivity": now - timedelta(hours=2),
             "down": now - timedelta(days=3)}
    store_alert(writer, config, 0, "latency", "critical", 612.0, times["latency"])
    store_alert(writer, config, 1, "jitter", "warning", 41.5, times["jitter"])
    store_alert(writer, config, 2, "loss", "warning", 4.0, times["loss"], resolved=times["loss"] + timedelta(hours=1))
    store_alert(writer, config, None, "connectivity", "critical", 0.0, times["connectivity"],
                resolved=times["connectivity"] + timedelta(minutes=10))
    store_alert(writer, config, 3, "down", "critical", 0.0, times["down"], resolved=times["down"] + timedelta(hours=2))
    return times
