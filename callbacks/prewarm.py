"""Draw the overview before anyone asks: compute once per round, in the background, not in a viewer's request.

The series graphs and the RTT spread are drawn once per change of the data and kept in the runtime's cache
(callbacks.common.drawn_once), but the first viewer after each round still waited for the drawing: ~0.3 s of
queries and figure building per graph at 200 servers, more while three graphs and the tiles compete for the
GIL on a cold start. The prewarmer watches the data stamp and, when a round lands (or the window moves by a
minute), draws the default overview (graphs, RTT spread, status side) and the views viewers asked for lately (callbacks.common.recent_views),
by calling the same callbacks with no previous signature. A viewer's refresh then finds its figures drawn.
"""
from __future__ import annotations

import logging
from typing import Callable

from flask import current_app

from api.cache import current_stamp
from callbacks.common import fetch, filters_from_search, priming, recent_views, shared_status
from callbacks.graphs import refresh_series
from callbacks.overview import shared_parts
from callbacks.smoke import refresh_smoke, smoke_choices
from collector.periodic import PeriodicWorker
from common import timezones as tzs
from common.timeutil import utcnow
from runtime.context import EXTENSION_KEY

log = logging.getLogger(__name__)
# How often the data stamp is looked at (a read of the newest round id, shared with the API: api.cache).
POLL_SECONDS = 1.0
# The sliding windows move with the clock too: the views are drawn again at least this often.
WINDOW_STEP_SECONDS = 60


def default_views(rt) -> list[tuple]:
    """What a first visit to / asks for: the series per country of the network probe, the RTT spread of the
    servers in most trouble and the status side (tiles, counts, alerts), in the configured zone and light theme."""
    zone = tzs.zone_name(rt.config.display_timezone)
    filters, _ = filters_from_search("")
    status, _ = fetch("the server status", shared_status, rt, utcnow())
    _, selected = smoke_choices(rt.config, filters, None, status)
    return [("series", "", "country", False, zone, "network"), ("spread", "", tuple(selected), "bands", False, zone),
            ("status", "", zone)]


def draw_view(view: tuple) -> None:
    """Run the callbacks that draw one view (a tuple from remember_view), so their outputs are cached."""
    kind, *args = view
    if kind == "series":
        search, group, dark, tz, probe = args
        for only in (0, 1, 2):
            refresh_series(search, None, group, dark, None, None, tz, probe, only=only)
    elif kind == "spread":
        search, selected, mode, dark, tz = args
        refresh_smoke(search, None, list(selected), mode, dark, None, tz)
    elif kind == "status":
        search, tz = args
        shared_parts(current_app.extensions[EXTENSION_KEY], search, utcnow(), tz)


def views_to_draw(rt) -> list[tuple]:
    """The default views, then the recent ones (each once)."""
    return list(dict.fromkeys(default_views(rt) + recent_views(rt)))


class Prewarmer(PeriodicWorker):
    """A thread that draws the overview's views whenever the data stamp or the window's minute changes."""

    thread_name = "prewarmer"
    check_on_start = True

    def __init__(self, server, *, interval_seconds: float = POLL_SECONDS, clock: Callable[[], float] | None = None,
                 draw: Callable[[tuple], None] = draw_view):
        self.server = server  # the Flask app: the callbacks read the runtime from its app context
        self.interval_seconds = interval_seconds
        self.clock = clock or (lambda: utcnow().timestamp())
        self.draw = draw
        self.drawn_at: tuple | None = None  # the key the views were last drawn for
        self.views_drawn = 0

    def key(self, rt) -> tuple:
        """What the drawings depend on besides the view: the data stamp, the config, the window's minute."""
        return current_stamp(rt.read_engine), rt.generation, int(self.clock() // WINDOW_STEP_SECONDS)

    def check_once(self) -> int:
        """Draw every view once when the key moved; returns how many views were drawn."""
        with self.server.app_context():
            rt = self.server.extensions[EXTENSION_KEY]
            key = self.key(rt)
            if key == self.drawn_at:
                return 0
            views = views_to_draw(rt)
            with priming():
                for view in views:
                    self.draw(view)
            self.drawn_at, self.views_drawn = key, self.views_drawn + len(views)
            return len(views)
