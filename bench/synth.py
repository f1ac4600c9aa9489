"""Realistic latency history as numpy arrays (no I/O, no project code): servers, incidents and RTT samples.

A server's mean RTT is its country's distance plus its partner's and its own offsets, raised in the
country's local business hours (weekends quieter). Samples add gamma-distributed queueing jitter and
rare spikes. Incidents come from Poisson processes: short loss bursts, outages (some as probe errors),
route changes, and partner-wide outages and country-wide degradations (a cable cut) that hit many
servers at once. Everything is deterministic for a seed.
"""
from __future__ import annotations

import ipaddress
import re

import numpy as np
import pandas as pd

# name, UTC offset (h), RTT from the contact centre (ms), cities partners are named after.
COUNTRIES = (
    ("Kenya", 3, 95, ("Nairobi", "Mombasa")), ("Nigeria", 1, 90, ("Lagos", "Abuja")),
    ("Egypt", 2, 60, ("Cairo", "Nile")), ("South Africa", 2, 120, ("Cape", "Joburg")),
    ("Ghana", 0, 85, ("Accra", "Kumasi")), ("Morocco", 1, 40, ("Atlas", "Casablanca")),
    ("Tanzania", 3, 105, ("Dar", "Kilimanjaro")), ("Uganda", 3, 100, ("Kampala", "Entebbe")),
    ("Ethiopia", 3, 90, ("Addis", "Abyssinia")), ("Senegal", 0, 80, ("Dakar", "Teranga")),
    ("India", 5.5, 110, ("Mumbai", "Chennai")), ("Philippines", 8, 140, ("Manila", "Cebu")),
    ("Brazil", -3, 130, ("Rio", "Paulista")), ("Mexico", -6, 110, ("Azteca", "Monterrey")),
    ("United States", -5, 75, ("Liberty", "Hudson")), ("Germany", 1, 18, ("Rhein", "Berlin")),
    ("Poland", 1, 30, ("Vistula", "Krakow")), ("Turkey", 3, 50, ("Bosphorus", "Anatolia")),
    ("United Arab Emirates", 4, 85, ("Gulf", "Dubai")), ("Indonesia", 7, 145, ("Java", "Nusantara")),
)
SUFFIXES = ("Telecom", "Voice", "Link", "Carrier", "Networks", "Connect")
DEFAULT_BLOCK = "10.78.0.0/16"  # tests/netlab.py's block, so a generated config can be probed in the lab

# Incidents per server (or partner, or country) per day, and their typical size.
RATES_PER_DAY = {"burst": 0.6, "outage": 0.08, "error": 0.02, "reroute": 0.05,
                 "partner_outage": 0.03, "country_degradation": 0.02}
SPIKE_PROBABILITY = 0.002  # a single packet delayed by tens of ms (a queue filling up)
PACKETS = 4


