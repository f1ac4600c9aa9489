"""Turn a probe's raw result into the stored measurement: statistics, latency class, call quality."""
from __future__ import annotations

import json
import statistics
import math
from dataclasses import dataclass, fields

from collector.callquality import mos_from_r, r_factor
from settings import THRESHOLD_NAMES
from collector.probes.base import ProbeResult


@dataclass
class Measurement:
    """Everything stored for one server in one round (times in ms)."""

    packets_transmitted: int
    packets_received: int
    packets_lost: int
    loss_percentage: float
    min_time: float | None
    avg_time: float | None
    max_time: float | None
    mdev_time: float | None
    median_time: float | None
    jitter_time: float | None
    latency_class: str
    is_high_latency: bool
    success: bool
    samples: list[float | None]
    error: str | None
    r_factor: float | None
    mos: float | None

    def as_row(self) -> dict:
        """Column values for ping_results (samples as JSON text)."""
        # A shallow field dict: dataclasses.asdict deep-copies the samples, 15 µs a row for nothing.
        row = {name: getattr(self, name) for name in _FIELD_NAMES}
        row["samples"] = json.dumps(self.samples)
        return row


_FIELD_NAMES = tuple(f.name for f in fields(Measurement))


def jitter_ms(rtts: list[float]) -> float | None:
    """RFC 3550-style jitter: the mean absolute difference of consecutive RTTs."""
    if len(rtts) < 2:
        return None
    return sum(abs(b - a) for a, b in zip(rtts, rtts[1:])) / (len(rtts) - 1)


def mdev_ms(rtts: list[float]) -> float | None:
    """Population standard deviation, as ping's mdev reports it."""
    if not rtts:
        return None
    # Plain float arithmetic: statistics.pstdev works in exact fractions, two thirds of measure()'s time.
    mean = math.fsum(rtts) / len(rtts)
    return math.sqrt(math.fsum((x - mean) ** 2 for x in rtts) / len(rtts))


def latency_class(avg: float | None, thresholds: dict[str, float]) -> str:
    """The first class whose upper bound the average does not exceed; 'down' when nothing came back."""
    if avg is None:
        return "down"
    for name in THRESHOLD_NAMES:
        if avg <= thresholds[name]:
            return name
    return "critical"


def _rtt_stats(result: ProbeResult, rtts: list[float]) -> tuple:
    """min, avg, max, mdev from the samples, else from what the tool printed."""
    if rtts:
        return min(rtts), statistics.fmean(rtts), max(rtts), mdev_ms(rtts)
    return result.rtt_min_ms, result.rtt_avg_ms, result.rtt_max_ms, result.rtt_mdev_ms


def measure(result: ProbeResult, thresholds: dict[str, float]) -> Measurement:
    """Derive every stored statistic from one probe result."""
    received = result.received if result.error is None else 0
    # A failed or silent probe measured nothing: ignore stray samples so no statistic contradicts received=0.
    rtts = [s for s in result.samples_ms if s is not None] if received else []
    transmitted = max(result.transmitted, received)
    loss = 100.0 * (transmitted - received) / transmitted if transmitted else 100.0
    lo, avg, hi, mdev = _rtt_stats(result, rtts) if received else (None,) * 4
    jitter = jitter_ms(rtts)
    r = r_factor(avg, jitter, loss) if result.error is None else None
    cls = latency_class(avg, thresholds)
    return Measurement(
        packets_transmitted=transmitted, packets_received=received, packets_lost=transmitted - received,
        loss_percentage=round(loss, 3), min_time=lo, avg_time=avg, max_time=hi, mdev_time=mdev,
        median_time=statistics.median(rtts) if rtts else None, jitter_time=jitter,
        latency_class=cls, is_high_latency=avg is not None and avg > thresholds["fair"],
        success=received > 0, samples=result.samples_ms, error=result.error,
        r_factor=None if r is None else round(r, 2), mos=None if r is None else round(mos_from_r(r), 3),
    )


@dataclass(frozen=True)
class Concern:
    """One condition worth a warning in a round: its kind (down, latency, loss, jitter), value, limit and text."""

    kind: str
    value: float | None
    limit: float | None
    text: str

    def as_dict(self) -> dict:
        """The stored form (one entry of ping_results.concern_data)."""
        return {"kind": self.kind, "value": self.value, "limit": self.limit, "text": self.text}


def find_concerns(m: Measurement, thresholds: dict[str, float], max_loss_pct: float,
                  max_jitter_ms: float) -> list[Concern]:
    """The conditions worth a warning in this round, as data (stored in ping_results.concern_data)."""
    if m.error:
        return [Concern("down", None, None, f"probe failed: {m.error}")]
    if not m.success:
        return [Concern("down", 100.0, None, "no reply (100% loss)")]
    found = []
    if m.is_high_latency:
        found.append(Concern("latency", m.avg_time, thresholds["fair"],
                             f"high latency {m.avg_time:.1f} ms ({m.latency_class})"))
    if m.loss_percentage > max_loss_pct:
        found.append(Concern("loss", m.loss_percentage, max_loss_pct, f"packet loss {m.loss_percentage:.1f}%"))
    if m.jitter_time is not None and m.jitter_time > max_jitter_ms:
        found.append(Concern("jitter", m.jitter_time, max_jitter_ms, f"jitter {m.jitter_time:.1f} ms"))
    return found


def concerns(m: Measurement, thresholds: dict[str, float], max_loss_pct: float, max_jitter_ms: float) -> list[str]:
    """The texts of find_concerns() (the seed's ping_results.concerns column joins them with '; ')."""
    return [c.text for c in find_concerns(m, thresholds, max_loss_pct, max_jitter_ms)]
