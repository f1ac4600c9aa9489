"""One collector round against simulated hosts (tests/netlab.py) per backend, beside plain `fping -C` on the same hosts.

    python bench/collector_bench.py [--fping-sizes 200,1000,5000] [--ping-sizes 200,1000] [--repeats 3]
                                    [--repeats-large 1] [--ping-concurrency 64[,32]] [--skip-ping] [--skip-fping]

Needs root and network namespaces (the netlab); every packet stays inside the machine. Hosts answer after
20-80 ms (+/- 2 ms uniform jitter); 10 % of them drop 2-5 % of packets, the rest drop none. For each size:
wall time, CPU (own + children's rusage), mean absolute error of the average RTT against the configured
delay, and false loss (loss measured on hosts that drop nothing). fping alone runs with FpingProbe.argv().
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Figure, cpu_since, cpu_snapshot, figures_table, log, markdown_table, save_results
from settings import DEFAULTS
from collector.measure import measure
from collector.probes import FpingProbe, PingProbe, Target, default_os_params
from tests.netlab import HostProfile, NetLab, netlab_available

COUNT = DEFAULTS["ping_count"]
TIMEOUT_S = DEFAULTS["ping_timeout"]
THRESHOLDS = DEFAULTS["latency_thresholds"]
LOSSY_SHARE, JITTER_MS = 0.10, 2.0
INTERVAL_S = 60.0
_FPING_LINE = re.compile(r"^(\S+)\s+: ((?:[\d.]+|-)(?:\s+(?:[\d.]+|-))*)\s*$")


def host_profiles(count: int, seed: int = 1) -> dict[str, HostProfile]:
    """`count` simulated hosts: delay 20-80 ms, small jitter, a little loss on a tenth of them."""
    rng = random.Random(seed)
    profiles = {}
    for i in range(count):
        loss = rng.uniform(2, 5) if rng.random() < LOSSY_SHARE else 0.0
        profiles[NetLab.address(i)] = HostProfile(delay_ms=rng.uniform(20, 80), jitter_ms=JITTER_MS, loss_pct=loss)
    return profiles


def accuracy(stats_by_host: dict[str, tuple], profiles: dict[str, HostProfile]) -> dict[str, float]:
    """From (avg RTT or None, packets lost, packets sent) per host: MAE of the average RTT vs the configured
    delay, false loss on 0 %-loss hosts, and hosts without any reply."""
    errors, clean_sent, clean_lost, dead = [], 0, 0, 0
    for host, (avg, lost, sent) in stats_by_host.items():
        if avg is None:
            dead += 1
        else:
            errors.append(abs(avg - profiles[host].delay_ms))
        if profiles[host].loss_pct == 0:
            clean_sent += sent
            clean_lost += lost
    return {"mae_ms": statistics.fmean(errors) if errors else float("nan"),
            "false_loss_pct": 100.0 * clean_lost / clean_sent if clean_sent else 0.0,
            "false_loss_packets": clean_lost, "hosts_without_reply": dead}


def sample_stats(samples: list) -> tuple:
    """(mean RTT or None, lost, sent) of one host's samples (None = lost)."""
    got = [s for s in samples if s is not None]
    return (statistics.fmean(got) if got else None), COUNT - len(got), COUNT


def parse_fping_alone(stderr: str) -> dict[str, list]:
    """host -> samples (None = lost) from `fping -C N -q` output, minimally."""
    out = {}
    for line in stderr.splitlines():
        m = _FPING_LINE.match(line.strip())
        if m:
            out[m.group(1)] = [None if t == "-" else float(t) for t in m.group(2).split()]
    return out


def run_fping_alone(hosts: list[str]) -> tuple[dict, dict[str, list]]:
    """Plain fping with FpingProbe's exact flags; (timing, stats by host)."""
    argv = FpingProbe(COUNT, TIMEOUT_S).argv()
    before, t0 = cpu_snapshot(), time.perf_counter()
    done = subprocess.run(argv, input="\n".join(hosts) + "\n", capture_output=True, text=True, check=False)
    timing = {"wall_s": time.perf_counter() - t0, **cpu_since(before)}
    samples = parse_fping_alone(done.stderr)
    return timing, {h: sample_stats(samples.get(h, [None] * COUNT)) for h in hosts}