def _slug(text: str) -> str:
    """'Nairobi Voice' -> 'nairobivoice'."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def host_address(index: int, block: str = DEFAULT_BLOCK) -> str:
    """The index-th host of the block (0 -> 10.78.0.1), as tests/netlab.NetLab.address gives it."""
    net = ipaddress.ip_network(block)
    return str(net.network_address + 1 + index)


def build_servers(count: int, seed: int = 1) -> pd.DataFrame:
    """`count` servers over the 20 countries, 2 to 5 partners per country, with per-server behaviour."""
    rng = np.random.default_rng([seed, 11])
    partners = _partners(rng)
    rows = []
    for i in range(count):
        name, offset, base, _ = COUNTRIES[i % len(COUNTRIES)]
        choices = partners[name]
        partner, partner_ms = choices[int(rng.integers(len(choices)))]
        rows.append({"index": i, "country": name, "partner": partner, "ip": host_address(i),
                     "dn_ext": f"sip{i // len(COUNTRIES) + 1}.{_slug(partner)}.example",
                     "utc_offset_h": offset, "base_ms": base + partner_ms + float(rng.normal(0, base * 0.05))})
    frame = pd.DataFrame(rows)
    frame["base_ms"] = frame["base_ms"].clip(lower=2.0)
    frame["diurnal_amp"] = rng.uniform(0.03, 0.25, count)      # RTT rise at peak load, as a share of base
    frame["jitter_ms"] = rng.lognormal(np.log(1.5), 0.7, count).clip(0.2, 25)
    lossy = rng.random(count) < 0.3
    frame["loss_p"] = np.where(lossy, rng.uniform(0.0005, 0.01, count), 0.0)
    return frame


def _partners(rng: np.random.Generator) -> dict[str, list[tuple[str, float]]]:
    """Per country, 2 to 5 (partner name, extra RTT ms) pairs."""
    out = {}
    for name, _, _, cities in COUNTRIES:
        names = [f"{city} {suffix}" for city in cities for suffix in SUFFIXES]
        picked = rng.choice(len(names), size=int(rng.integers(2, 6)), replace=False)
        out[name] = [(names[k], float(rng.uniform(0, 25))) for k in picked]
    return out


def _poisson_starts(rng: np.random.Generator, rate_per_day: float, units: int, t0: float, t1: float) -> tuple:
    """(unit index, start epoch s) of incidents arriving at rate_per_day per unit over [t0, t1)."""
    counts = rng.poisson(rate_per_day * (t1 - t0) / 86400, units)
    unit = np.repeat(np.arange(units), counts)
    return unit, rng.uniform(t0, t1, unit.size)


def _durations(rng: np.random.Generator, n: int, median_s: float, lo_s: float, hi_s: float) -> np.ndarray:
    """Log-normal durations around a median, clipped to [lo_s, hi_s]."""
    return rng.lognormal(np.log(median_s), 0.8, n).clip(lo_s, hi_s)


def _incidents(kind, servers, start, duration, loss_p, extra_ms, extra_jitter, error=False) -> pd.DataFrame:
    """One incident row per affected server."""
    n = len(servers)
    return pd.DataFrame({"kind": kind, "server": np.asarray(servers, dtype=int), "start": start,
                         "end": np.asarray(start) + duration, "loss_p": np.broadcast_to(loss_p, n),
                         "extra_ms": np.broadcast_to(extra_ms, n), "extra_jitter": np.broadcast_to(extra_jitter, n),
                         "error": error})


def build_incidents(servers: pd.DataFrame, t0: float, t1: float, seed: int = 1) -> pd.DataFrame:
    """Every incident that starts in [t0, t1), one row per affected server (kind, server, start, end, effects)."""
    rng = np.random.default_rng([seed, 23, int(t0)])
    n = len(servers)
    parts = []
    unit, start = _poisson_starts(rng, RATES_PER_DAY["burst"], n, t0, t1)
    parts.append(_incidents("burst", unit, start, _durations(rng, unit.size, 480, 120, 3600),
                            rng.uniform(0.1, 0.5, unit.size), rng.uniform(0, 30, unit.size),
                            rng.uniform(2, 15, unit.size)))
    unit, start = _poisson_starts(rng, RATES_PER_DAY["outage"], n, t0, t1)
    parts.append(_incidents("outage", unit, start, _durations(rng, unit.size, 900, 120, 4 * 3600), 1.0, 0.0, 0.0))
    unit, start = _poisson_starts(rng, RATES_PER_DAY["error"], n, t0, t1)
    parts.append(_incidents("error", unit, start, _durations(rng, unit.size, 600, 60, 3600), 1.0, 0.0, 0.0, True))
    unit, start = _poisson_starts(rng, RATES_PER_DAY["reroute"], n, t0, t1)
    parts.append(_incidents("reroute", unit, start, _durations(rng, unit.size, 4 * 3600, 1800, 24 * 3600), 0.0,
                            rng.uniform(10, 80, unit.size), 0.0))
    parts += _group_incidents(rng, servers, "partner", "partner_outage", t0, t1)
    parts += _group_incidents(rng, servers, "country", "country_degradation", t0, t1)
    return pd.concat(parts, ignore_index=True).sort_values("start", ignore_index=True)


def _group_incidents(rng, servers: pd.DataFrame, column: str, kind: str, t0: float, t1: float) -> list[pd.DataFrame]:
    """Incidents that hit every server of one partner or one country at once."""
    groups = list(servers.groupby(column)["index"])
    unit, start = _poisson_starts(rng, RATES_PER_DAY[kind], len(groups), t0, t1)
    out = []
    for g, s in zip(unit, start):
        members = groups[g][1].to_numpy()
        if kind == "partner_outage":
            out.append(_incidents(kind, members, s, float(_durations(rng, 1, 1800, 300, 3 * 3600)[0]), 1.0, 0.0, 0.0))
        else:
            out.append(_incidents(kind, members, s, float(_durations(rng, 1, 6 * 3600, 3600, 24 * 3600)[0]),
                                  float(rng.uniform(0.005, 0.05)), float(rng.uniform(40, 150)),
                                  float(rng.uniform(3, 10))))
    return out


def local_load(times: np.ndarray, utc_offset_h: np.ndarray) -> np.ndarray:
    """Traffic load 0..1 per (time, server): peaks mid-afternoon local time, lower at weekends."""
    local = times[:, None] + utc_offset_h[None, :] * 3600.0
    hour = (local / 3600.0) % 24
    weekday = ((local // 86400) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    load = (0.5 - 0.5 * np.cos(2 * np.pi * (hour - 4) / 24)) ** 2
    return load * np.where(weekday >= 5, 0.35, 1.0)


def _incident_effects(times: np.ndarray, incidents: pd.DataFrame, n_servers: int) -> tuple:
    """(loss probability, extra ms, extra jitter, error) arrays (rounds, servers) from the overlapping incidents."""
    shape = (times.size, n_servers)
    loss, extra, jitter, error = np.zeros(shape), np.zeros(shape), np.zeros(shape), np.zeros(shape, bool)
    live = incidents[(incidents["start"] < times[-1] + 1) & (incidents["end"] > times[0])]
    for inc in live.itertuples(index=False):
        rows = (times >= inc.start) & (times < inc.end)
        s = inc.server
        loss[rows, s] = np.maximum(loss[rows, s], inc.loss_p)
        extra[rows, s] += inc.extra_ms
        jitter[rows, s] += inc.extra_jitter
        if inc.error:
            error[rows, s] = True
    return loss, extra, jitter, error


def round_samples(servers: pd.DataFrame, incidents: pd.DataFrame, times: np.ndarray, seed: int = 1,
                  packets: int = PACKETS) -> tuple[np.ndarray, np.ndarray]:
    """RTT samples (rounds, servers, packets) in ms, NaN when lost, and a (rounds, servers) probe-error mask."""
    rng = np.random.default_rng([seed, 37, int(times[0])])
    load = local_load(times, servers["utc_offset_h"].to_numpy(float))
    loss_p, extra, extra_jitter, error = _incident_effects(times, incidents, len(servers))
    base = servers["base_ms"].to_numpy()[None, :]
    mean = base * (1 + servers["diurnal_amp"].to_numpy()[None, :] * load) + extra
    jitter = servers["jitter_ms"].to_numpy()[None, :] * (1 + 1.5 * load) + extra_jitter
    shape = (*mean.shape, packets)
    rtt = mean[..., None] + rng.gamma(2.0, 1.0, shape) * (jitter[..., None] / 2)
    rtt += np.where(rng.random(shape) < SPIKE_PROBABILITY, rng.exponential(60.0, shape), 0.0)
    p = np.maximum(loss_p, servers["loss_p"].to_numpy()[None, :])
    rtt[rng.random(shape) < p[..., None]] = np.nan
    return np.round(rtt, 2), error


def round_times(start: float, rounds: int, interval_s: float) -> np.ndarray:
    """Epoch seconds at which each round starts."""
    return start + interval_s * np.arange(rounds, dtype=float)
