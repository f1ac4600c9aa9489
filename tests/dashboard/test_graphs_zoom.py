"""Zooming the latency, loss and jitter graphs: relayoutData parsing, the zoom store, and the series redrawn
for the visible window only with finer buckets."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from dash import no_update

import callbacks.graphs as graphs_cb
import callbacks.zoom as zoom_cb
from queries.pingdata import series_bucket_seconds
from settings import RETENTION_DEFAULTS
from callbacks.common import filters_from_search
from figures.timeseries import bucket_label, bucket_note, latency_figure
from layouts import ids
from tests.helpers.dash_tree import with_trigger

A = datetime(2026, 11, 20, 8, 30)
B = datetime(2026, 11, 20, 10, 30)


@pytest.fixture
def ctx(app):
    """Run code as a callback would: inside a request of the app."""
    with app.server.test_request_context():
        yield app


# -- parse_relayout: the shapes Plotly sends --------------------------------------------------------

@pytest.mark.parametrize("data", [
    {"xaxis.range[0]": "2026-11-20 08:30:00", "xaxis.range[1]": "2026-11-20 10:30:00"},
    {"xaxis.range[0]": "2026-11-20 08:30", "xaxis.range[1]": "2026-11-20 10:30"},
    {"xaxis.range": ["2026-11-20 08:30:00", "2026-11-20 10:30:00"]},
    {"xaxis.range": ["2026-11-20T08:30:00Z", "2026-11-20T10:30:00Z"]},
    {"xaxis.range": ("2026-11-20T10:30:00Z", "2026-11-20T08:30:00Z")},  # reversed axis
    {"xaxis.range[0]": "2026-11-20T09:30:00+01:00", "xaxis.range[1]": "2026-11-20T11:30:00+01:00"},
    {"xaxis.range[0]": "2026-11-20 08:30:00", "xaxis.range[1]": "2026-11-20 10:30:00",
     "yaxis.range[0]": 12.5, "yaxis.range[1]": 80},  # a box zoom also sets y
    {"xaxis.range": [1795163400000, 1795170600000]},  # epoch milliseconds
])
def test_parse_relayout_reads_a_zoom_in_every_shape(data):
    assert zoom_cb.parse_relayout(data) == (A, B)


def test_parse_relayout_keeps_fractional_seconds():
    start, end = zoom_cb.parse_relayout({"xaxis.range[0]": "2026-11-20 08:30:12.3456",
                                           "xaxis.range[1]": "2026-11-20T10:30:00.5Z"})
    assert start == A.replace(second=12, microsecond=345600) and end == B.replace(microsecond=500000)
    assert start.tzinfo is None and end.tzinfo is None
    start, _ = zoom_cb.parse_relayout({"xaxis.range": ["2026-11-20 08:30:12.123456789", "2026-11-20 10:30"]})
    assert start == A.replace(second=12, microsecond=123456)


@pytest.mark.parametrize("data", [{"xaxis.autorange": True}, {"xaxis.autorange": True, "yaxis.autorange": True}])
def test_parse_relayout_reads_a_double_click_as_reset(data):
    assert zoom_cb.parse_relayout(data) == zoom_cb.RESET


@pytest.mark.parametrize("data", [
    None, {}, "xaxis.range", {"autosize": True}, {"yaxis.range[0]": 1, "yaxis.range[1]": 2},
    {"yaxis.autorange": True}, {"xaxis.autorange": False}, {"xaxis.range[0]": "2026-11-20 08:30:00"},
    {"xaxis.range": ["2026-11-20 08:30:00"]}, {"xaxis.range": ["yesterday", "today"]},
    {"xaxis.range": [None, "2026-11-20 10:30:00"]}, {"xaxis.range": ["2026-11-20 08:30", "2026-11-20 08:30"]},
    {"dragmode": "pan"}, {"xaxis.showspikes": False}, {"xaxis.range": [float("nan"), 1795170600000]},
    {"xaxis.range": [1e30, 1795170600000]}, {"xaxis.range": [True, False]},
])
def test_parse_relayout_ignores_everything_else(data):
    assert zoom_cb.parse_relayout(data) is None


# -- the zoom store ------------------------------------------------------------------------------

def day_filters():
    """A custom 24-hour window from 2026-11-20 00:00."""
    return filters_from_search("?range=custom&start=2026-11-20T00:00:00Z&end=2026-11-21T00:00:00Z")[0]


def test_zoomed_filters_narrow_the_window_and_clip_to_it():
    filters = day_filters()
    shown = zoom_cb.zoomed_filters(filters, zoom_cb.zoom_value((A, B)))
    assert (shown.start, shown.end) == (A, B) and shown.range == filters.range
    clipped = zoom_cb.zoomed_filters(filters, zoom_cb.zoom_value((A - timedelta(days=1), B)))
    assert (clipped.start, clipped.end) == (filters.start, B)


@pytest.mark.parametrize("zoom", [
    None, {}, {"start": "x", "end": "y"}, {"start": "2026-11-22T00:00:00", "end": "2026-11-23T00:00:00"},
    {"start": "2026-11-19T00:00:00", "end": "2026-11-22T00:00:00"},  # covers the whole window
    {"start": "2026-11-20T00:10:00", "end": "2026-11-21T00:00:00"},  # 99 % of it: the first range again
])
def test_zoomed_filters_without_a_zoom_inside_the_window(zoom):
    assert zoom_cb.zoomed_filters(day_filters(), zoom) is None


def test_zoom_change():
    filters = day_filters()
    assert zoom_cb.zoom_change({"autosize": True}, filters) is no_update
    assert zoom_cb.zoom_change({"xaxis.autorange": True}, filters) is None
    assert zoom_cb.zoom_change({"xaxis.range": ["2026-11-20 08:30", "2026-11-20 10:30"]}, filters) == \
        {"start": A.isoformat(), "end": B.isoformat()}
    whole = {"xaxis.range": ["2026-11-19 23:00", "2026-11-21 01:00"]}  # e.g. "reset axes" to the first range
    assert zoom_cb.zoom_change(whole, filters) is None


def test_a_zoom_on_any_of_the_three_graphs_is_stored_and_a_filter_change_clears_it():
    search = "?range=custom&start=2026-11-20T00:00:00Z&end=2026-11-21T00:00:00Z"
    zoom = {"xaxis.range": ["2026-11-20 08:30", "2026-11-20 10:30"]}
    for graph, args in ((ids.LATENCY_GRAPH, (zoom, None, None)), (ids.LOSS_GRAPH, (None, zoom, None)),
                        (ids.JITTER_GRAPH, ({"autosize": True}, None, zoom))):
        stored = with_trigger(f"{graph}.relayoutData", zoom_cb.track_zoom, *args, search)
        assert stored == {"start": A.isoformat(), "end": B.isoformat()}, graph
    assert with_trigger(f"{ids.URL}.search", zoom_cb.track_zoom, zoom, None, None, search) is None
    assert with_trigger(f"{ids.LATENCY_GRAPH}.relayoutData", zoom_cb.track_zoom,
                        {"autosize": True}, None, None, search) is no_update


# -- the series redrawn for the zoom ---------------------------------------------------------------

def x_step_seconds(trace) -> float:
    """The smallest distance between consecutive x values of a trace."""
    return pd.Series(pd.to_datetime(list(trace.x))).diff().dt.total_seconds().dropna().min()


def test_a_zoom_redraws_the_three_graphs_for_the_visible_window_in_finer_buckets(seeded, ctx):
    latency, loss, jitter, sig = graphs_cb.refresh_series("?range=7d", 0, "country", False, None)
    assert x_step_seconds(latency.data[0]) == 900  # 7 days: 15-minute buckets
    assert latency.layout.xaxis.title.text == "15-min buckets · times UTC"
    end = seeded["end"]
    zoom = zoom_cb.zoom_value((end - timedelta(hours=3), end - timedelta(hours=1)))
    z_latency, z_loss, z_jitter, z_sig = graphs_cb.refresh_series("?range=7d", 1, "country", False, sig, zoom)
    assert z_sig != sig
    assert x_step_seconds(z_latency.data[0]) == 300  # 1-minute buckets over rounds 5 minutes apart
    for fig in (z_latency, z_loss, z_jitter):
        xs = pd.to_datetime(list(fig.data[0].x)).dropna()
        assert xs.min() >= end - timedelta(hours=3) - timedelta(minutes=1) and xs.max() <= end - timedelta(hours=1)
        assert list(fig.layout.xaxis.range) == [end - timedelta(hours=3), end - timedelta(hours=1)]
        assert fig.layout.xaxis.title.text.startswith("1-min buckets · zoomed in")
    # Legend choices survive (same uirevision); the time axis takes the zoom (its own uirevision changed).
    assert z_latency.layout.uirevision == latency.layout.uirevision
    assert z_latency.layout.xaxis.uirevision != latency.layout.xaxis.uirevision
    # Auto-refresh keeps the zoom and its fine data: nothing is sent while its rows are unchanged.
    assert graphs_cb.refresh_series("?range=7d", 2, "country", False, z_sig, zoom) == (no_update,) * 4
    reset = graphs_cb.refresh_series("?range=7d", 3, "country", False, z_sig, None)
    assert reset[3] == sig and x_step_seconds(reset[0].data[0]) == 900
    assert reset[0].layout.xaxis.uirevision == latency.layout.xaxis.uirevision


def test_zoomed_buckets_are_not_finer_than_the_collector_interval():
    two_hours = filters_from_search("?range=custom&start=2026-11-20T08:30:00Z&end=2026-11-20T10:30:00Z")[0]
    assert series_bucket_seconds(two_hours, 60, RETENTION_DEFAULTS) == 60
    assert series_bucket_seconds(two_hours, 300, RETENTION_DEFAULTS) == 300
    assert series_bucket_seconds(two_hours, 120, RETENTION_DEFAULTS) == 300
    assert series_bucket_seconds(day_filters(), 300, RETENTION_DEFAULTS) == 300  # bucket_seconds_for: 24 h in 5-minute buckets
    assert series_bucket_seconds(day_filters(), 100_000, RETENTION_DEFAULTS) == 86400


# -- the bucket note ---------------------------------------------------------------------------------

def test_bucket_labels_and_notes():
    assert [bucket_label(s) for s in (60, 300, 900, 3600, 10800, 86400, 45)] == \
        ["1-min", "5-min", "15-min", "1-hour", "3-hour", "1-day", "45-s"]
    assert bucket_note(300) == "5-min buckets"
    assert bucket_note(60, zoomed=True) == "1-min buckets · zoomed in: double-click for the whole range"


def test_latency_figure_names_its_bucket_and_may_keep_the_time_axis_apart():
    df = pd.DataFrame([{"key": "K", "bucket": pd.Timestamp(A) + pd.Timedelta(minutes=m), "latency_ms": 40.0}
                       for m in (0, 15)])
    thresholds = {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}
    fig = latency_figure(df, thresholds, group="country", bucket_seconds=900, gap_seconds=1800, uirevision="v",
                         x_uirevision="v|zoom")
    assert fig.layout.xaxis.title.text == "15-min buckets · times UTC" and fig.layout.xaxis.uirevision == "v|zoom"
    assert latency_figure(df, thresholds, group="country", bucket_seconds=900, gap_seconds=1800).layout.xaxis \
        .uirevision is None


def test_a_zoom_into_a_stretch_without_data_keeps_its_axes(seeded, ctx):
    start = seeded["end"] - timedelta(days=3)  # the seeded history covers the last day only
    zoom = zoom_cb.zoom_value((start, start + timedelta(hours=2)))
    latency, loss, jitter, _ = graphs_cb.refresh_series("?range=7d", 0, "country", False, None, zoom)
    for fig in (latency, loss, jitter):
        assert fig.layout.xaxis.visible is not False
        assert list(fig.layout.xaxis.range) == [start, start + timedelta(hours=2)]
        assert "zoomed in" in fig.layout.xaxis.title.text
