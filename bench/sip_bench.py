"""One SIP OPTIONS round over 1,000 SIP servers (issue 14): wall time, CPU, and accuracy against the pause.

    python bench/sip_bench.py [--servers 1000] [--sipp 4] [--pause-ms 80] [--count 4] [--timeout 5]
                              [--concurrency 256,1000] [--repeats 3]

Needs root, network namespaces (tests/netlab.py) and sipp. The netlab's namespace accepts every address
of 10.78.0.0/16 (AnyIP); ``--sipp`` SIPp UAS processes listen there on every address, on ports 5060,
5061, ..., so server i is 10.78.x.y:(5060 + i mod N), 1,000 distinct SIP servers answered by a few
processes. They reply 200 after ``--pause-ms`` and stamp in the Server header how long they held the
request (by SIPp's own clock). Every packet stays inside the machine.

Figures per concurrency: wall time of the round, CPU of this process (the probe) and of the SIPp
processes, loss and non-up servers (both should be 0), and the response-time error
* against the scenario's pause (median signed, p95 absolute): what a user sees; it includes SIPp's own
  lateness, because SIPp's <pause> fires late (measured separately below, pause 0);
* against the time SIPp says it held the request: the probe's own error (plus the 1-2 ms SIPp takes to
  read a datagram before its recv action runs).
A calibration round with a 0 ms pause shows SIPp's own overhead at this load.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Figure, cpu_since, cpu_snapshot, figures_table, log, machine_info, markdown_table, save_results
from collector.probes.sip import SipProbe, SipRoundResult, SipTarget
from tests.netlab import NetLab, netlab_available
from tests.sipp import SippUas, sipp_available, uas_scenario

BASE_PORT = 5060
# ping_count and ping_timeout defaults of the config: what a round does out of the box.
DEFAULT_COUNT, DEFAULT_TIMEOUT_S = 4, 5.0
_HELD = re.compile(r"held_us=([\d.]+)")


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def targets(servers: int, sipps: int) -> list[SipTarget]:
    """servers distinct addresses of the lab, spread over the SIPp ports."""
    return [SipTarget(f"sip-{i}", NetLab.address(i), BASE_PORT + i % sipps) for i in range(servers)]


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of values; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def accuracy(results: dict[str, SipRoundResult], pause_ms: float) -> dict[str, float]:
    """Errors of every answered request against the pause and against SIPp's held time; loss; non-up servers."""
    vs_pause, vs_held, sent, answered = [], [], 0, 0
    for result in results.values():
        sent += result.sent
        answered += result.answered
        for request in result.requests:
            if request.response_ms is None:
                continue
            vs_pause.append(request.response_ms - pause_ms)
            held = _HELD.search(request.server_header or "")
            if held:
                vs_held.append(request.response_ms - float(held.group(1)) / 1000)
    return {
        "median_error_vs_pause_ms": statistics.median(vs_pause) if vs_pause else float("nan"),
        "p95_abs_error_vs_pause_ms": percentile([abs(e) for e in vs_pause], 95),
        "median_error_vs_held_ms": statistics.median(vs_held) if vs_held else float("nan"),
        "p95_abs_error_vs_held_ms": percentile([abs(e) for e in vs_held], 95),
        "loss_pct": 100.0 * (sent - answered) / sent if sent else float("nan"),
        "not_up": sum(r.status != "up" for r in results.values()),
    }


def one_round(probe: SipProbe, round_targets: list[SipTarget], sipps: list[SippUas], pause_ms: float) -> dict:
    """Run one round and measure it."""
    sipp_before = sum(proc_cpu_s(s.proc.pid) for s in sipps)
    before, started = cpu_snapshot(), time.perf_counter()
    results = probe.run(round_targets)
    wall_s = time.perf_counter() - started
    cpu = cpu_since(before)
    sipp_cpu_s = sum(proc_cpu_s(s.proc.pid) for s in sipps) - sipp_before
    return {"wall_s": wall_s, "probe_cpu_s": cpu["own_cpu_s"], "sipp_cpu_s": sipp_cpu_s,
            **accuracy(results, pause_ms)}


