"""The time zone the dashboard shows times in: names, and stored naive-UTC times moved into it and back.

Everything is stored and queried in naive UTC (common.timeutil); only what a person reads is in the display
zone, named by an IANA name ("UTC", "Africa/Nairobi"). LOCAL stands for the browser's own zone, which only the
browser knows (the dashboard asks it and passes the name it gives). Plotly's date axes know no zones, so a
figure draws wall-clock times of the display zone: a DST change shows as a step in the time axis.

pandas is imported where a function takes pandas values, not at the top: the settings layer (validating
display_timezone) and so the collector alone must not load it (tests/test_layers.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_NAME = "UTC"
LOCAL = "local"  # the browser's own zone


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    """The ZoneInfo of an IANA name, or None when the name is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):  # ValueError: a path-like or malformed key
        return None


def is_zone_name(name) -> bool:
    """True for an IANA time zone name this machine knows ('UTC', 'Africa/Nairobi')."""
    return isinstance(name, str) and bool(name.strip()) and _zone(name.strip()) is not None


def zone_name(name: str | None) -> str:
    """A usable zone name: the name given when it is one, else UTC."""
    return name.strip() if is_zone_name(name) else UTC_NAME


def is_utc(name: str | None) -> bool:
    """True when times in this zone are the stored UTC times unchanged."""
    zone = zone_name(name)
    return zone in ("UTC", "Etc/UTC", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu", "GMT", "Etc/GMT")


def to_display(values, name: str | None):
    """Stored naive-UTC times (a datetime, Timestamp, Series or DatetimeIndex) as naive wall-clock times of the
    zone; missing values stay missing; UTC returns the values unchanged."""
    import pandas as pd
    if is_utc(name) or values is None:
        return values
    zone = zone_name(name)
    if isinstance(values, pd.Series):
        stamps = pd.to_datetime(values)
        return stamps.dt.tz_localize("UTC").dt.tz_convert(zone).dt.tz_localize(None)
    if isinstance(values, pd.DatetimeIndex):
        return values.tz_localize("UTC").tz_convert(zone).tz_localize(None)
    if isinstance(values, (list, tuple)):
        return type(values)(to_display(v, name) for v in values)
    if values is pd.NaT or pd.isna(values):
        return values
    stamp = pd.Timestamp(values)
    moved = stamp.tz_localize("UTC").tz_convert(zone).tz_localize(None)
    return moved.to_pydatetime() if isinstance(values, datetime) and not isinstance(values, pd.Timestamp) else moved


def to_utc(value: datetime, name: str | None) -> datetime:
    """A naive wall-clock time of the zone (what an axis or a time field shows) as naive UTC; in a DST overlap
    the earlier of the two, in a DST gap the time as if the clocks had not changed yet."""
    if is_utc(name):
        return value
    aware = value.replace(tzinfo=_zone(zone_name(name)))
    return aware.astimezone(timezone.utc).replace(tzinfo=None)


def utc_offset(name: str | None, at: datetime) -> timedelta:
    """The zone's offset from UTC at the (naive UTC) time `at`."""
    if is_utc(name):
        return timedelta(0)
    return at.replace(tzinfo=timezone.utc).astimezone(_zone(zone_name(name))).utcoffset() or timedelta(0)


def offset_text(offset: timedelta, compact: bool = False) -> str:
    """'+03:00' ('+0300' when compact), '-05:30'; '+00:00' for UTC itself."""
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{'' if compact else ':'}{minutes:02d}"


def zone_label(name: str | None, at: datetime) -> str:
    """How a page names the zone its times are in: 'UTC', or 'Africa/Nairobi (UTC+03:00)'."""
    if is_utc(name):
        return "UTC"
    return f"{zone_name(name)} (UTC{offset_text(utc_offset(name, at))})"


def short_label(name: str | None, at: datetime) -> str:
    """A zone's name as a column header or a badge has room for: 'UTC', 'UTC+03:00'."""
    return "UTC" if is_utc(name) else f"UTC{offset_text(utc_offset(name, at))}"


def time_text(value, name: str | None, seconds: bool = False, missing: str = "–") -> str:
    """A stored (naive UTC) time as 'YYYY-MM-DD HH:MM[:SS]' (24-hour) in the zone."""
    import pandas as pd
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return missing
    stamp = to_display(pd.Timestamp(value), name)
    return stamp.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def clock_text(value, name: str | None, seconds: bool = False, missing: str = "–") -> str:
    """A stored (naive UTC) time as 'HH:MM[:SS]' (24-hour) in the zone."""
    import pandas as pd
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return missing
    return to_display(pd.Timestamp(value), name).strftime("%H:%M:%S" if seconds else "%H:%M")
