"""The filters every read route and the dashboard share (country, partner, server, time window), and their rules.

queries/querystring.py reads them from a query string, the form both the API and the dashboard's URL use."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

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
    collectors: tuple[str, ...] = ()  # vantage points (collector names); empty: all of them


def implied_range(range_name: str | None, start: str | None, end: str | None, default: str = "24h") -> str:
    """The range a query asks for: its range name, else custom when it gives a start or an end, else default."""
    return (range_name or ("custom" if start or end else default)).strip()


EPOCH = datetime(1970, 1, 1)


def settled(filters: Filters, bucket_seconds: int) -> Filters:
    """A live window (a range ending now) moved back to its last whole bucket; a custom window as it is.

    A graph of buckets drawn to "now" changes with every round, since each one lands in the bucket still
    filling, and every change is a full redraw in the browser (~1 s of main thread at 200 servers). Drawn to
    the last whole bucket it changes once per bucket, as SmokePing's and RRD graphs do; the live state is
    the status side's. Start and end move together, so the window keeps its length."""
    if filters.range not in RANGES:
        return filters
    step = max(1, int(bucket_seconds))
    end = filters.end
    aware = end.tzinfo is not None
    naive = end.astimezone(timezone.utc).replace(tzinfo=None) if aware else end
    floored = naive - timedelta(seconds=(naive - EPOCH).total_seconds() % step)
    floored = floored.replace(tzinfo=timezone.utc) if aware else floored
    shift = end - floored
    return replace(filters, start=filters.start - shift, end=floored)
