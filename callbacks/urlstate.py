"""The filters' two forms: the URL query string (the API's parameter names) and the filter controls.

The URL keeps times in UTC (start/end with a Z, as the API takes them) and the time zone choice as tz=; the
controls show the custom window's dates and times in the display zone (common.timezones)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlencode

from callbacks.common import query_args
from common import timezones as tzs
from layouts.filters import DEFAULT_RANGE
from queries.filters import RANGE_CHOICES, QueryError, implied_range
from queries.querystring import repeated_values

SERVER_PATH = "/server/"
TZ_PARAM = "tz"
CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")  # a 24-hour HH:MM
# View choices that live in the URL beside the filters, set by the page itself (assets/30_wall.js): the
# tile order and the wall view. A filter change keeps them.
VIEW_PARAMS = ("order", "kiosk", "cycle")


def tz_choice(value) -> str | None:
    """A time zone choice as the URL and the selector name it ('UTC', 'local' or an IANA name); None when the
    value is none of those."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if value.lower() == tzs.LOCAL:
        return tzs.LOCAL
    if value.upper() == tzs.UTC_NAME:
        return tzs.UTC_NAME
    return value if tzs.is_zone_name(value) else None


def display_zone(choice: str | None, browser_zone: str | None) -> str:
    """The zone times are shown in for a choice: the browser's own for 'local' (UTC until it is known)."""
    if choice == tzs.LOCAL:
        return tzs.zone_name(browser_zone)
    return tzs.zone_name(choice)


def clock_value(time: str | None) -> str | None:
    """'8:05' or '08:05' as '08:05'; None unless it is a 24-hour time."""
    match = CLOCK.fullmatch((time or "").strip())
    return f"{int(match.group(1)):02d}:{match.group(2)}" if match else None


def _iso(date: str | None, time: str | None, zone: str | None = None) -> str | None:
    """'2026-11-01' and '13:05' in the zone as UTC '2026-11-01T10:05:00Z' (None without a date); a time that is
    not HH:MM is passed on as typed, so parsing the query names it."""
    if not date:
        return None
    clock = clock_value(time or "00:00")
    if clock is None:
        return f"{str(date)[:10]}T{time}"
    try:
        local = datetime.fromisoformat(f"{str(date)[:10]}T{clock}")
    except ValueError:
        return f"{str(date)[:10]}T{clock}:00Z"
    return tzs.to_utc(local, zone).strftime("%Y-%m-%dT%H:%M:%SZ")


def query_from_controls(countries, partners, range_name, start_date, end_date, start_time, end_time,
                        tz: str | None = None, zone: str | None = None, default_tz: str = tzs.UTC_NAME,
                        collectors=()) -> str:
    """The query string for the controls' values; the custom window's dates and times are read in `zone` and
    written in UTC; `tz` (the zone choice) is written unless it is the default; collectors: the vantage points."""
    params = [("country", c) for c in countries or []] + [("partner", p) for p in partners or []]
    params += [("collector", c) for c in collectors or []]
    params.append(("range", range_name or DEFAULT_RANGE))
    if range_name == "custom":
        start, end = _iso(start_date, start_time, zone), _iso(end_date, end_time, zone)
        params += [(k, v) for k, v in (("start", start), ("end", end)) if v]
    if tz and tz != default_tz:
        params.append((TZ_PARAM, tz))
    return "?" + urlencode(params)


def with_view_params(query: str, current_search: str | None) -> str:
    """query (from the filter controls) with the current URL's VIEW_PARAMS appended."""
    kept = [(k, v) for k, v in query_args(current_search).items(multi=True) if k in VIEW_PARAMS]
    if not kept:
        return query
    return query + ("&" if query.strip("?") else "") + urlencode(kept)


def _split_iso(value: str | None, zone: str | None = None) -> tuple[str | None, str | None]:
    """'2026-11-01T13:05:00Z' as ('2026-11-01', '13:05') in the zone; (None, None) when absent or malformed."""
    if not value or len(value) < 10:
        return None, None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        time = value[11:16] if len(value) >= 16 and value[10] in "T " else "00:00"
        return value[:10], time
    utc = parsed if parsed.tzinfo is None else parsed.astimezone(timezone.utc).replace(tzinfo=None)
    local = tzs.to_display(utc, zone)
    return local.strftime("%Y-%m-%d"), local.strftime("%H:%M")


def _values(args, name: str) -> list[str]:
    """A repeatable parameter's values, read as the API reads them; none when there are too many (the
    filters then show the error)."""
    try:
        return list(repeated_values(args, name))
    except QueryError:
        return []


def controls_from_query(search: str | None, zone: str | None = None) -> dict:
    """The controls' values for a query string (unknown range names fall back to the default); the custom
    window's dates and times in `zone`; tz: the zone choice the URL names (None when it names none)."""
    args = query_args(search)
    range_name = implied_range(args.get("range"), args.get("start"), args.get("end"), DEFAULT_RANGE)
    start_date, start_time = _split_iso(args.get("start"), zone)
    end_date, end_time = _split_iso(args.get("end"), zone)
    return {"countries": _values(args, "country"), "partners": _values(args, "partner"),
            "collectors": _values(args, "collector"),
            "range": range_name if range_name in RANGE_CHOICES else DEFAULT_RANGE,
            "start_date": start_date, "end_date": end_date, "start_time": start_time or "00:00",
            "end_time": end_time or "00:00", "tz": tz_choice(args.get(TZ_PARAM))}


def tz_error(search: str | None) -> str | None:
    """Why the URL's tz= is not used, or None when it is absent or a zone."""
    value = query_args(search).get(TZ_PARAM)
    if value is None or tz_choice(value) is not None:
        return None
    return f"{TZ_PARAM}: {value!r} is not a time zone (use UTC, local or an IANA name such as Africa/Nairobi)"


def default_custom_window(now: datetime, zone: str | None = None) -> dict:
    """The last 24 hours (now in naive UTC) as custom start/end control values in the zone, to start editing from."""
    end = tzs.to_display(now.replace(second=0, microsecond=0) + timedelta(minutes=1), zone)
    start = end - timedelta(hours=24)
    return {"start_date": start.strftime("%Y-%m-%d"), "start_time": start.strftime("%H:%M"),
            "end_date": end.strftime("%Y-%m-%d"), "end_time": end.strftime("%H:%M")}


def server_id_from_path(pathname: str | None) -> str | None:
    """The server id in '/server/<id>' (URL-decoded), else None."""
    if not pathname or not pathname.startswith(SERVER_PATH):
        return None
    return unquote(pathname[len(SERVER_PATH):].strip("/")) or None
