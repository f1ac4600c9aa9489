"""Zooming the overview's series graphs: what relayoutData says, and the SERIES_ZOOM store it keeps.

Zooming one of the three series graphs (box zoom, axis drag) stores the visible window in SERIES_ZOOM;
callbacks.graphs then redraws the three for that window only, in finer buckets, until a double-click
(autorange) or a filter change resets the zoom. A redrawn figure does not fire relayoutData with a range,
so this does not loop.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pandas as pd
from dash import Input, Output, State, ctx, no_update

from callbacks.registry import callback

from callbacks.common import filters_from_search
from layouts import ids
from queries.filters import Filters
from common import timezones as tzs
from common.timeutil import to_naive_utc

# What parse_relayout returns for a double-click (autorange): back to the whole window.
RESET = "reset"
# A zoom keeping this share of the window or more is the whole window (a reset to the first range).
WHOLE_WINDOW_SHARE = 0.98


def _axis_time(value) -> datetime | None:
    """A date axis end as Plotly sends it ('2026-11-20 08:30:12.3456', ISO with 'T' or 'Z', epoch ms), as a
    naive time of the axis (the display zone's wall clock; zoom_change makes it UTC); None when unreadable."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            stamp = pd.Timestamp(value, unit="ms")
        elif isinstance(value, str) and value.strip():
            # pandas, not fromisoformat: Plotly may send fewer or more than 6 fractional digits.
            stamp = pd.Timestamp(value.strip().replace("z", "Z"))
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return None if pd.isna(stamp) else to_naive_utc(stamp.floor("us").to_pydatetime())


def _relayout_range(data: dict) -> list | None:
    """The [start, end] pair of an x axis change in relayoutData, either shape Plotly sends."""
    if "xaxis.range[0]" in data and "xaxis.range[1]" in data:
        return [data["xaxis.range[0]"], data["xaxis.range[1]"]]
    pair = data.get("xaxis.range")
    return list(pair) if isinstance(pair, (list, tuple)) and len(pair) == 2 else None


def parse_relayout(data) -> tuple[datetime, datetime] | str | None:
    """What a graph's relayoutData says about its time axis: a (start, end) zoom, RESET (autorange), or None
    when it is about something else (autosize, the y axis, a legend click)."""
    if not isinstance(data, dict):
        return None
    pair = _relayout_range(data)
    if pair is None:
        return RESET if data.get("xaxis.autorange") is True else None
    start, end = (_axis_time(v) for v in pair)
    if start is None or end is None or start == end:
        return None
    return (start, end) if start < end else (end, start)


def zoom_value(window: tuple[datetime, datetime]) -> dict:
    """The SERIES_ZOOM store's value for a zoom window (ISO strings survive JSON)."""
    return {"start": window[0].isoformat(), "end": window[1].isoformat()}


def zoomed_filters(filters: Filters, zoom: dict | None) -> Filters | None:
    """The filters narrowed to the stored zoom, clipped to the window; None when there is no zoom in it."""
    try:
        start = max(filters.start, datetime.fromisoformat(zoom["start"]))
        end = min(filters.end, datetime.fromisoformat(zoom["end"]))
    except (TypeError, KeyError, ValueError):
        return None
    if end <= start or (end - start) >= WHOLE_WINDOW_SHARE * (filters.end - filters.start):
        return None
    return replace(filters, start=start, end=end)


def zoom_change(relayout, filters: Filters, tz: str | None = None):
    """The SERIES_ZOOM value after a graph's relayout: a window (in UTC; the axis shows the display zone tz),
    None (whole window) or no_update."""
    parsed = parse_relayout(relayout)
    if parsed is None:
        return no_update
    if parsed == RESET:
        return None
    value = zoom_value((tzs.to_utc(parsed[0], tz), tzs.to_utc(parsed[1], tz)))
    return value if zoomed_filters(filters, value) is not None else None


@callback(Output(ids.SERIES_ZOOM, "data"),
          Input(ids.LATENCY_GRAPH, "relayoutData"), Input(ids.LOSS_GRAPH, "relayoutData"),
          Input(ids.JITTER_GRAPH, "relayoutData"), Input(ids.URL, "search"), State(ids.DISPLAY_TZ, "data"),
          prevent_initial_call=True)
def track_zoom(latency, loss, jitter, search, tz=None):
    """Keep the window the user zoomed any of the three graphs to; a filter change starts unzoomed."""
    changed = {ids.LATENCY_GRAPH: latency, ids.LOSS_GRAPH: loss, ids.JITTER_GRAPH: jitter}
    if ctx.triggered_id not in changed:
        return None
    return zoom_change(changed[ctx.triggered_id], filters_from_search(search)[0], tz)
