"""The filters' two forms: the URL query string (the API's parameter names) and the filter controls."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import unquote, urlencode

from callbacks.common import query_args
from layouts.filters import DEFAULT_RANGE
from queries.filters import RANGE_CHOICES, QueryError, implied_range
from queries.querystring import repeated_values

SERVER_PATH = "/server/"


def _iso(date: str | None, time: str | None) -> str | None:
    """'2026-11-01' and '13:05' as '2026-11-01T13:05:00Z' (None without a date)."""
    if not date:
        return None
    return f"{str(date)[:10]}T{(time or '00:00')[:5]}:00Z"


def query_from_controls(countries, partners, range_name, start_date, end_date, start_time, end_time,
                        collectors=()) -> str:
    """The query string for the controls' values ('' when nothing is chosen); collectors: the vantage points."""
    params = [("country", c) for c in countries or []] + [("partner", p) for p in partners or []]
    params += [("collector", c) for c in collectors or []]
    params.append(("range", range_name or DEFAULT_RANGE))
    if range_name == "custom":
        start, end = _iso(start_date, start_time), _iso(end_date, end_time)
        params += [(k, v) for k, v in (("start", start), ("end", end)) if v]
    return "?" + urlencode(params)


def _split_iso(value: str | None) -> tuple[str | None, str | None]:
    """'2026-11-01T13:05:00Z' as ('2026-11-01', '13:05'); (None, None) when absent or malformed."""
    if not value or len(value) < 10:
        return None, None
    time = value[11:16] if len(value) >= 16 and value[10] in "T " else "00:00"
    return value[:10], time


def _values(args, name: str) -> list[str]:
    """A repeatable parameter's values, read as the API reads them; none when there are too many (the
    filters then show the error)."""
    try:
        return list(repeated_values(args, name))
    except QueryError:
        return []


def controls_from_query(search: str | None) -> dict:
    """The controls' values for a query string (unknown range names fall back to the default)."""
    args = query_args(search)
    range_name = implied_range(args.get("range"), args.get("start"), args.get("end"), DEFAULT_RANGE)
    start_date, start_time = _split_iso(args.get("start"))
    end_date, end_time = _split_iso(args.get("end"))
    return {"countries": _values(args, "country"), "partners": _values(args, "partner"),
            "collectors": _values(args, "collector"),
            "range": range_name if range_name in RANGE_CHOICES else DEFAULT_RANGE,
            "start_date": start_date, "end_date": end_date, "start_time": start_time or "00:00",
            "end_time": end_time or "00:00"}


def default_custom_window(now: datetime) -> dict:
    """The last 24 hours as custom start/end control values, to start editing from."""
    end = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(hours=24)
    return {"start_date": start.strftime("%Y-%m-%d"), "start_time": start.strftime("%H:%M"),
            "end_date": end.strftime("%Y-%m-%d"), "end_time": end.strftime("%H:%M")}


def server_id_from_path(pathname: str | None) -> str | None:
    """The server id in '/server/<id>' (URL-decoded), else None."""
    if not pathname or not pathname.startswith(SERVER_PATH):
        return None
    return unquote(pathname[len(SERVER_PATH):].strip("/")) or None
