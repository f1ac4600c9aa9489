"""Filters from a query string: the API's parameters and the dashboard's URL are parsed here, one way."""
from __future__ import annotations

from datetime import datetime, timedelta

from common.timeutil import to_naive_utc, utcnow
from queries.filters import MAX_CUSTOM_DAYS, MAX_VALUES, RANGE_CHOICES, RANGES, Filters, QueryError, implied_range


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
    name = implied_range(range_name, start, end)
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


def repeated_values(args, name: str) -> tuple[str, ...]:
    """A repeatable parameter's values, also comma-separated; blanks and duplicates dropped, at most MAX_VALUES."""
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
    return Filters(start=start, end=end, range=name, countries=repeated_values(args, "country"),
                   partners=repeated_values(args, "partner"), servers=repeated_values(args, "server"),
                   collectors=repeated_values(args, "collector"))
