"""RTTs read with two significant figures below 1 ms (a loopback or LAN RTT is not "0.0 ms"), one decimal
from 1 ms up: on the cards, in tables and in every figure's hover."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from figures.distribution import rtt_histogram, summary_text
from figures.frames import ms_labels
from figures.server import server_history_figure
from figures.smoke import samples_figure, smoke_figure, summary_figure
from figures.timeseries import latency_figure, metric_figure
from common import format as fmt
from layouts.status import _latency_text, _metrics, _strip_figures

THRESHOLDS = {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}
T0 = pd.Timestamp("2026-11-01 00:00:00")


@pytest.mark.parametrize("value, text", [
    (0.042, "0.042 ms"), (0.35, "0.35 ms"), (0.0421, "0.042 ms"), (0.3, "0.30 ms"), (0.0995, "0.10 ms"),
    (0.996, "1.0 ms"), (0.95, "0.95 ms"), (1.0, "1.0 ms"), (23.44, "23.4 ms"), (1500.25, "1500.2 ms"),
    (0, "0.0 ms"), (None, "–"), (float("nan"), "–"),
])
def test_ms_keeps_two_significant_figures_below_one_millisecond(value, text):
    assert fmt.ms(value) == text


def test_ms_labels_write_hover_numbers_the_same_way():
    assert list(ms_labels([0.042, np.nan, None, 23.44, 0.35])) == ["0.042", "", "", "23.4", "0.35"]


def test_cards_show_sub_millisecond_latency_and_jitter():
    row = {"success": True, "avg_time": 0.042, "jitter_time": 0.011, "loss_percentage": 0.0, "mos": 4.4}
    assert _latency_text(row, "up") == "0.042 ms"
    assert _metrics(row) == ["0%", "0.011 ms", "4.40"]
    beats = [type("Beat", (), {"avg_time": v, "loss_percentage": 0.0})() for v in (0.04, 0.05)]
    assert _strip_figures(beats, "ee") == "avg 0.045 ms, max 0.050 ms, loss 0%"


def frame(latency: float) -> pd.DataFrame:
    return pd.DataFrame([{"key": "127.0.0.1", "bucket": T0 + pd.Timedelta(minutes=m), "latency_ms": latency,
                          "min_ms": latency / 2, "max_ms": latency * 2, "loss_pct": 0.0, "jitter_ms": latency / 4,
                          "mos": 4.4, "rounds": 1} for m in range(3)])


def hover_text(trace, index: int = 0) -> str:
    """What plotly would show on hover for one point: the template with %{text} and %{customdata[i]} filled."""
    out = trace.hovertemplate.split("<extra>")[0]
    if trace.text is not None:
        out = out.replace("%{text}", str(trace.text[index]))
    if trace.customdata is not None:
        row = trace.customdata[index]
        row = [row] if np.ndim(row) == 0 else list(row)
        out = out.replace("%{customdata}", str(row[0]))
        for i, value in enumerate(row):
            out = out.replace(f"%{{customdata[{i}]}}", str(value))
    assert "%{y:" not in out and "%{x:" not in out, f"a d3 number format is left in {trace.hovertemplate!r}"
    return out


def test_series_hovers_keep_sub_millisecond_rtts():
    latency = latency_figure(frame(0.042), THRESHOLDS, group="country", bucket_seconds=60, gap_seconds=120)
    assert hover_text(latency.data[0]) == "0.042 ms"
    jitter = metric_figure(frame(0.042), "jitter_ms", group="country", bucket_seconds=60, gap_seconds=120,
                           unit="ms", axis_title="jitter (ms)")
    assert hover_text(jitter.data[0]) == "0.011 ms"  # 0.042 / 4 = 0.0105 -> two significant figures


def test_lines_above_a_millisecond_keep_the_light_d3_hover():
    latency = latency_figure(frame(40.0), THRESHOLDS, group="country", bucket_seconds=60, gap_seconds=120)
    assert latency.data[0].text is None and latency.data[0].hovertemplate.startswith("%{y:.1f} ms")


def test_server_page_hovers_keep_sub_millisecond_rtts():
    fig = server_history_figure(frame(0.36), THRESHOLDS, bucket_seconds=60, gap_seconds=120,
                                limits={"max_packet_loss": 1, "max_jitter": 30})
    by_name = {t.name: t for t in fig.data}
    assert hover_text(by_name["mean latency"]) == "mean 0.36 ms (min 0.18, max 0.72)"
    assert hover_text(by_name["jitter"]) == "jitter 0.090 ms"


def bands(median: float) -> pd.DataFrame:
    return pd.DataFrame([{"server_id": "a", "bucket": T0 + pd.Timedelta(minutes=m), "rtt_min": median / 2,
                          "p10": median, "p25": median, "median": median, "p75": median, "p90": median,
                          "rtt_max": median * 2, "rtt_mean": median, "loss_pct": 0.0, "rounds": 1, "replies": 4}
                         for m in range(3)])


def test_smoke_hovers_keep_sub_millisecond_rtts():
    smoke = smoke_figure(bands(0.042), {"a": "A"}, THRESHOLDS, bucket_seconds=60, gap_seconds=120)
    (median,) = [t for t in smoke.data if t.name == "median"]
    assert hover_text(median) == "median 0.042 ms · min 0.021 · max 0.084 · loss 0.0%"
    summary = summary_figure(bands(0.042), {"a": "A"}, THRESHOLDS, bucket_seconds=3600, gap_seconds=7200)
    (mean,) = [t for t in summary.data if t.name == "mean"]
    assert hover_text(mean).startswith("mean 0.042 ms · min 0.021")
    samples = pd.DataFrame({"server_id": ["a"] * 3, "timestamp": [T0] * 3, "rtt_ms": [0.035, 0.041, 2.5]})
    (dots,) = [t for t in samples_figure(samples, {"a": "A"}, THRESHOLDS).data if t.name == "samples"]
    assert [hover_text(dots, i) for i in range(3)] == ["0.035 ms", "0.041 ms", "2.5 ms"]


def test_samples_above_a_millisecond_keep_the_light_d3_hover():
    samples = pd.DataFrame({"server_id": ["a"] * 2, "timestamp": [T0] * 2, "rtt_ms": [12.0, 13.5]})
    (dots,) = [t for t in samples_figure(samples, {"a": "A"}, THRESHOLDS).data if t.name == "samples"]
    assert dots.text is None and dots.hovertemplate.startswith("%{y:.1f} ms")


def test_distribution_text_and_hover_keep_sub_millisecond_rtts():
    assert summary_text({"count": 10, "p50": 0.042, "p95": 0.35, "p99": 1.25}).startswith(
        "median 0.042 ms · p95 0.35 ms · p99 1.2 ms")
    values = pd.Series([0.03, 0.04, 0.05] * 10)
    fig = rtt_histogram(values, {"count": 30, "p50": 0.04, "p95": 0.05, "p99": 0.05}, THRESHOLDS)
    bars = fig.data[0]
    first = int(np.flatnonzero(np.asarray(bars.y))[0])
    assert hover_text(bars, first).endswith(" ms: %{y} packets")  # the count is a whole number
    assert hover_text(bars, first).split(" ms")[0] != "0.0"
