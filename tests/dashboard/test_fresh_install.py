"""A fresh install: until the database holds an hour, a page whose URL names no range opens on 1 h, and a graph
whose data starts well inside its window says at what time."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
from dash import no_update

import callbacks.graphs as graphs_cb
import callbacks.shell as shell_cb
from common.timeutil import utcnow
from figures.timeseries import data_start, latency_figure
from layouts import ids
from queries.coverage import first_stored_at
from tests.seeding import seed_history
from tests.helpers.dash_tree import with_trigger

THRESHOLDS = {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}


def opened(search: str) -> dict:
    """sync_filters' outputs by name when a page opens on this URL."""
    out = with_trigger(f"{ids.URL}.search", shell_cb.sync_filters, search, [], [], "24h", None, None, "00:00",
                       "00:00", "UTC", None, None, "UTC")
    return dict(zip([key for key, _, _ in shell_cb.SYNC_OUTPUTS], out))


def test_with_minutes_of_data_a_bare_url_opens_on_one_hour(config, writer, engine, app):
    seed_history(writer, config, utcnow(), rounds=5, interval_seconds=60)
    assert utcnow() - first_stored_at(engine) < timedelta(minutes=6)
    with app.server.test_request_context():
        out = opened("")
        assert out["search"] == "?range=1h" and out["range"] == "1h"
        kept = opened("?country=Kenya")
        assert kept["search"] == "?country=Kenya&range=1h"
        assert opened("?range=24h")["search"] is no_update  # a range the user chose stays


def test_with_nothing_stored_yet_it_opens_on_one_hour_too(engine, app):
    assert first_stored_at(engine) is None
    with app.server.test_request_context():
        assert opened("")["range"] == "1h"


def test_with_more_than_an_hour_the_default_range_stays(config, writer, app):
    seed_history(writer, config, utcnow(), rounds=14, interval_seconds=300)  # 65 minutes
    with app.server.test_request_context():
        out = opened("")
        assert out["search"] is no_update and out["range"] == "24h"


def test_a_graph_whose_data_starts_inside_its_window_says_when(config, writer, app):
    end = utcnow().replace(second=0, microsecond=0)
    seed_history(writer, config, end, rounds=3, interval_seconds=60)
    with app.server.test_request_context():
        latency, loss, jitter, _ = graphs_cb.refresh_series("?range=24h", 0, "country", False, None)
    first = end - timedelta(minutes=2)
    bucket_start = first - timedelta(minutes=first.minute % 5)  # 24 h is drawn in 5-minute buckets
    for fig in (latency, loss, jitter):
        notes = [a.text for a in fig.layout.annotations if a.name == "data-start"]
        assert notes == [f"data starts {bucket_start:%H:%M}"], notes
        assert [s for s in fig.layout.shapes if s.type == "line" and s.line.dash == "dot" and s.xref == "x"]


def test_the_note_is_in_the_display_zone_and_left_out_when_data_fills_the_window():
    start = pd.Timestamp("2026-11-20 00:00")
    df = pd.DataFrame({"key": "Kenya", "bucket": [start + pd.Timedelta(hours=20)], "latency_ms": [40.0]})
    window = (start, start + pd.Timedelta(hours=24))
    fig = latency_figure(df, THRESHOLDS, group="country", bucket_seconds=300, gap_seconds=600, window=window,
                         tz="Africa/Nairobi")
    assert [a.text for a in fig.layout.annotations if a.name == "data-start"] == ["data starts 23:00"]
    assert data_start([start + pd.Timedelta(minutes=30)], window) is None  # 2 % in: that is just the window