def run_probe(probe, hosts: list[str]) -> tuple[dict, dict[str, list]]:
    """probe.run() over the hosts, then measure() as the collector does; (timing, stats by host)."""
    targets = [Target(h, h) for h in hosts]
    before, t0 = cpu_snapshot(), time.perf_counter()
    results = probe.run(targets)
    timing = {"wall_s": time.perf_counter() - t0, **cpu_since(before)}
    t1 = time.perf_counter()
    measured = {h: measure(results[h], THRESHOLDS) for h in hosts}
    timing["measure_s"] = time.perf_counter() - t1
    return timing, {h: (m.avg_time, m.packets_lost, m.packets_transmitted) for h, m in measured.items()}


def medians(runs: list[dict]) -> dict:
    """Per key, the median over repeated runs (numbers only)."""
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    return {k: statistics.median(r[k] for r in runs) for k in keys}


def fresh_lab(profiles: dict, seed: int) -> NetLab:
    """A new lab (new responder): each host's k-th packet meets the same fate in every lab with this seed."""
    return NetLab(profiles, seed=seed)


def bench_fping(profiles: dict, repeats: int, responders: list) -> dict:
    """fping alone, then FpingProbe, each in a fresh lab with the same seed (identical losses); medians, ratios."""
    hosts, alone, probe = list(profiles), [], []
    for i in range(repeats):
        with fresh_lab(profiles, seed=i + 1) as lab:
            t, s = run_fping_alone(hosts)
        responders.append(lab.responder_stats)
        alone.append({**t, **accuracy(s, profiles)})
        with fresh_lab(profiles, seed=i + 1) as lab:
            t, s = run_probe(FpingProbe(COUNT, TIMEOUT_S), hosts)
        responders.append(lab.responder_stats)
        probe.append({**t, **accuracy(s, profiles)})
        log(f"fping {len(hosts)} hosts, run {i + 1}/{repeats}: alone {alone[-1]['wall_s']:.2f} s, "
            f"FpingProbe {probe[-1]['wall_s']:.2f} s")
    a, p = medians(alone), medians(probe)
    return {"backend": "fping", "hosts": len(hosts), "repeats": repeats, "probe": p, "alone": a,
            "wall_ratio": p["wall_s"] / a["wall_s"],
            "cpu_ratio": p["cpu_s"] / a["cpu_s"] if a["cpu_s"] else float("nan")}


def bench_ping(profiles: dict, repeats: int, concurrency: int, responders: list) -> dict:
    """PingProbe (one ping process per host, `concurrency` at a time), each run in a fresh lab; medians."""
    hosts, runs = list(profiles), []
    for i in range(repeats):
        with fresh_lab(profiles, seed=i + 1) as lab:
            t, s = run_probe(PingProbe(COUNT, TIMEOUT_S, default_os_params(), concurrency=concurrency), hosts)
        responders.append(lab.responder_stats)
        runs.append({**t, **accuracy(s, profiles)})
        log(f"ping {len(hosts)} hosts (concurrency {concurrency}), run {i + 1}/{repeats}: {runs[-1]['wall_s']:.1f} s")
    return {"backend": f"ping (concurrency {concurrency})", "hosts": len(hosts), "repeats": repeats,
            "probe": medians(runs), "concurrency": concurrency}


def result_rows(results: list[dict]) -> list[list]:
    """Rows of the detailed collector table."""
    rows = []
    for r in results:
        p, a = r["probe"], r.get("alone")
        rows.append([r["backend"], r["hosts"], r["repeats"], f"{p['wall_s']:.2f}", f"{p['cpu_s']:.2f}",
                     f"{p['own_cpu_s']:.2f}", f"{p['measure_s'] * 1000:.0f}", f"{p['mae_ms']:.2f}",
                     f"{p['false_loss_pct']:.3f} ({int(p['false_loss_packets'])})",
                     f"{a['wall_s']:.2f}" if a else "", f"{a['cpu_s']:.2f}" if a else "",
                     f"{a['mae_ms']:.2f}" if a else "", f"{a['false_loss_pct']:.3f}" if a else "",
                     f"{r['wall_ratio']:.2f}" if a else "", f"{r['cpu_ratio']:.2f}" if a else ""])
    return rows


HEADERS = ["backend", "hosts", "runs", "wall s", "CPU s", "own CPU s", "measure() ms", "RTT MAE ms",
           "false loss % (pkts)", "fping alone wall s", "alone CPU s", "alone MAE ms", "alone false loss %",
           "wall ratio", "CPU ratio"]


