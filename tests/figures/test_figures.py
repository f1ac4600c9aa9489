"""Figure builders and the pandas shaping behind them: pure functions, DataFrame in, figure out."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from figures.distribution import histogram_range, rtt_histogram, summary_text
from figures.empty import message_figure
from figures.frames import (band_polygon, bucket_grid, insert_gaps, series_names, trace_uid, value_ceiling,
                            value_matrix)
from figures.server import server_history_figure
from figures.smoke import figure_height, loss_color, samples_figure, smoke_figure
from figures.theme import CLASS_COLORS, key_colors, palette, series_colour
from figures.timeseries import latency_figure, loss_heatmap, metric_figure, threshold_bands

THRESHOLDS = {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}
T0 = pd.Timestamp("2026-11-01 00:00:00")
WINDOW = (T0.to_pydatetime(), (T0 + pd.Timedelta(hours=1)).to_pydatetime())


def series(key, minutes, latency=40.0, **extra):
    """ping_series-shaped rows of one key at the given minutes."""
    return pd.DataFrame([{"key": key, "bucket": T0 + pd.Timedelta(minutes=m), "latency_ms": latency,
                          "min_ms": latency - 5, "max_ms": latency + 5, "loss_pct": 0.0, "jitter_ms": 2.0,
                          "mos": 4.4, "rounds": 1, **extra} for m in minutes])


def ys(trace) -> list:
    """A trace's y values as a list with None for gaps."""
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in list(trace.y)]


# -- frames ------------------------------------------------------------------------------------

def test_insert_gaps_breaks_each_series_where_buckets_are_missing():
    df = pd.concat([series("Kenya", [0, 1, 2, 10, 11]), series("Egypt", [0, 1, 2])], ignore_index=True)
    out = insert_gaps(df, bucket_seconds=60, gap_seconds=120)
    kenya = out[out["key"] == "Kenya"]
    assert list(kenya["bucket"].dt.minute) == [0, 1, 2, 3, 10, 11]
    assert kenya["latency_ms"].isna().tolist() == [False, False, False, True, False, False]
    assert len(out[out["key"] == "Egypt"]) == 3


def test_insert_gaps_leaves_dense_series_alone():
    df = series("Kenya", [0, 1, 2, 3])
    assert insert_gaps(df, 60, 120).equals(df)
    assert insert_gaps(df.iloc[0:0], 60, 120).empty


def test_insert_gaps_keeps_labels_on_the_gap_row():
    df = series("s1", [0, 20], server_ip="10.0.0.1", partner="P", country="C")
    gap_row = insert_gaps(df, 60, 120).iloc[1]
    assert (gap_row["key"], gap_row["partner"], gap_row["server_ip"]) == ("s1", "P", "10.0.0.1")
    assert math.isnan(gap_row["latency_ms"])


def test_series_names():
    assert series_names(series("Kenya", [0]), "country") == {"Kenya": "Kenya"}
    df = series("10.0.0.1", [0], server_ip="10.0.0.1", partner="Safari Voice", country="Kenya")
    assert series_names(df, "server") == {"10.0.0.1": "Safari Voice · 10.0.0.1"}


def test_value_ceiling():
    assert value_ceiling(pd.Series([10.0, 100.0]), floor=60) == pytest.approx(115.0)
    assert value_ceiling(pd.Series([10.0]), floor=60) == 60
    assert value_ceiling(pd.Series([np.nan]), floor=5) == 5


def test_band_polygon_draws_one_closed_shape_per_unbroken_run():
    x = pd.Series([1, 2, 3, 4, 5])
    xs, ys_ = band_polygon(x, pd.Series([1.0, 1.0, np.nan, 2.0, 2.0]), pd.Series([3.0, 3.0, np.nan, 4.0, 4.0]))
    assert xs == [1, 2, 2, 1, None, 4, 5, 5, 4]
    assert ys_ == [3.0, 3.0, 1.0, 1.0, None, 4.0, 4.0, 2.0, 2.0]


