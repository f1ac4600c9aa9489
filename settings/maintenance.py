"""Maintenance windows as data: their config shape, validation, and when they are active (pure, no I/O).

A window covers one server (its id), one partner or one country, and is either one-off
({"start": "2026-12-01T02:00:00Z", "end": "2026-12-01T04:00:00Z"}) or weekly
({"weekly": {"day": "sunday", "start": "02:00", "duration_minutes": 120, "time_zone": "Europe/Berlin"}}).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SCOPES = ("server", "partner", "country")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_WEEKLY_MINUTES = 7 * 24 * 60
KEYS = (*SCOPES, "start", "end", "weekly", "comment")


@dataclass(frozen=True)
class Window:
    """One maintenance window; times are naive UTC for one-off windows."""

    scope: str
    target: str
    comment: str = ""
    start: datetime | None = None
    end: datetime | None = None
    day: int | None = None  # 0 = Monday
    start_time: tuple[int, int] | None = None
    duration_minutes: float | None = None
    time_zone: str | None = None
    id: int | None = None  # the database row of a window made through the API; None for config windows
    created_by: str | None = None

    def covers(self, server_id: str, partner: str, country: str) -> bool:
        """True when this window is about that server."""
        return {"server": server_id, "partner": partner, "country": country}[self.scope] == self.target

    def spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The occurrences of this window overlapping [start, end), clipped to it, as naive UTC pairs."""
        if self.day is None:
            found = [(self.start, self.end)]
        else:
            found = self._weekly(start, end)
        return [(max(s, start), min(e, end)) for s, e in found if s < end and e > start]

    def _weekly(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Each weekly occurrence starting from a week before `start` to `end`, in the window's time zone."""
        zone = ZoneInfo(self.time_zone)
        duration = timedelta(minutes=self.duration_minutes)
        local = start.replace(tzinfo=timezone.utc).astimezone(zone).date() - timedelta(days=7)
        local -= timedelta(days=(local.weekday() - self.day) % 7)
        found = []
        while True:
            begins = datetime(local.year, local.month, local.day, *self.start_time, tzinfo=zone)
            begins_utc = begins.astimezone(timezone.utc).replace(tzinfo=None)
            if begins_utc >= end:
                return found
            found.append((begins_utc, begins_utc + duration))
            local += timedelta(days=7)

    def active(self, at: datetime) -> bool:
        """True when `at` (naive UTC) is inside an occurrence."""
        return bool(self.spans(at, at + timedelta(microseconds=1)))

    def as_dict(self) -> dict:
        """The config/API shape of this window (plus id and created_by for stored ones)."""
        out: dict[str, Any] = {self.scope: self.target, "comment": self.comment}
        if self.day is None:
            out.update(start=_iso(self.start), end=_iso(self.end))
        else:
            out["weekly"] = {"day": DAYS[self.day], "start": f"{self.start_time[0]:02d}:{self.start_time[1]:02d}",
                             "duration_minutes": self.duration_minutes, "time_zone": self.time_zone}
        if self.id is not None:
            out.update(id=self.id, created_by=self.created_by)
        return out


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(value: Any) -> datetime | None:
    """A naive UTC datetime from an ISO 8601 string with Z or an offset; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # a time without a zone is ambiguous: the rule is UTC, said explicitly
    return parsed.astimezone(timezone.utc).replace(tzinfo=None)


def window_errors(entry: Any, where: str) -> list[str]:
    """Every problem of one window entry, each naming its key path; [] when valid."""
    if not isinstance(entry, dict):
        return [f"{where}: must be an object with one of {', '.join(SCOPES)}, and start/end or weekly"]
    errors = [f"{where}.{key}: unknown key; expected {', '.join(KEYS)}" for key in entry if key not in KEYS]
    scopes = [s for s in SCOPES if s in entry]
    if len(scopes) != 1:
        errors.append(f"{where}: give exactly one of {', '.join(SCOPES)} (found {len(scopes)})")
    for scope in scopes:
        if not isinstance(entry[scope], str) or not entry[scope].strip():
            errors.append(f"{where}.{scope}: {json.dumps(entry[scope])} must be a non-empty string")
    if not isinstance(entry.get("comment", ""), str):
        errors.append(f"{where}.comment: must be a string")
    if "weekly" in entry:
        if "start" in entry or "end" in entry:
            errors.append(f"{where}: a weekly window has no start/end of its own (they go inside weekly)")
        return errors + _weekly_errors(entry["weekly"], f"{where}.weekly")
    return errors + _once_errors(entry, where)


def _once_errors(entry: dict, where: str) -> list[str]:
    """start and end: UTC ISO 8601 with a zone, end after start."""
    errors = []
    for key in ("start", "end"):
        if key not in entry:
            errors.append(f"{where}.{key}: required key is missing (or give weekly)")
        elif parse_utc(entry[key]) is None:
            errors.append(f"{where}.{key}: {json.dumps(entry[key])} must be an ISO 8601 time with a zone, "
                          "e.g. 2026-12-01T02:00:00Z")
    if not errors and parse_utc(entry["end"]) <= parse_utc(entry["start"]):
        errors.append(f"{where}.end: must be after {where}.start")
    return errors


def _weekly_errors(weekly: Any, where: str) -> list[str]:
    """day, start (HH:MM), duration_minutes and an IANA time_zone name."""
    if not isinstance(weekly, dict):
        return [f"{where}: must be an object with day, start, duration_minutes, time_zone"]
    errors = [f"{where}.{key}: unknown key; expected day, start, duration_minutes, time_zone"
              for key in weekly if key not in ("day", "start", "duration_minutes", "time_zone")]
    if str(weekly.get("day", "")).lower() not in DAYS:
        errors.append(f"{where}.day: {json.dumps(weekly.get('day'))} must be one of {', '.join(DAYS)}")
    if _clock(weekly.get("start")) is None:
        errors.append(f"{where}.start: {json.dumps(weekly.get('start'))} must be a time of day HH:MM")
    minutes = weekly.get("duration_minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not 0 < minutes <= MAX_WEEKLY_MINUTES:
        errors.append(f"{where}.duration_minutes: {json.dumps(minutes)} must be a number from 1 to "
                      f"{MAX_WEEKLY_MINUTES} (a week)")
    if not _zone_ok(weekly.get("time_zone")):
        errors.append(f"{where}.time_zone: {json.dumps(weekly.get('time_zone'))} must be an IANA time zone name "
                      "such as Europe/Berlin or UTC")
    return errors


def _clock(value: Any) -> tuple[int, int] | None:
    """(hour, minute) of an 'HH:MM' string, or None."""
    if not isinstance(value, str) or len(value) != 5 or value[2] != ":" or not (value[:2] + value[3:]).isdigit():
        return None
    hour, minute = int(value[:2]), int(value[3:])
    return (hour, minute) if hour < 24 and minute < 60 else None


def _zone_ok(name: Any) -> bool:
    """True for a time zone name the system's tz database knows."""
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def build_window(entry: dict, id: int | None = None, created_by: str | None = None) -> Window:
    """A Window of an entry that passed window_errors()."""
    scope = next(s for s in SCOPES if s in entry)
    common = dict(scope=scope, target=entry[scope], comment=entry.get("comment", ""), id=id, created_by=created_by)
    if "weekly" in entry:
        weekly = entry["weekly"]
        return Window(**common, day=DAYS.index(weekly["day"].lower()), start_time=_clock(weekly["start"]),
                      duration_minutes=float(weekly["duration_minutes"]), time_zone=weekly["time_zone"])
    return Window(**common, start=parse_utc(entry["start"]), end=parse_utc(entry["end"]))


def active_for(windows: Iterable[Window], server_id: str, partner: str, country: str, at: datetime) -> list[Window]:
    """The windows covering that server at `at` (naive UTC)."""
    return [w for w in windows if w.covers(server_id, partner, country) and w.active(at)]