def figures(results: list[dict]) -> list[Figure]:
    """The collector figures against the issue's targets."""
    out = []
    for r in results:
        p, n = r["probe"], r["hosts"]
        if r["backend"] == "fping":
            target = n == 1000
            out.append(Figure.check("collector", f"fping {n} hosts: wall / fping alone", r["wall_ratio"],
                                    1.2 if target else None, "{:.2f}", "x"))
            out.append(Figure.check("collector", f"fping {n} hosts: CPU / fping alone", r["cpu_ratio"],
                                    2.0 if target else None, "{:.2f}", "x"))
            out.append(Figure.check("collector", f"fping {n} hosts: false loss", p["false_loss_pct"],
                                    0.0 if target else None, "{:.3f}", " %", target="0 %"))
            out.append(Figure("collector", f"fping {n} hosts: wall / CPU / RTT MAE",
                              f"{p['wall_s']:.2f} s / {p['cpu_s']:.2f} s / {p['mae_ms']:.2f} ms"))
        else:
            out.append(Figure.check("collector", f"{r['backend']} {n} hosts: wall", p["wall_s"],
                                    INTERVAL_S if n == 1000 else None, "{:.1f}", " s"))
            out.append(Figure("collector", f"{r['backend']} {n} hosts: CPU / RTT MAE / false loss",
                              f"{p['cpu_s']:.2f} s / {p['mae_ms']:.2f} ms / {p['false_loss_pct']:.3f} %"))
    return out


def sizes(text: str) -> list[int]:
    """'200,1000' -> [200, 1000] (empty -> [])."""
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fping-sizes", type=sizes, default=sizes("200,1000,5000"))
    p.add_argument("--ping-sizes", type=sizes, default=sizes("200,1000"))
    p.add_argument("--repeats", type=int, default=3, help="runs per size up to 1,000 hosts (median reported)")
    p.add_argument("--repeats-large", type=int, default=1, help="runs per size above 1,000 hosts")
    p.add_argument("--ping-concurrency", type=sizes, default=[DEFAULTS["max_concurrent_probes"]],
                   help="PingProbe workers, comma-separated to compare (default: the config's max_concurrent_probes "
                        "default, %(default)s; PingProbe's own constructor default is 32)")
    p.add_argument("--skip-ping", action="store_true")
    p.add_argument("--skip-fping", action="store_true")
    p.add_argument("--name", default="collector", help="results file name under bench/out/results/")
    return p.parse_args(argv)


def responder_summary(stats: list) -> dict:
    """Totals over every lab's responder, and how late its worst reply went out (it adds to measured RTTs)."""
    stats = [x for x in stats if x]
    return {"requests": sum(x["requests"] for x in stats), "replies": sum(x["replies"] for x in stats),
            "dropped": sum(x["dropped"] for x in stats),
            "max_late_ms": max((x["max_late_ms"] for x in stats), default=float("nan"))}


def first_hosts(profiles: dict, n: int) -> dict:
    """The first n hosts' profiles."""
    return dict(list(profiles.items())[:n])


def run(args: argparse.Namespace) -> dict:
    """Every backend and size, each run in its own lab."""
    fping_sizes = [] if args.skip_fping else args.fping_sizes
    ping_sizes = [] if args.skip_ping else args.ping_sizes
    profiles = host_profiles(max(fping_sizes + ping_sizes, default=0))
    results, responders = [], []
    for n in fping_sizes:
        repeats = args.repeats if n <= 1000 else args.repeats_large
        results.append(bench_fping(first_hosts(profiles, n), repeats, responders))
    for concurrency in args.ping_concurrency:
        for n in ping_sizes:
            results.append(bench_ping(first_hosts(profiles, n), args.repeats if n <= 1000 else args.repeats_large,
                                      concurrency, responders))
    return {"results": results, "responder": responder_summary(responders), "figures": figures(results)}


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, save results, print the tables."""
    args = parse_args(argv)
    ok, why = netlab_available()
    if not ok:
        print(f"collector benchmark skipped: {why}")
        save_results(args.name, {"skipped": why, "figures": []})
        return 0
    t0 = time.perf_counter()
    data = run(args)
    data["seconds"] = time.perf_counter() - t0
    save_results(args.name, data)
    print(markdown_table(HEADERS, result_rows(data["results"])))
    print(f"\nresponder: {data['responder']}\n")
    print(figures_table(data["figures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
