"""Helpers every callback uses: filters from the URL, guarded queries, data signatures."""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from datetime import datetime
from typing import Any, Callable
from urllib.parse import parse_qsl

from werkzeug.datastructures import MultiDict

import pandas as pd
from dash import ctx
from dash.exceptions import MissingCallbackContextException

from queries.filters import Filters, QueryError, settled
from queries.status import server_status, status_stamp
from queries.querystring import parse_filters

log = logging.getLogger("dashboard")
NO_DATA = "No measurements in this time range yet."


def query_args(search: str | None) -> MultiDict:
    """The query string as the MultiDict Flask gives the API, so both parse it the same way."""
    return MultiDict(parse_qsl((search or "").lstrip("?"), keep_blank_values=False))


def filters_from_search(search: str | None, now: datetime | None = None) -> tuple[Filters, str | None]:
    """The filters in the URL, or the defaults (last 24 h, everything) and the reason when they are invalid."""
    try:
        return parse_filters(query_args(search), now), None
    except QueryError as exc:
        return parse_filters({}, now), str(exc)


def short_error(exc: BaseException) -> str:
    """One line naming the error (database messages carry the SQL and a link on later lines)."""
    first = (str(exc).strip().splitlines() or [""])[0][:240]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def fetch(what: str, fn: Callable[..., Any], *args, **kwargs) -> tuple[Any, str | None]:
    """Run a query; on failure log it and return (None, a one-line reason) instead of raising."""
    try:
        return fn(*args, **kwargs), None
    except Exception as exc:  # noqa: BLE001 - the page shows the reason instead of going blank
        log.exception("dashboard could not load %s", what)
        return None, short_error(exc)


# Every callback of every viewer within this long shares one server_status read (at the same data stamp): a
# refresh asks for it in the tiles, the alerts feed, the filter dropdowns and the RTT spread's default. A state
# that only the clock changes (stale, a window starting) shows at most this much later.
STATUS_SHARE_SECONDS = 2


def triggered_id():
    """The id of the input that fired the running callback; None outside one (tests call callbacks directly)."""
    try:
        return ctx.triggered_id
    except MissingCallbackContextException:
        return None


def is_overview(pathname: str | None) -> bool:
    """Whether a path is the overview's (the page with the series graphs and the tiles)."""
    return pathname in (None, "", "/")


def epoch_seconds(now) -> float:
    """A naive UTC datetime as epoch seconds."""
    return round((pd.Timestamp(now) - pd.Timestamp("1970-01-01")).total_seconds(), 3)


def shared_status(rt, now: datetime) -> pd.DataFrame:
    """server_status(now) of the running config, read once per data stamp and STATUS_SHARE_SECONDS for every
    callback and viewer (a copy: callers may add columns)."""
    key = ("status", rt.generation, status_stamp(rt.read_engine), int(epoch_seconds(now)) // STATUS_SHARE_SECONDS)
    return rt.cache.get(key, lambda: server_status(rt.read_engine, rt.config, now)).copy()


class _DrawFailed(Exception):
    """A drawing that ended in a shown error: never kept in the cache."""


def drawn_once(cache, key: Any, draw: Callable[[], tuple[Any, str | None]]) -> tuple[Any, str | None]:
    """draw() -> (outputs, error), computed once per key for every viewer (key = the output's signature, which
    holds the data stamp); an error is returned, not kept, so the next refresh tries again."""
    def build():
        outputs, error = draw()
        if error:
            raise _DrawFailed(error)
        return outputs
    try:
        return cache.get(key, build), None
    except _DrawFailed as failed:
        return None, str(failed)


def signature(*parts: Any) -> str:
    """A short stable digest of the values an output was drawn from."""
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def frames_digest(*frames: pd.DataFrame | None) -> str:
    """A short digest of the frames' contents (None for a frame not read): equal digests draw equal figures, so a
    round that changes nothing drawn (it landed in the bucket still filling) sends nothing to the browser."""
    digest = hashlib.sha1()
    for frame in frames:
        if frame is None:
            digest.update(b"-")
            continue
        digest.update(repr((list(frame.columns), len(frame))).encode())
        try:
            digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
        except TypeError:  # a column of lists or dicts, which pandas will not hash
            digest.update(frame.to_json(orient="split", date_format="iso").encode())
    return digest.hexdigest()[:16]


def settled_first(live: Filters, step_seconds: int, read: Callable[[Filters], tuple],
                  empty: Callable[[Any], bool]) -> tuple[Filters, tuple]:
    """(filters, read(filters)): a graph's live window settled to its last whole bucket (queries.filters.settled),
    or the live window itself when only the bucket still filling holds measurements (a fresh install's first
    minutes, a server just added), so a graph is never empty while its data is there. read returns
    (data, error); empty(data) says whether it holds no measurement."""
    whole = settled(live, step_seconds)
    found = read(whole)
    if found[1] or not empty(found[0]) or whole == live:
        return whole, found
    latest = read(live)
    return (live, latest) if latest[1] or not empty(latest[0]) else (whole, found)


def view_key(filters: Filters, *extra: Any) -> str:
    """What the user chose (not the moving window): used as uirevision, so zoom survives refreshes."""
    window = filters.range if filters.range != "custom" else f"{filters.start}/{filters.end}"
    return "|".join(map(str, (window, filters.countries, filters.partners, filters.servers, *extra)))


def window_of(filters: Filters) -> tuple[datetime, datetime]:
    """The (start, end) the graphs' time axes span."""
    return filters.start, filters.end


# The views viewers asked for lately, which callbacks.prewarm draws again as soon as the data change, so the
# next refresh (or a colleague opening the same view) finds them drawn. Bounded: a view nobody asked for in
# RECENT_VIEW_SECONDS is forgotten, and at most MAX_RECENT_VIEWS are kept (the most recently asked).
RECENT_VIEW_SECONDS = 900
MAX_RECENT_VIEWS = 6
_views_lock = threading.Lock()
_priming = threading.local()  # set while callbacks.prewarm draws: its own calls are not a viewer asking


class priming:
    """Within it, the callbacks this thread runs are the prewarmer's, not a viewer's (remember_view ignores them)."""

    def __enter__(self):
        _priming.active = True

    def __exit__(self, *exc):
        _priming.active = False


def remember_view(rt, view: tuple, clock: Callable[[], float] = time.monotonic) -> None:
    """Note that a viewer asked for `view` (a tuple callbacks.prewarm knows how to draw again)."""
    if getattr(_priming, "active", False):
        return
    with _views_lock:
        views = rt.recent_views
        views.pop(view, None)
        views[view] = clock()
        while len(views) > MAX_RECENT_VIEWS:
            views.pop(next(iter(views)))


def recent_views(rt, clock: Callable[[], float] = time.monotonic) -> list[tuple]:
    """The views asked for within RECENT_VIEW_SECONDS, the most recent last (older ones are forgotten)."""
    with _views_lock:
        views, now = rt.recent_views, clock()
        for view in [v for v, at in views.items() if now - at > RECENT_VIEW_SECONDS]:
            del views[view]
        return list(views)
