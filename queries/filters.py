"""Parse and validate the filters every read route and the dashboard share (country, partner, server, range)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storage.timeutil import to_naive_utc, utcnow

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}
RANGE_CHOICES = (*RANGES, "custom")
MAX_CUSTOM_DAYS = 400
# A cap on values per repeatable parameter: each becomes a bound SQL variable and SQLite
# builds before 3.32 allow only 999 of them per statement.
MAX_VALUES = 300


class QueryError(ValueError):
    """A bad query parameter; `param` names it and the message says what was expected."""

    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param


@dataclass(frozen=True)
class Filters:
    """Which rows a view or export selects; empty tuples mean 'all'."""

    start: datetime
    end: datetime
    range: str = "24h"
    countries: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    servers: tuple[str, ...] = field(default=())


def parse_time(param: str, value: str | None) -> datetime:
    """ISO 8601 with an offset or Z; a naive time means UTC. Returns naive UTC."""
    if not value:
        raise QueryError(param, "is required when range=custom (ISO 8601, e.g. 2026-11-01T00:00:00Z)")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z").replace("Z", "+00:00"))
        # OverflowError: an offset that moves year 1 or 9999 out of range when converted to UTC.
        return to_naive_utc(parsed)
    except (ValueError, OverflowError):
        raise QueryError(param, f"{value!r} is not an ISO 8601 date-time (e.g. 2026-11-01T00:00:00Z)") from None


def time_window(range_name: str | None, start: str | None, end: str | None,
                now: datetime | None = None) -> tuple[str, datetime, datetime]:
    """Resolve a range name (or custom start/end) to (range, start, end) in naive UTC.

    Without a range name, a start or end implies range=custom rather than being silently ignored.
    """
    implied = "custom" if start or end else "24h"
    name = (range_name or implied).strip()
    if name not in RANGE_CHOICES:
        raise QueryError("range", f"{name!r} is not one of {', '.join(RANGE_CHOICES)}")
    if name != "custom":
        end_at = now or utcnow()
        return name, end_at - RANGES[name], end_at
    start_at, end_at = parse_time("start", start), parse_time("end", end)
    if start_at >= end_at:
        raise QueryError("start", "must be before end")
    if end_at - start_at > timedelta(days=MAX_CUSTOM_DAYS):
        raise QueryError("end", f"a custom range may span at most {MAX_CUSTOM_DAYS} days")
    return name, start_at, end_at


def without_nul(param: str, value: str) -> str:
    """The value, unless it holds a NUL character: PostgreSQL text cannot store one, so no stored row could match
    it, and binding it there fails the whole query."""
    if "\x00" in value:
        raise QueryError(param, "must not contain a NUL character (%00)")
    return value


def _values(args, name: str) -> tuple[str, ...]:
    """Repeatable parameter values, also accepting comma-separated lists; blanks dropped."""
    getlist = getattr(args, "getlist", None)
    raw = getlist(name) if getlist else ([args[name]] if name in args else [])
    if isinstance(raw, str):
        raw = [raw]
    out = []
    for item in raw or []:
        items = item if isinstance(item, (list, tuple)) else str(item).split(",")
        out.extend(without_nul(name, str(v).strip()) for v in items if str(v).strip())
    unique = tuple(dict.fromkeys(out))
    if len(unique) > MAX_VALUES:
        raise QueryError(name, f"at most {MAX_VALUES} values may be given, got {len(unique)}")
    return unique


def parse_filters(args, now: datetime | None = None) -> Filters:
    """Build Filters from a mapping of query parameters (a Flask MultiDict or a plain dict)."""
    get = args.get
    name, start, end = time_window(get("range"), get("start"), get("end"), now)
    return Filters(start=start, end=end, range=name, countries=_values(args, "country"),
                   partners=_values(args, "partner"), servers=_values(args, "server"))
