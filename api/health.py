"""GET /healthz: is the app up, is the collector still finishing rounds on time, and can it store them?"""
from __future__ import annotations

from datetime import datetime

from settings import Config
from common.timeutil import iso_z

NO_COLLECTOR = {"running": None, "last_round_at": None, "last_error": None, "rounds_waiting": None}


def overdue_after_seconds(config: Config) -> float:
    """How long after a round another one must have finished: two intervals plus one round's worst-case probe time."""
    return 2 * float(config.interval_seconds) + float(config.ping_timeout) * int(config.ping_count)


def health_report(last_finished: datetime | None, up_since: datetime, now: datetime,
                  config: Config, collector: dict | None = None) -> tuple[dict, int]:
    """The /healthz body and status code from the last stored round, this app's start and its collector.

    `collector` is runtime.collector_state(): running is None when the collector is not in this process
    (pinger.py runs it, or --no-collector); then only the rounds table tells.
    """
    collector = collector or NO_COLLECTOR
    limit = overdue_after_seconds(config)
    body = {"checked_at": iso_z(now), "last_round_finished_at": iso_z(last_finished),
            "seconds_since_last_round": None, "overdue_after_seconds": limit, "collector": collector}
    if last_finished is not None:
        body["seconds_since_last_round"] = round(max(0.0, (now - last_finished).total_seconds()), 1)
    # A collector that cannot write, or whose thread is gone, is the most useful thing to report: an overdue
    # round would only be its symptom.
    if collector["last_error"] is not None:
        return dict(body, status="error", reason=f"the collector reports: {collector['last_error']}"), 503
    if last_finished is None:
        return _no_round_yet(body, (now - up_since).total_seconds(), limit)
    age = body["seconds_since_last_round"]
    if age > limit:
        return dict(body, status="overdue", reason=f"the last round finished {age:.0f} s ago; "
                                                    f"one is expected at least every {limit:.0f} s"), 503
    return dict(body, status="ok", reason=f"the last round finished {age:.0f} s ago"), 200


def _no_round_yet(body: dict, running: float, limit: float) -> tuple[dict, int]:
    """No round ever stored: fine while starting up, overdue once the first one should have finished."""
    if running > limit:
        return dict(body, status="overdue", reason=f"no round recorded in the {running:.0f} s since start; "
                                                    f"the first was due within {limit:.0f} s"), 503
    return dict(body, status="starting", reason=f"no round recorded yet ({running:.0f} s since start)"), 200


def database_down_report(now: datetime, config: Config, exc: Exception,
                         collector: dict | None = None) -> tuple[dict, int]:
    """The /healthz body when the database cannot be read."""
    return {"checked_at": iso_z(now), "last_round_finished_at": None, "seconds_since_last_round": None,
            "overdue_after_seconds": overdue_after_seconds(config), "collector": collector or NO_COLLECTOR,
            "status": "error", "reason": f"cannot read the database: {type(exc).__name__}"}, 503