def test_bucket_grid_and_value_matrix_leave_missing_buckets_empty():
    grid = bucket_grid(WINDOW, 600)
    assert len(grid) == 7 and grid[0] == T0
    df = pd.concat([series("A", [0, 10], loss_pct=5.0), series("B", [30])], ignore_index=True)
    matrix = value_matrix(df, "loss_pct", grid)
    assert list(matrix.index) == ["A", "B"]
    assert matrix.loc["A"].notna().tolist() == [True, True, False, False, False, False, False]
    assert matrix.loc["B", T0 + pd.Timedelta(minutes=30)] == 0.0


def test_trace_uid_is_stable_and_selector_safe():
    uid = trace_uid("latency_ms", "South Africa: 10.0.0.1")
    assert uid == trace_uid("latency_ms", "South Africa: 10.0.0.1") and uid.isalnum()
    assert uid != trace_uid("latency_ms", "Kenya")


# -- time series -------------------------------------------------------------------------------

def test_threshold_bands_cover_every_class():
    bands = threshold_bands(THRESHOLDS)
    assert [b[0] for b in bands] == ["excellent", "good", "fair", "poor", "critical", "beyond"]
    assert bands[1][1:] == (50.0, 100.0) and bands[-1][1] == 500.0


def test_latency_figure_draws_a_line_per_key_with_gaps_and_bands():
    df = pd.concat([series("Kenya", [0, 1, 2, 10], latency=40.0), series("Egypt", [0, 1], latency=120.0)],
                   ignore_index=True)
    fig = latency_figure(df, THRESHOLDS, group="country", bucket_seconds=60, gap_seconds=120, window=WINDOW,
                         uirevision="view-1")
    assert [t.name for t in fig.data] == ["Egypt", "Kenya"]
    assert ys(fig.data[1]) == [40.0, 40.0, 40.0, None, 40.0]
    assert all(t.connectgaps is False for t in fig.data)
    shapes = [s for s in fig.layout.shapes if s.type == "rect"]
    assert [s.fillcolor for s in shapes] == [CLASS_COLORS[n] for n in ("excellent", "good", "fair")]
    assert fig.layout.yaxis.range == (0, pytest.approx(138.0))
    assert fig.layout.uirevision == "view-1"
    assert list(fig.layout.xaxis.range) == list(WINDOW)


def test_latency_figure_per_server_uses_partner_and_ip():
    df = series("10.0.0.1", [0, 1], server_ip="10.0.0.1", partner="Lagos Link", country="Nigeria")
    fig = latency_figure(df, THRESHOLDS, group="server", bucket_seconds=60, gap_seconds=120)
    assert [t.name for t in fig.data] == ["Lagos Link · 10.0.0.1"]


def test_metric_figure_marks_the_alert_limit():
    fig = metric_figure(series("Kenya", [0, 1]), "jitter_ms", group="country", bucket_seconds=60, gap_seconds=120,
                        unit="ms", axis_title="jitter (ms)", limit=30, floor=5)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert len(lines) == 1 and lines[0].y0 == 30
    assert fig.layout.yaxis.range == (0, 45)


def test_loss_heatmap_has_a_row_per_key_and_blank_cells_for_gaps():
    df = pd.concat([series("Kenya", [0, 10], loss_pct=25.0), series("Egypt", [0])], ignore_index=True)
    fig = loss_heatmap(df, group="country", bucket_seconds=600, window=WINDOW)
    heat = fig.data[0]
    assert list(heat.y) == ["Egypt", "Kenya"]
    z = np.array(heat.z, dtype=float)
    assert z.shape == (2, 7)
    assert z[1, 0] == 25.0 and np.isnan(z[1, 2]) and z[0, 0] == 0.0


def test_a_key_keeps_its_colour_whatever_else_is_shown():
    colors = key_colors(["Egypt", "Kenya", "Nigeria"])
    alone = latency_figure(series("Nigeria", [0]), THRESHOLDS, group="country", bucket_seconds=60, gap_seconds=120,
                           colors=colors)
    assert alone.data[0].line.color == series_colour("Nigeria") == colors["Nigeria"]


def test_theme_changes_text_colour():
    light = latency_figure(series("K", [0]), THRESHOLDS, group="country", bucket_seconds=60, gap_seconds=120)
    dark = latency_figure(series("K", [0]), THRESHOLDS, group="country", bucket_seconds=60, gap_seconds=120,
                          dark=True)
    assert light.layout.template.layout.font.color == palette(False)["text"]
    assert dark.layout.template.layout.font.color == palette(True)["text"]


