"""One representation of time: naive datetimes in UTC in the database, ISO 8601 with Z outside."""
from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """The current time as a naive UTC datetime, the form stored in every table."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_naive_utc(value: datetime) -> datetime:
    """Convert an aware datetime to naive UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def iso_z(value: datetime | None) -> str | None:
    """Format a stored (naive UTC) datetime as ISO 8601 with a Z."""
    if value is None:
        return None
    return to_naive_utc(value).isoformat(timespec="seconds") + "Z"
