"""R-factor and MOS against the full ITU-T G.107 E-model (06/2015, clause 7, Table 1 defaults).

``g107_r`` below is an independent, line-by-line transcription of the standard's equations, written
separately from collector/callquality.py (which is structured as an EModel class). REFERENCE holds
points computed from it once and frozen here, so a change to either implementation shows up.
Anchors from outside this file: G.107 states R = 93.2 with every default, and issue 14 quotes
MOS 2.83 for a one-way delay of 500 ms (the old simplified delay formula gave 2.35).

Delay convention (as in collector/callquality.py): one-way d = RTT/2 + 2 x jitter + 20 ms, used as
T = Ta = d and Tr = 2 d. Loss: G.711 with PLC, Ie = 0, Bpl = 25.1, BurstR = 1.
"""
from __future__ import annotations

from math import exp, log10, sqrt

import pytest

from collector.callquality import (DEFAULT_MODEL, R_DEFAULT, EModel, delay_impairment, loss_impairment,
                                   mos_from_r, mos_label, one_way_delay_ms, r_factor)


def g107_r(T, Tr, Ta, Ppl=0.0, Ie=0.0, Bpl=25.1, BurstR=1.0):
    """ITU-T G.107 (06/2015) clause 7, transcribed line by line with the Table 1 defaults."""
    SLR, RLR, STMR, LSTR, Ds, Dr, TELR, WEPL, qdu = 8, 2, 15, 18, 3, 3, 65, 110, 1
    Nc, Ps, Pr, Nfor, A, mT, sT = -70, 35, 35, -64, 0, 100, 1
    # 7.2 basic signal-to-noise ratio
    OLR = SLR + RLR
    Nfo = Nfor + RLR
    Pre = Pr + 10 * log10(1 + 10 ** ((10 - LSTR) / 10))
    Nor = RLR - 121 + Pre + 0.008 * (Pre - 35) ** 2
    Nos = Ps - SLR - Ds - 100 + 0.004 * (Ps - OLR - Ds - 14) ** 2
    No = 10 * log10(10 ** (Nc / 10) + 10 ** (Nos / 10) + 10 ** (Nor / 10) + 10 ** (Nfo / 10))
    Ro = 15 - 1.5 * (SLR + No)
    # 7.3 simultaneous impairment factor
    Xolr = OLR + 0.2 * (64 + No - RLR)
    Iolr = 20 * ((1 + (Xolr / 8) ** 8) ** (1 / 8) - Xolr / 8)
    STMRo = -10 * log10(10 ** (-STMR / 10) + exp(-T / 4) * 10 ** (-TELR / 10))
    Ist = (12 * (1 + ((STMRo - 13) / 6) ** 8) ** (1 / 8) - 28 * (1 + ((STMRo + 1) / 19.4) ** 35) ** (1 / 35)
           - 13 * (1 + ((STMRo - 3) / 33) ** 13) ** (1 / 13) + 29)
    Q = 37 - 15 * log10(qdu)
    G = 1.07 + 0.258 * Q + 0.0602 * Q ** 2
    Z = 46 / 30 - G / 40
    Y = (Ro - 100) / 15 + 46 / 8.4 - G / 9
    Iq = 15 * log10(1 + 10 ** Y + 10 ** Z)
    Is = Iolr + Ist + Iq
    # 7.4 delay impairment factor (STMR = 15: neither the STMR < 9 nor the STMR > 20 correction applies)
    TERV = TELR - 40 * log10((1 + T / 10) / (1 + T / 150)) + 6 * exp(-0.3 * T ** 2)
    Roe = -1.5 * (No - RLR)
    Re = 80 + 2.5 * (TERV - 14)
    Idte = ((Roe - Re) / 2 + sqrt((Roe - Re) ** 2 / 4 + 100) - 1) * (1 - exp(-T))
    Rle = 10.5 * (WEPL + 7) * (Tr + 1) ** (-0.25)
    Idle = (Ro - Rle) / 2 + sqrt((Ro - Rle) ** 2 / 4 + 169)
    if Ta <= mT:
        Idd = 0.0
    else:
        X = log10(Ta / mT) / log10(2)
        Idd = 25 * ((1 + X ** (6 * sT)) ** (1 / (6 * sT)) - 3 * (1 + (X / 3) ** (6 * sT)) ** (1 / (6 * sT)) + 2)
    Id = Idte + Idle + Idd
    # 7.5 equipment impairment factor with random packet loss
    Ie_eff = Ie + (95 - Ie) * Ppl / (Ppl / BurstR + Bpl)
    return Ro - Is - Id - Ie_eff + A

def g107_mos(R):
    if R < 0: return 1.0
    if R > 100: return 4.5
    return 1 + 0.035 * R + R * (R - 60) * (100 - R) * 7e-6


