"""Estimated call quality (R-factor and MOS) from latency, jitter and loss: a simplified ITU-T G.107 E-model.

Assumptions, stated because the E-model needs inputs a ping cannot see:
- codec G.711 with packet-loss concealment (Ie = 0, Bpl = 25.1), random loss (BurstR = 1);
- one-way delay = RTT / 2, plus a jitter buffer of 2 x jitter, plus 20 ms of codec/packetisation delay;
- every other impairment at the G.107 default, giving R0 - Is = 93.2.
"""
from __future__ import annotations

R_DEFAULT = 93.2
CODEC_DELAY_MS = 20.0
IE_G711 = 0.0
BPL_G711_PLC = 25.1

MOS_LABELS = ((4.3, "excellent"), (4.0, "good"), (3.6, "fair"), (3.1, "poor"), (0.0, "bad"))


def delay_impairment(one_way_ms: float) -> float:
    """Id from G.107's simplified delay term (Cole & Rosenbluth fit)."""
    d = one_way_ms
    return 0.024 * d + (0.11 * (d - 177.3) if d > 177.3 else 0.0)


def loss_impairment(loss_pct: float, ie: float = IE_G711, bpl: float = BPL_G711_PLC) -> float:
    """Ie-eff from G.107 for random loss."""
    return ie + (95.0 - ie) * loss_pct / (loss_pct + bpl)


def r_factor(rtt_ms: float | None, jitter_ms: float | None, loss_pct: float) -> float:
    """Estimated R-factor (0..100); a round with no reply scores 0."""
    if rtt_ms is None or loss_pct >= 100:
        return 0.0
    one_way = rtt_ms / 2 + 2 * (jitter_ms or 0.0) + CODEC_DELAY_MS
    r = R_DEFAULT - delay_impairment(one_way) - loss_impairment(loss_pct)
    return max(0.0, min(100.0, r))


def mos_from_r(r: float) -> float:
    """MOS (1..4.5) from R, the G.107 Annex B conversion."""
    if r <= 0:
        return 1.0
    if r >= 100:
        return 4.5
    return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r)


def mos_label(mos: float | None) -> str | None:
    """A word for a MOS value: excellent, good, fair, poor or bad."""
    if mos is None:
        return None
    return next(label for floor, label in MOS_LABELS if mos >= floor)
