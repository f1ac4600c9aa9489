"""Statistics of one probe result: jitter, mdev, loss, latency class, call quality and concerns."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from collector.measure import Measurement, concerns, jitter_ms, latency_class, mdev_ms, measure
from collector.probes.base import ProbeResult
from storage.schema import ping_results

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ping"
THRESHOLDS = {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}


def mos_of(r: float) -> float:
    """G.107 Annex B, written out here independently of collector.callquality."""
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)


# --- jitter and mdev --------------------------------------------------------------------------

@pytest.mark.parametrize("rtts, expected", [
    ([10, 20, 15, 15], (10 + 5 + 0) / 3),
    ([40, 40, 40], 0.0),
    ([1.5, 3.0], 1.5),
    ([100, 10, 100, 10], 90.0),
])
def test_jitter_is_mean_absolute_difference_of_consecutive_rtts(rtts, expected):
    assert jitter_ms(rtts) == pytest.approx(expected)


def test_jitter_is_order_sensitive_unlike_a_spread():
    # Same values, different order: a standard deviation cannot tell these apart, jitter must.
    assert jitter_ms([10, 10, 30, 30]) == pytest.approx(20 / 3)
    assert jitter_ms([10, 30, 10, 30]) == pytest.approx(20.0)


@pytest.mark.parametrize("rtts", [[], [42.0]])
def test_jitter_needs_two_samples(rtts):
    assert jitter_ms(rtts) is None


def test_mdev_is_the_population_standard_deviation():
    assert mdev_ms([10, 20]) == pytest.approx(5.0)
    assert mdev_ms([1, 2, 3, 4]) == pytest.approx(math.sqrt(1.25))
    assert mdev_ms([7.0]) == 0.0
    assert mdev_ms([]) is None


def test_mdev_matches_what_iputils_ping_printed():
    text = (FIXTURES / "linux_iputils_jitter.txt").read_text()
    rtts = [float(t) for t in re.findall(r"time=([\d.]+) ms", text)]
    printed = float(re.search(r"= [\d.]+/[\d.]+/[\d.]+/([\d.]+) ms", text).group(1))
    assert len(rtts) == 5
    # The reply lines are rounded to 0.1 ms, the summary is not: agree to 0.01 ms (n-1 would give 2.55).
    assert mdev_ms(rtts) == pytest.approx(printed, abs=0.01)


# --- latency class ------------------------------------------------------------------------------

@pytest.mark.parametrize("avg, expected", [
    (0.05, "excellent"), (50, "excellent"), (50.01, "good"), (100, "good"), (100.5, "fair"), (150, "fair"),
    (150.01, "poor"), (300, "poor"), (300.1, "critical"), (500, "critical"), (2500, "critical"), (None, "down"),
])
def test_latency_class_uses_thresholds_as_inclusive_upper_bounds(avg, expected):
    assert latency_class(avg, THRESHOLDS) == expected


def test_latency_class_follows_configured_thresholds():
    tight = {"excellent": 5, "good": 10, "fair": 20, "poor": 40, "critical": 80}
    assert [latency_class(v, tight) for v in (4, 9, 19, 39, 79)] == ["excellent", "good", "fair", "poor", "critical"]


# --- measure ----------------------------------------------------------------------------------

def test_all_replies():
    m = measure(ProbeResult(transmitted=4, received=4, samples_ms=[10.0, 20.0, 15.0, 15.0]), THRESHOLDS)
    assert (m.packets_transmitted, m.packets_received, m.packets_lost, m.loss_percentage) == (4, 4, 0, 0.0)
    assert (m.min_time, m.avg_time, m.max_time, m.median_time) == (10.0, 15.0, 20.0, 15.0)
    assert m.mdev_time == pytest.approx(math.sqrt((25 + 25 + 0 + 0) / 4))
    assert m.jitter_time == pytest.approx(5.0)
    assert (m.latency_class, m.is_high_latency, m.success, m.error) == ("excellent", False, True, None)
    # one-way = 15/2 + 2*5 + 20 = 37.5 ms -> full G.107 (tests/collector/test_callquality.py's g107_r) R = 92.06
    assert m.r_factor == pytest.approx(92.06)
    assert m.mos == pytest.approx(mos_of(92.06), abs=0.001)


def test_partial_loss_with_lost_packets_marked_none():
    m = measure(ProbeResult(transmitted=4, received=3, samples_ms=[10.0, None, 30.0, 20.0]), THRESHOLDS)
    assert (m.packets_lost, m.loss_percentage, m.success) == (1, 25.0, True)
    assert (m.min_time, m.avg_time, m.max_time, m.median_time) == (10.0, 20.0, 30.0, 20.0)
    assert m.jitter_time == pytest.approx((20 + 10) / 2)
    assert m.samples == [10.0, None, 30.0, 20.0]
    # one-way = 10 + 2*15 + 20 = 60 ms, Ie-eff = 95*25/(25+25.1) = 47.405 -> full G.107 R = 44.12
    assert m.r_factor == pytest.approx(44.12)


def test_loss_percentage_is_rounded_to_three_places():
    m = measure(ProbeResult(transmitted=3, received=2, samples_ms=[5.0, 5.0]), THRESHOLDS)
    assert m.loss_percentage == 33.333


@pytest.mark.parametrize("result", [
    ProbeResult(transmitted=4, received=0),
    ProbeResult(transmitted=4, received=0, samples_ms=[None, None, None, None]),
    ProbeResult(transmitted=4, received=0, rtt_min_ms=0.0, rtt_avg_ms=0.0, rtt_max_ms=0.0, rtt_mdev_ms=0.0),
    ProbeResult(transmitted=0, received=0),
], ids=["ping", "per-packet", "tool printed zeros", "nothing sent"])
def test_no_reply_is_total_loss_with_null_rtts_never_zero(result):
    m = measure(result, THRESHOLDS)
    assert m.loss_percentage == 100.0 and m.packets_received == 0 and not m.success
    assert [m.min_time, m.avg_time, m.max_time, m.mdev_time, m.median_time, m.jitter_time] == [None] * 6
    assert m.latency_class == "down" and m.is_high_latency is False
    assert (m.r_factor, m.mos) == (0.0, 1.0)  # measured: nothing came back, no call possible


def test_probe_failure_keeps_the_error_and_measures_nothing():
    m = measure(ProbeResult.failed(4, "unknown host sip.nowhere.example"), THRESHOLDS)
    assert m.error == "unknown host sip.nowhere.example"
    assert (m.packets_transmitted, m.packets_received, m.packets_lost, m.loss_percentage) == (4, 0, 4, 100.0)
    assert m.avg_time is None and m.latency_class == "down" and not m.success
    assert m.r_factor is None and m.mos is None  # not measured, unlike a measured total loss


def test_a_failed_probe_carrying_samples_still_stores_no_statistics():
    result = ProbeResult(transmitted=4, received=2, samples_ms=[10.0, 30.0], error="ping killed after deadline")
    m = measure(result, THRESHOLDS)
    assert m.packets_received == 0 and not m.success
    assert [m.avg_time, m.median_time, m.jitter_time] == [None, None, None]


def test_tool_summary_is_used_when_there_are_no_samples():
    result = ProbeResult(transmitted=4, received=4, rtt_min_ms=1.0, rtt_avg_ms=2.0, rtt_max_ms=3.0, rtt_mdev_ms=0.5)
    m = measure(result, THRESHOLDS)
    assert (m.min_time, m.avg_time, m.max_time, m.mdev_time) == (1.0, 2.0, 3.0, 0.5)
    assert m.jitter_time is None and m.median_time is None and m.success


def test_duplicates_never_make_received_exceed_transmitted():
    m = measure(ProbeResult(transmitted=2, received=3, samples_ms=[1.0, 1.0, 1.0]), THRESHOLDS)
    assert m.packets_transmitted == 3 and m.packets_lost == 0 and m.loss_percentage == 0.0


@pytest.mark.parametrize("rtt, cls, high", [(120.0, "fair", False), (150.0, "fair", False), (200.0, "poor", True),
                                            (700.0, "critical", True)])
def test_high_latency_means_above_the_fair_bound(rtt, cls, high):
    m = measure(ProbeResult(transmitted=2, received=2, samples_ms=[rtt, rtt]), THRESHOLDS)
    assert (m.latency_class, m.is_high_latency) == (cls, high)


def test_as_row_fits_ping_results_and_stores_samples_as_json():
    m = measure(ProbeResult(transmitted=3, received=2, samples_ms=[1.25, None, 2.5]), THRESHOLDS)
    row = m.as_row()
    assert set(row) <= set(ping_results.c.keys())
    assert set(row) == set(Measurement.__dataclass_fields__)
    assert json.loads(row["samples"]) == [1.25, None, 2.5]


# --- concerns ---------------------------------------------------------------------------------

def _m(samples, transmitted=None, error=None) -> Measurement:
    received = sum(s is not None for s in samples)
    return measure(ProbeResult(transmitted=transmitted or len(samples), received=received, samples_ms=samples,
                               error=error), THRESHOLDS)


def test_healthy_round_has_no_concerns():
    assert concerns(_m([20.0, 21.0, 20.0, 22.0]), THRESHOLDS, 1, 30) == []


def test_concerns_name_each_problem():
    assert concerns(_m([200.0, 200.0]), THRESHOLDS, 1, 30) == ["high latency 200.0 ms (poor)"]
    assert concerns(_m([20.0, None, 20.0, 20.0]), THRESHOLDS, 1, 30) == ["packet loss 25.0%"]
    assert concerns(_m([10.0, 60.0, 10.0]), THRESHOLDS, 1, 30) == ["jitter 50.0 ms"]
    assert concerns(_m([None, None]), THRESHOLDS, 1, 30) == ["no reply (100% loss)"]
    assert concerns(_m([], transmitted=4, error="unknown host x"), THRESHOLDS, 1, 30) == ["probe failed: unknown host x"]


def test_concerns_combine_and_limits_are_exclusive():
    m = _m([400.0, None, 300.0, 400.0])  # avg 366.7, loss 25 %, jitter (100+100)/2
    assert concerns(m, THRESHOLDS, 1, 30) == ["high latency 366.7 ms (critical)", "packet loss 25.0%", "jitter 100.0 ms"]
    assert concerns(m, THRESHOLDS, 25, 100) == ["high latency 366.7 ms (critical)"]