# -- smoke, distribution, server, empty --------------------------------------------------------

def bands_frame(server_id, minutes, loss=0.0):
    return pd.DataFrame([{"server_id": server_id, "bucket": T0 + pd.Timedelta(minutes=m), "rtt_min": 10.0,
                          "p10": 12.0, "p25": 14.0, "median": 15.0, "p75": 16.0, "p90": 18.0, "rtt_max": 30.0,
                          "loss_pct": loss, "rounds": 1, "replies": 5} for m in minutes])


def test_smoke_figure_has_a_row_per_server_with_bands_and_median():
    bands = pd.concat([bands_frame("a", [0, 1, 2]), bands_frame("b", [0, 1], loss=20.0)], ignore_index=True)
    fig = smoke_figure(bands, {"a": "A", "b": "B"}, THRESHOLDS, bucket_seconds=60, gap_seconds=120, window=WINDOW)
    assert fig.layout.height == figure_height(2)
    fills = [t for t in fig.data if t.fill == "toself"]
    assert len(fills) == 6  # three nested bands per server
    medians = [t for t in fig.data if t.name == "median"]
    assert [m.yaxis for m in medians] == ["y", "y2"]
    loss_marks = [t for t in fig.data if t.mode == "markers"]
    assert len(loss_marks) == 1 and list(loss_marks[0].marker.color) == [loss_color(20.0)] * 2
    assert [a.text for a in fig.layout.annotations if a.text in ("A", "B")] == ["A", "B"]


def test_loss_colors_step_up_with_loss():
    assert [loss_color(v) for v in (1, 10, 50, 100)] == ["#f59e0b", "#ea580c", "#dc2626", "#7f1d1d"]


def test_samples_figure_plots_every_answered_sample():
    samples = pd.DataFrame({"server_id": ["a"] * 4, "timestamp": [T0] * 4, "rtt_ms": [10.0, 11.0, np.nan, 12.0]})
    fig = samples_figure(samples, {"a": "A"}, THRESHOLDS, window=WINDOW)
    dots = [t for t in fig.data if t.name == "samples"]
    assert len(dots) == 1 and list(dots[0].y) == [10.0, 11.0, 12.0]


def test_rtt_histogram_marks_median_p95_and_class_bounds():
    values = pd.Series([40.0] * 50 + [120.0] * 50)
    fig = rtt_histogram(values, {"count": 100, "p50": 80.0, "p95": 120.0, "p99": 120.0}, THRESHOLDS)
    # Sent as BINS pre-counted bars, not as one point per packet; every packet in range is counted.
    assert fig.data[0].type == "bar" and len(fig.data[0].x) == 60 and sum(fig.data[0].y) == 100
    xs = sorted(s.x0 for s in fig.layout.shapes)
    assert xs == [50, 80.0, 100, 120.0]  # classes up to the data's range, plus median and p95
    assert any("median 80.0 ms" in a.text for a in fig.layout.annotations)


def test_histogram_range_ignores_rare_spikes():
    values = pd.Series([100.0] * 990 + [101.0] * 5 + [900.0] * 5)
    low, high = histogram_range(values, 150)
    assert low < 100 and 101 < high < 200
    assert histogram_range(pd.Series([], dtype=float), 150) == (0.0, 150)
    assert summary_text({"count": 0}) == "no answered packets"


def test_server_history_figure_has_latency_loss_and_jitter_rows():
    fig = server_history_figure(series("s", [0, 1, 10]), THRESHOLDS, bucket_seconds=60, gap_seconds=120,
                                limits={"max_packet_loss": 1, "max_jitter": 30}, window=WINDOW)
    names = [t.name for t in fig.data]
    assert names == ["min-max", "mean latency", "loss", "jitter"]
    mean = fig.data[1]
    assert ys(mean) == [40.0, 40.0, None, 40.0]
    assert None in list(fig.data[0].x)  # the min-max band breaks at the gap too


def test_message_figure_shows_the_text_without_axes():
    fig = message_figure("No data yet", dark=True)
    assert fig.layout.annotations[0].text == "No data yet"
    assert fig.layout.xaxis.visible is False and not fig.data
