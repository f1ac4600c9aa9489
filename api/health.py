"""GET /healthz: is the app up, and is the collector still finishing rounds on time?"""
from __future__ import annotations

from datetime import datetime

from collector.config import Config
from storage.timeutil import iso_z


def overdue_after_seconds(config: Config) -> float:
    """How long after a round another one must have finished: two intervals plus one round's worst-case probe time."""
    return 2 * float(config.interval_seconds) + float(config.ping_timeout) * int(config.ping_count)


def health_report(last_finished: datetime | None, up_since: datetime, now: datetime,
                  config: Config) -> tuple[dict, int]:
    """The /healthz body and status code from the last finished round and when this app started."""
    limit = overdue_after_seconds(config)
    body = {"checked_at": iso_z(now), "last_round_finished_at": iso_z(last_finished),
            "seconds_since_last_round": None, "overdue_after_seconds": limit}
    if last_finished is None:
        return _no_round_yet(body, (now - up_since).total_seconds(), limit)
    age = max(0.0, (now - last_finished).total_seconds())
    body["seconds_since_last_round"] = round(age, 1)
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


def database_down_report(now: datetime, config: Config, exc: Exception) -> tuple[dict, int]:
    """The /healthz body when the database cannot be read."""
    return {"checked_at": iso_z(now), "last_round_finished_at": None, "seconds_since_last_round": None,
            "overdue_after_seconds": overdue_after_seconds(config), "status": "error",
            "reason": f"cannot read the database: {type(exc).__name__}"}, 503
