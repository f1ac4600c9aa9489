"""Compute once per round (issue 12): the prewarmer draws the default overview and the views viewers asked for
as soon as the data change, so a viewer's refresh finds them drawn instead of waiting for the drawing."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest

import callbacks.graphs as graphs_cb
import callbacks.overview as overview_cb
import callbacks.smoke as smoke_cb
from callbacks.common import priming, recent_views, remember_view
from callbacks.prewarm import Prewarmer, default_views
from common.timeutil import utcnow
from tests.seeding import seed_history


@pytest.fixture
def seeded(config, writer):
    """Two hours of rounds of every server, ending now."""
    end = utcnow().replace(microsecond=0)
    seed_history(writer, config, end - timedelta(hours=2), rounds=24, interval_seconds=300)
    return end


def counting(monkeypatch, module, name: str) -> list:
    """Count the calls of module.name (it still runs)."""
    calls, real = [], getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def first_visit(tz="UTC", dark=False) -> tuple:
    """The three series callbacks as a browser opening / calls them (no previous signature)."""
    args = ("", None, "country", dark, None, None, tz, "network")
    return graphs_cb.refresh_latency(*args), graphs_cb.refresh_loss(*args), graphs_cb.refresh_jitter(*args)


def test_a_first_visit_after_the_prewarmer_ran_draws_nothing(seeded, app, monkeypatch):
    prewarmer = Prewarmer(app.server)
    assert prewarmer.check_once() == 3  # the series, the RTT spread and the status side of the default overview
    drawings = counting(monkeypatch, graphs_cb, "latency_figure")
    queries = counting(monkeypatch, graphs_cb, "ping_series")
    spreads = counting(monkeypatch, smoke_cb, "smoke_data")
    tiles = counting(monkeypatch, overview_cb, "server_tiles")
    with app.server.test_request_context():
        overview_cb.refresh_overview("", None, "INFO", None, "UTC", None, 30000)
        (latency, sig), (loss, _), (jitter, _) = first_visit()
        view = default_views(app.runtime)[1]
        smoke = smoke_cb.refresh_smoke("", None, list(view[2]), "bands", False, None, "UTC")
    assert latency.data and loss.data[0].type == "heatmap" and jitter.data and sig and smoke[0].data
    assert (drawings, queries, spreads, tiles) == ([], [], [], [])  # all of it came from the prewarmer's drawing


def test_the_prewarmer_draws_again_only_when_a_round_lands(seeded, app, config, writer, monkeypatch):
    prewarmer = Prewarmer(app.server, clock=lambda: 1_000_000.0)  # the window's minute stands still
    prewarmer.check_once()
    queries = counting(monkeypatch, graphs_cb, "ping_series")
    assert prewarmer.check_once() == 0 and queries == []  # nothing new: nothing drawn, nothing read
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=1)
    assert prewarmer.check_once() == 3 and len(queries) == 1  # one read of the frames for the three graphs
    with app.server.test_request_context():
        after = counting(monkeypatch, graphs_cb, "latency_figure")
        (latency, _), _, _ = first_visit()
    assert after == [] and latency.data


def test_a_view_a_viewer_asked_for_is_drawn_in_its_zone_and_theme(seeded, app, config, writer, monkeypatch):
    prewarmer = Prewarmer(app.server)
    with app.server.test_request_context():
        first_visit("Africa/Nairobi", dark=True)  # a wall screen in Nairobi, dark theme
    assert ("series", "", "country", True, "Africa/Nairobi", "network") in recent_views(app.runtime)
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=1)
    assert prewarmer.check_once() == 4  # the default views and the wall screen's
    drawings = counting(monkeypatch, graphs_cb, "latency_figure")
    with app.server.test_request_context():
        (latency, _), _, _ = first_visit("Africa/Nairobi", dark=True)
    assert drawings == [] and latency.layout.template.layout.font.color == "#e5e7eb"  # the dark palette


def test_the_series_frames_are_shared_by_every_zone_and_theme(seeded, ctx, monkeypatch):
    queries = counting(monkeypatch, graphs_cb, "ping_series")
    first_visit("UTC")
    first_visit("Asia/Tokyo", dark=True)
    assert len(queries) == 1  # one read; the figures are drawn per zone and theme


def test_recent_views_expire_and_the_prewarmers_own_calls_do_not_renew_them(app):
    rt = app.runtime
    remember_view(rt, ("series", "?range=7d", "server", False, "UTC", "network"), clock=lambda: 0.0)
    with priming():
        remember_view(rt, ("series", "?range=30d", "server", False, "UTC", "network"))
    assert recent_views(rt, clock=lambda: 10.0) == [("series", "?range=7d", "server", False, "UTC", "network")]
    assert recent_views(rt, clock=lambda: 10_000.0) == []  # nobody asked for it in 15 minutes


def test_the_prewarmer_thread_starts_and_stops(seeded, app):
    prewarmer = app.runtime.services.adopt("prewarmer", Prewarmer(app.server, interval_seconds=0.05))
    try:
        deadline = time.monotonic() + 30
        while prewarmer.views_drawn < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert prewarmer.views_drawn >= 3 and prewarmer.is_alive()
    finally:
        app.runtime.services.close()
    assert not prewarmer.is_alive()
