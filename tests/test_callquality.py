"""R-factor and MOS against worked examples computed by hand from the G.107 formulas in the module docstring.

The formulas (G.711 with PLC, random loss):
    one-way d = RTT/2 + 2*jitter + 20 ms
    Id        = 0.024 d + 0.11 (d - 177.3) when d > 177.3
    Ie-eff    = 0 + (95 - 0) * Ppl / (Ppl + 25.1)
    R         = 93.2 - Id - Ie-eff, clamped to 0..100
    MOS       = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R)
"""
from __future__ import annotations

import pytest

from collector.callquality import delay_impairment, loss_impairment, mos_from_r, mos_label, r_factor


def test_short_clean_path():
    # RTT 40, jitter 0, loss 0: d = 20 + 0 + 20 = 40 ms; Id = 0.96; R = 93.2 - 0.96 = 92.24
    # MOS = 1 + 3.2284 + 7e-6 * 92.24 * 32.24 * 7.76 = 1 + 3.2284 + 0.16154 = 4.38994
    assert delay_impairment(40) == pytest.approx(0.96)
    assert r_factor(40, 0, 0) == pytest.approx(92.24)
    assert mos_from_r(92.24) == pytest.approx(4.38994, abs=1e-5)


def test_lossy_path():
    # RTT 40, jitter 0, loss 5 %: Ie-eff = 95 * 5 / 30.1 = 15.78073; R = 92.24 - 15.78073 = 76.45927
    # MOS = 1 + 2.676074 + 7e-6 * 76.45927 * 16.45927 * 23.54073 = 1 + 2.676074 + 0.207377 = 3.88345
    assert loss_impairment(5) == pytest.approx(15.78073, abs=1e-5)
    r = r_factor(40, 0, 5)
    assert r == pytest.approx(76.45927, abs=1e-5)
    assert mos_from_r(r) == pytest.approx(3.88345, abs=1e-5)


def test_high_delay_path_crosses_the_177_ms_knee():
    # RTT 400, jitter 10, loss 0: d = 200 + 20 + 20 = 240 ms
    # Id = 0.024 * 240 + 0.11 * (240 - 177.3) = 5.76 + 6.897 = 12.657; R = 80.543
    # MOS = 1 + 2.819005 + 7e-6 * 80.543 * 20.543 * 19.457 = 1 + 2.819005 + 0.225354 = 4.04436
    assert delay_impairment(240) == pytest.approx(12.657)
    r = r_factor(400, 10, 0)
    assert r == pytest.approx(80.543)
    assert mos_from_r(r) == pytest.approx(4.04436, abs=1e-5)


def test_jitter_and_loss_together():
    # RTT 100, jitter 15, loss 1 %: d = 50 + 30 + 20 = 100; Id = 2.4; Ie-eff = 95 / 26.1 = 3.639847
    # R = 93.2 - 2.4 - 3.639847 = 87.160153
    assert r_factor(100, 15, 1) == pytest.approx(87.160153, abs=1e-6)


def test_missing_jitter_counts_as_zero():
    assert r_factor(40, None, 0) == pytest.approx(92.24)


def test_delay_impairment_is_continuous_at_the_knee():
    assert delay_impairment(177.3) == pytest.approx(0.024 * 177.3)
    assert delay_impairment(177.4) == pytest.approx(0.024 * 177.4 + 0.11 * 0.1)


@pytest.mark.parametrize("rtt, loss", [(None, 0), (None, 100), (20, 100)])
def test_no_reply_scores_zero(rtt, loss):
    assert r_factor(rtt, 0, loss) == 0.0


def test_r_is_clamped_at_zero():
    # RTT 2000: d = 1020; Id = 24.48 + 0.11 * 842.7 = 117.177 > 93.2
    assert r_factor(2000, 0, 0) == 0.0
    assert mos_from_r(0.0) == 1.0


@pytest.mark.parametrize("r, mos", [
    (-5, 1.0), (0, 1.0), (50, 1 + 1.75 - 7e-6 * 50 * 10 * 50), (93.2, 4.409286), (100, 4.5), (120, 4.5),
])
def test_mos_from_r(r, mos):
    assert mos_from_r(r) == pytest.approx(mos, abs=1e-6)


def test_r_falls_as_delay_loss_or_jitter_grow():
    assert r_factor(20, 0, 0) > r_factor(80, 0, 0) > r_factor(300, 0, 0) > r_factor(600, 0, 0)
    assert r_factor(40, 0, 0) > r_factor(40, 0, 0.5) > r_factor(40, 0, 5) > r_factor(40, 0, 50)
    assert r_factor(40, 0, 0) > r_factor(40, 5, 0) > r_factor(40, 50, 0)


@pytest.mark.parametrize("mos, label", [
    (4.5, "excellent"), (4.3, "excellent"), (4.29, "good"), (4.0, "good"), (3.99, "fair"), (3.6, "fair"),
    (3.59, "poor"), (3.1, "poor"), (3.09, "bad"), (1.0, "bad"), (None, None),
])
def test_mos_label(mos, label):
    assert mos_label(mos) == label
