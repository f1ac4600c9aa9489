"""Query-string parsing for the API: every problem becomes a QueryError naming the parameter (a 400)."""
from __future__ import annotations

import re
from datetime import datetime

from werkzeug.datastructures import MultiDict

from queries.filters import Filters, QueryError
from queries.querystring import parse_filters, parse_time

_WHOLE_NUMBER = re.compile(r"\d{1,9}", re.ASCII)  # ASCII: int() would also accept "١٢" and "1_0"


def single(args: MultiDict, name: str) -> str | None:
    """The value of a parameter that may appear at most once; None when absent or blank."""
    values = args.getlist(name)
    if len(values) > 1:
        raise QueryError(name, f"may be given only once, got {len(values)} values")
    value = values[0].strip() if values else ""
    return value or None


def choice(args: MultiDict, name: str, choices: tuple[str, ...], default: str) -> str:
    """A parameter restricted to `choices`; the default when absent."""
    value = single(args, name)
    if value is None:
        return default
    if value not in choices:
        raise QueryError(name, f"{value!r} is not one of {', '.join(choices)}")
    return value


def bounded_int(args: MultiDict, name: str, default: int, low: int, high: int) -> int:
    """A whole-number parameter within [low, high]; the default when absent."""
    value = single(args, name)
    if value is None:
        return default
    expected = f"must be a whole number from {low} to {high}"
    if not _WHOLE_NUMBER.fullmatch(value):
        raise QueryError(name, f"{value!r} {expected}")
    if not low <= int(value) <= high:
        raise QueryError(name, f"{value} {expected}")
    return int(value)


def optional_time(args: MultiDict, name: str) -> datetime | None:
    """An ISO 8601 time parameter as naive UTC; None when absent."""
    value = single(args, name)
    return None if value is None else parse_time(name, value)


def filters_from(args: MultiDict) -> Filters:
    """The country/partner/server/range filters shared by /api/ping-data, /api/export-data and /api/alerts."""
    for name in ("range", "start", "end"):
        single(args, name)  # rejects repeats, which parse_filters would silently resolve to the first
    return parse_filters(args)