# (one-way delay ms, loss %, R, MOS) from g107_r / g107_mos, G.711 with PLC.
REFERENCE = [
    (0, 0, 93.2062, 4.4094),
    (20, 0, 92.5313, 4.3960),
    (50, 0, 91.7562, 4.3796),
    (100, 0, 90.6637, 4.3549),
    (150, 0, 89.5391, 4.3275),
    (200, 0, 85.8047, 4.2232),
    (250, 0, 79.1771, 3.9925),
    (300, 0, 72.6664, 3.7194),
    (350, 0, 67.0269, 3.4547),
    (400, 0, 62.2468, 3.2156),
    (450, 0, 58.2106, 3.0069),
    (500, 0, 54.8032, 2.8280),
    (20, 1, 88.8915, 4.3109),
    (20, 5, 76.7506, 3.8955),
    (20, 20, 50.4027, 2.5962),
    (150, 1, 85.8993, 4.2261),
    (150, 5, 73.7584, 3.7680),
    (150, 20, 47.4105, 2.4396),
    (300, 1, 69.0265, 3.5510),
    (300, 5, 56.8856, 2.9375),
    (300, 20, 30.5378, 1.6313),
    (500, 1, 51.1633, 2.6362),
    (500, 5, 39.0224, 2.0164),
    (500, 20, 12.6746, 1.0769),
]


@pytest.mark.parametrize("d, loss, r, mos", REFERENCE)
def test_reference_points(d, loss, r, mos):
    assert g107_r(d, 2 * d, d, loss) == pytest.approx(r, abs=5e-5)  # the frozen table still holds
    got = DEFAULT_MODEL.r(d, 2 * d, d, loss_impairment(loss))
    assert got == pytest.approx(r, abs=1e-3)
    assert mos_from_r(got) == pytest.approx(mos, abs=1e-3)


def test_defaults_give_r_93_2():
    assert R_DEFAULT == pytest.approx(93.2, abs=0.01)
    assert r_factor(0, 0, 0) == pytest.approx(g107_r(20, 40, 20))  # RTT 0 still has 20 ms of codec delay


def test_issue_point_500_ms_one_way_is_mos_2_83():
    r = DEFAULT_MODEL.r(500, 1000, 500, 0.0)
    assert round(mos_from_r(r), 2) == 2.83
    # Through the public API: RTT 960 ms, no jitter -> 480 + 20 = 500 ms one way.
    assert round(mos_from_r(r_factor(960, 0, 0)), 2) == 2.83


def test_agrees_with_g107_within_0_05_mos_over_the_whole_grid():
    """Issue 14: one-way 0-500 ms, G.711 loss 0-20 %, every 5 ms and 0.5 %."""
    worst = 0.0
    for d in range(0, 501, 5):
        for half_pct in range(0, 41):
            loss = half_pct / 2
            expected = g107_mos(g107_r(d, 2 * d, d, loss))
            got = mos_from_r(max(0.0, min(100.0, DEFAULT_MODEL.r(d, 2 * d, d, loss_impairment(loss)))))
            worst = max(worst, abs(got - expected))
    assert worst < 0.05
    assert worst < 1e-9  # in fact the same equations: the difference is rounding only


@pytest.mark.parametrize("rtt, jitter, loss", [(40, 0, 0), (100, 15, 1), (400, 10, 0), (960, 0, 0), (250, 30, 12)])
def test_r_factor_uses_the_stated_delay_convention(rtt, jitter, loss):
    d = rtt / 2 + 2 * jitter + 20
    assert one_way_delay_ms(rtt, jitter) == d
    assert r_factor(rtt, jitter, loss) == pytest.approx(max(0.0, g107_r(d, 2 * d, d, loss)), abs=1e-9)


def test_delay_impairment_is_idte_plus_idle_plus_idd():
    # With no loss and every default, R = R(0) - (Id(d) - Id(0)) - (Is(d) - Is(0)); Is barely moves with T.
    for d in (0, 100, 177.3, 250, 500):
        id_ref = g107_r(0, 0, 0) - g107_r(d, 2 * d, d) - (DEFAULT_MODEL.simultaneous_impairment(d)
                                                         - DEFAULT_MODEL.simultaneous_impairment(0))
        assert delay_impairment(d) - delay_impairment(0) == pytest.approx(id_ref, abs=1e-9)
    assert DEFAULT_MODEL.absolute_delay_impairment(100) == 0.0 < DEFAULT_MODEL.absolute_delay_impairment(101)


def test_old_simplified_formula_is_gone():
    # The Cole & Rosenbluth fit gave Id = 0.024 d + 0.11 (d - 177.3) = 47.5 at 500 ms (MOS 2.35).
    assert delay_impairment(500) == pytest.approx(38.55, abs=0.01)


def test_loss_impairment():
    # Ie-eff = 95 * 5 / (5 + 25.1)
    assert loss_impairment(5) == pytest.approx(15.78073, abs=1e-5)
    assert loss_impairment(0) == 0.0
    assert loss_impairment(10, ie=0, bpl=25.1, burst_r=2) == pytest.approx(95 * 10 / (5 + 25.1))


def test_missing_jitter_counts_as_zero():
    assert r_factor(40, None, 0) == r_factor(40, 0, 0)


@pytest.mark.parametrize("rtt, loss", [(None, 0), (None, 100), (20, 100)])
def test_no_reply_scores_zero(rtt, loss):
    assert r_factor(rtt, 0, loss) == 0.0


def test_r_is_clamped_at_zero():
    # 500 ms one way (R 54.8) and 60 % loss (Ie-eff = 95 * 60 / 85.1 = 67.0) leave nothing.
    assert g107_r(500, 1000, 500, 60) < 0
    assert r_factor(960, 0, 60) == 0.0
    assert mos_from_r(0.0) == 1.0


def test_a_non_default_parameter_changes_r():
    # Louder room noise at the receive side lowers Ro; the model is general, the monitor uses the defaults.
    assert EModel(pr=60).r(0, 0, 0, 0) < R_DEFAULT


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