def run_with_uas(lab: NetLab, args: argparse.Namespace, pause_ms: int, concurrencies: list[int],
                 repeats: int) -> list[dict]:
    """Start the SIPp UAS set in the lab with one pause, run the rounds, stop them."""
    workdir = Path(tempfile.mkdtemp(prefix="sip-bench-"))
    scenario = uas_scenario(pause_ms=pause_ms, stamp_hold=True)
    sipps: list[SippUas] = []
    try:
        for i in range(args.sipp):
            uas = SippUas(scenario, port=BASE_PORT + i, host=lab.ns_ip, netns=lab.namespace, workdir=workdir / str(i),
                          extra_args=["-buff_size", "4194304", "-max_recv_loops", "10000"])
            (workdir / str(i)).mkdir(parents=True)
            sipps.append(uas.start())
        round_targets = targets(args.servers, args.sipp)
        # Warm-up: the first round also pays for SIPp's first calls and the lab's ARP/neighbour entries.
        SipProbe(1, args.timeout, concurrency=max(concurrencies)).run(round_targets)
        rows = []
        for concurrency in concurrencies:
            probe = SipProbe(args.count, args.timeout, concurrency=concurrency)
            runs = [one_round(probe, round_targets, sipps, pause_ms) for _ in range(repeats)]
            best = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]  # the median run by wall time
            rows.append({"pause_ms": pause_ms, "concurrency": concurrency, "runs": runs, **best})
            log(f"pause {pause_ms} ms, concurrency {concurrency}: wall {best['wall_s']:.2f} s, "
                f"probe CPU {best['probe_cpu_s']:.2f} s, SIPp CPU {best['sipp_cpu_s']:.2f} s, "
                f"error vs pause median {best['median_error_vs_pause_ms']:+.2f} ms "
                f"p95 {best['p95_abs_error_vs_pause_ms']:.2f} ms, vs held median {best['median_error_vs_held_ms']:+.2f}"
                f" p95 {best['p95_abs_error_vs_held_ms']:.2f} ms, loss {best['loss_pct']:.3f} %, "
                f"not up {best['not_up']}")
        return rows
    finally:
        for uas in sipps:
            uas.stop()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--sipp", type=int, default=4, help="SIPp UAS processes sharing the servers")
    parser.add_argument("--pause-ms", type=int, default=80)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--concurrency", default="256,1000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-calibration", action="store_true", help="skip the 0 ms pause round")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ok, why = netlab_available()
    if not ok or not sipp_available():
        print(f"cannot run: {why if not ok else 'sipp is not installed'}", file=sys.stderr)
        return 2
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    started = time.perf_counter()
    with NetLab({}) as lab:
        rows = run_with_uas(lab, args, args.pause_ms, concurrencies, args.repeats)
        if not args.skip_calibration:
            rows += run_with_uas(lab, args, 0, [max(concurrencies)], 1)
    headers = ["pause ms", "concurrency", "wall s", "probe CPU s", "SIPp CPU s", "err vs pause median ms",
               "err vs pause p95 ms", "err vs held median ms", "err vs held p95 ms", "loss %", "not up"]
    table = markdown_table(headers, [[r["pause_ms"], r["concurrency"], f"{r['wall_s']:.2f}", f"{r['probe_cpu_s']:.2f}",
                                      f"{r['sipp_cpu_s']:.2f}", f"{r['median_error_vs_pause_ms']:+.2f}",
                                      f"{r['p95_abs_error_vs_pause_ms']:.2f}", f"{r['median_error_vs_held_ms']:+.2f}",
                                      f"{r['p95_abs_error_vs_held_ms']:.2f}", f"{r['loss_pct']:.3f}", r["not_up"]]
                                     for r in rows])
    main_rows = [r for r in rows if r["pause_ms"] == args.pause_ms]
    figures = [Figure.check("sip", f"{args.servers} SIP servers x {args.count} OPTIONS, concurrency "
                            f"{r['concurrency']}: wall", r["wall_s"], args.timeout, unit=" s",
                            target=f"one round < ping_timeout ({args.timeout:g} s)") for r in main_rows]
    figures += [Figure.check("sip", f"concurrency {r['concurrency']}: false loss", r["loss_pct"], 0.0,
                             fmt="{:.3f}", unit=" %") for r in main_rows]
    print(f"\n{args.servers} SIP servers over {args.sipp} SIPp UAS, {args.count} OPTIONS each, pause "
          f"{args.pause_ms} ms, timeout {args.timeout:g} s\n")
    print(table)
    print()
    print(figures_table(figures))
    path = save_results("sip_bench", {"args": vars(args), "machine": machine_info(), "rows": rows,
                                      "figures": figures, "total_s": time.perf_counter() - started})
    log(f"results in {path}; total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
