"""Estimated call quality (R-factor and MOS) from latency, jitter and loss: the full ITU-T G.107 E-model.

R = Ro - Is - Id - Ie,eff + A, every term computed from the G.107 equations (clause 7) with the
default parameter values of its Table 1 (SLR 8, RLR 2, STMR 15, LSTR 18, Ds = Dr = 3, TELR 65,
WEPL 110, qdu 1, Nc -70 dBm0p, Ps = Pr = 35 dB(A), Nfor -64 dBmp, A 0, mT 100 ms, sT 1), which
alone give R = 93.2.

Assumptions, stated because the E-model needs inputs a ping cannot see:
- codec G.711 with packet-loss concealment (Ie = 0, Bpl = 25.1, G.113 Appendix I), random loss (BurstR = 1);
- one-way delay d = RTT / 2, plus a jitter buffer of 2 x jitter, plus 20 ms of codec/packetisation delay;
- that d is both the mean one-way delay T of the echo path and the absolute delay Ta, and the round
  trip of the 4-wire loop is Tr = 2 d (talker echo is assumed cancelled to TELR 65 dB, the default).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

CODEC_DELAY_MS = 20.0
IE_G711 = 0.0
BPL_G711_PLC = 25.1

MOS_LABELS = ((4.3, "excellent"), (4.0, "good"), (3.6, "fair"), (3.1, "poor"), (0.0, "bad"))


@dataclass(frozen=True)
class EModel:
    """G.107 parameters other than delay and loss; the defaults are those of G.107 Table 1."""

    slr: float = 8.0  # send loudness rating, dB
    rlr: float = 2.0  # receive loudness rating, dB
    stmr: float = 15.0  # sidetone masking rating, dB
    lstr: float = 18.0  # listener sidetone rating, dB
    ds: float = 3.0  # D-value of telephone, send side
    telr: float = 65.0  # talker echo loudness rating, dB
    wepl: float = 110.0  # weighted echo path loss, dB
    qdu: float = 1.0  # quantizing distortion units
    nc: float = -70.0  # circuit noise referred to the 0 dBr point, dBm0p
    ps: float = 35.0  # room noise at the send side, dB(A)
    pr: float = 35.0  # room noise at the receive side, dB(A)
    nfor: float = -64.0  # noise floor at the receive side, dBmp
    advantage: float = 0.0  # A, advantage factor
    m_t_ms: float = 100.0  # mT: delay below which Idd is 0
    s_t: float = 1.0  # sT: sensitivity to absolute delay

    def noise(self) -> float:
        """No: the power addition of circuit, send room, receive room and noise-floor noise (dBm0p)."""
        olr = self.slr + self.rlr
        nos = self.ps - self.slr - self.ds - 100 + 0.004 * (self.ps - olr - self.ds - 14) ** 2
        pre = self.pr + 10 * math.log10(1 + 10 ** ((10 - self.lstr) / 10))
        nor = self.rlr - 121 + pre + 0.008 * (pre - 35) ** 2
        nfo = self.nfor + self.rlr
        return 10 * math.log10(10 ** (self.nc / 10) + 10 ** (nos / 10) + 10 ** (nor / 10) + 10 ** (nfo / 10))

    def ro(self) -> float:
        """Ro, the basic signal-to-noise ratio."""
        return 15 - 1.5 * (self.slr + self.noise())

    def sidetone_impairment(self, t_ms: float) -> float:
        """Ist, the impairment from non-optimum sidetone (STMRo includes the echo at delay T)."""
        stmro = -10 * math.log10(10 ** (-self.stmr / 10) + math.exp(-t_ms / 4) * 10 ** (-self.telr / 10))
        return (12 * (1 + ((stmro - 13) / 6) ** 8) ** (1 / 8)
                - 28 * (1 + ((stmro + 1) / 19.4) ** 35) ** (1 / 35)
                - 13 * (1 + ((stmro - 3) / 33) ** 13) ** (1 / 13) + 29)

    def simultaneous_impairment(self, t_ms: float) -> float:
        """Is = Iolr + Ist + Iq."""
        no, ro = self.noise(), self.ro()
        xolr = self.slr + self.rlr + 0.2 * (64 + no - self.rlr)
        iolr = 20 * ((1 + (xolr / 8) ** 8) ** (1 / 8) - xolr / 8)
        q = 37 - 15 * math.log10(self.qdu)
        g = 1.07 + 0.258 * q + 0.0602 * q ** 2
        y = (ro - 100) / 15 + 46 / 8.4 - g / 9
        z = 46 / 30 - g / 40
        iq = 15 * math.log10(1 + 10 ** y + 10 ** z)
        return iolr + self.sidetone_impairment(t_ms) + iq

    def talker_echo_impairment(self, t_ms: float) -> float:
        """Idte, talker echo at mean one-way delay T (with G.107's STMR < 9 and > 20 dB corrections)."""
        terv = self.telr - 40 * math.log10((1 + t_ms / 10) / (1 + t_ms / 150)) + 6 * math.exp(-0.3 * t_ms ** 2)
        ist = self.sidetone_impairment(t_ms)
        if self.stmr < 9:
            terv += ist / 2
        roe = -1.5 * (self.noise() - self.rlr)
        re = 80 + 2.5 * (terv - 14)
        idte = ((roe - re) / 2 + math.sqrt((roe - re) ** 2 / 4 + 100) - 1) * (1 - math.exp(-t_ms))
        if self.stmr > 20:
            idte = math.sqrt(idte ** 2 + ist ** 2)
        return idte

    def listener_echo_impairment(self, tr_ms: float) -> float:
        """Idle, listener echo at round-trip delay Tr."""
        ro = self.ro()
        rle = 10.5 * (self.wepl + 7) * (tr_ms + 1) ** -0.25
        return (ro - rle) / 2 + math.sqrt((ro - rle) ** 2 / 4 + 169)

    def absolute_delay_impairment(self, ta_ms: float) -> float:
        """Idd, the impairment of a long absolute delay Ta (0 up to mT)."""
        if ta_ms <= self.m_t_ms:
            return 0.0
        x = math.log10(ta_ms / self.m_t_ms) / math.log10(2)
        e = 6 * self.s_t
        return 25 * ((1 + x ** e) ** (1 / e) - 3 * (1 + (x / 3) ** e) ** (1 / e) + 2)

    def delay_impairment(self, t_ms: float, tr_ms: float, ta_ms: float) -> float:
        """Id = Idte + Idle + Idd."""
        return (self.talker_echo_impairment(t_ms) + self.listener_echo_impairment(tr_ms)
                + self.absolute_delay_impairment(ta_ms))

    def r(self, t_ms: float, tr_ms: float, ta_ms: float, ie_eff: float) -> float:
        """The transmission rating R, unclamped."""
        return (self.ro() - self.simultaneous_impairment(t_ms) - self.delay_impairment(t_ms, tr_ms, ta_ms)
                - ie_eff + self.advantage)


DEFAULT_MODEL = EModel()
R_DEFAULT = DEFAULT_MODEL.r(0.0, 0.0, 0.0, 0.0)  # 93.2: every G.107 default, no delay, no loss


def delay_impairment(one_way_ms: float) -> float:
    """Id from the full G.107 delay terms with T = Ta = one_way_ms and Tr = 2 x one_way_ms."""
    return DEFAULT_MODEL.delay_impairment(one_way_ms, 2 * one_way_ms, one_way_ms)


def loss_impairment(loss_pct: float, ie: float = IE_G711, bpl: float = BPL_G711_PLC, burst_r: float = 1.0) -> float:
    """Ie-eff from G.107: Ie + (95 - Ie) Ppl / (Ppl / BurstR + Bpl)."""
    return ie + (95.0 - ie) * loss_pct / (loss_pct / burst_r + bpl)


def one_way_delay_ms(rtt_ms: float, jitter_ms: float | None) -> float:
    """The mouth-to-ear delay assumed from a ping: half the RTT, a 2 x jitter buffer, 20 ms of codec."""
    return rtt_ms / 2 + 2 * (jitter_ms or 0.0) + CODEC_DELAY_MS


def r_factor(rtt_ms: float | None, jitter_ms: float | None, loss_pct: float) -> float:
    """Estimated R-factor (0..100); a round with no reply scores 0."""
    if rtt_ms is None or loss_pct >= 100:
        return 0.0
    d = one_way_delay_ms(rtt_ms, jitter_ms)
    r = DEFAULT_MODEL.r(d, 2 * d, d, loss_impairment(loss_pct))
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
