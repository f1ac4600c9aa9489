"""Many viewers at once (issue 12): N headless Chromium dashboards auto-refreshing, and what the app spends.

    python bench/viewers_bench.py [--servers 200] [--viewers 10] [--refresh-seconds 10] [--seconds 120]
                                  [--label run]

Serves a generated history (bench/out/history-<N>x2d-60s.db, made or extended to now by bench/generate.py)
with `python app.py --no-collector`, opens the overview in N separate headless Chromium browsers (one window
each, so none is a throttled background tab) with the auto-refresh set to --refresh-seconds, and writes a new
round of every server each 60 s while they run, as the collector would (in this process, so its CPU is not the
app's). Over the measuring window it reads the app process's CPU time from /proc (user + system, all threads)
and reports it as a share of one core, with the callback requests the browsers made and how long they took.
Target: ≤ 50 % of one core for 10 viewers at 200 servers refreshing every 10 s.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.browser_bench import (INTERVAL_S, REFRESH_KEY, App, dataset, probe, round_writer, start_browser,
                                 wait_loaded)
from bench.common import Figure, figures_table, log, machine_info, percentiles_ms, save_results

TARGET_CPU_SHARE = 0.50
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far, all its threads (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def open_viewer(app: App, refresh_s: int, timeout_s: float):
    """One browser on the overview, refreshing every refresh_s, once its first load has drawn."""
    driver = start_browser(1600, 1200)
    driver.get(app.base + "/healthz")  # same origin, so the stored refresh period applies
    driver.execute_script("localStorage.setItem(arguments[0], arguments[1])", REFRESH_KEY,
                          json.dumps([str(refresh_s), "30"]))
    driver.get(app.base + "/")
    wait_loaded(driver, ("servers", "latency"), timeout_s)
    return driver


def requests_between(driver, start_ms: float) -> list[float]:
    """Seconds each callback request of this browser took, of those started after start_ms (page time)."""
    reqs = probe(driver).get("req", [])
    return [(r["end"] - r["start"]) / 1000 for r in reqs if r["start"] >= start_ms and "end" in r]


def measure(app: App, drivers: list, seconds: float, write) -> dict:
    """App CPU share, requests and their latency over `seconds`, a round written every INTERVAL_S."""
    starts = [d.execute_script("return performance.now()") for d in drivers]
    cpu0, t0, next_round, rounds = process_cpu_s(app.proc.pid), time.time(), time.time(), 0
    while time.time() - t0 < seconds:
        if time.time() >= next_round:
            write()
            rounds, next_round = rounds + 1, next_round + INTERVAL_S
        time.sleep(0.5)
    wall, cpu = time.time() - t0, process_cpu_s(app.proc.pid) - cpu0
    took = [s for d, start in zip(drivers, starts) for s in requests_between(d, start)]
    return {"wall_s": wall, "cpu_s": cpu, "cpu_share": cpu / wall, "rounds_written": rounds,
            "requests": len(took), "request_ms": percentiles_ms(took)}


def figures(result: dict) -> list[Figure]:
    """The figures next to the target."""
    area = f"{result['servers']} servers, {result['viewers']} viewers every {result['refresh_s']} s"
    m, lat = result["measured"], result["measured"]["request_ms"]
    return [Figure.check(area, f"app CPU over {m['wall_s']:.0f} s ({m['rounds_written']} rounds written)",
                         100 * m["cpu_share"], 100 * TARGET_CPU_SHARE, "{:.0f}", " % of a core"),
            Figure(area, "callback requests answered / p50 / p95",
                   f"{m['requests']} / {lat.get('p50_ms', float('nan')):.0f} ms / {lat.get('p95_ms', float('nan')):.0f} ms")]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", type=int, default=200, help="servers in the history (default: %(default)s)")
    p.add_argument("--viewers", type=int, default=10, help="browsers at once (default: %(default)s)")
    p.add_argument("--refresh-seconds", type=int, default=10, choices=(10, 30, 60, 300),
                   help="each dashboard's auto-refresh period (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=120, help="length of the measuring window")
    p.add_argument("--timeout", type=float, default=240, help="seconds to wait for each first load")
    p.add_argument("--label", default="run", help="names the results file")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Open the viewers, measure, print the figures next to the target and save them."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    db, cfg = dataset(args.servers, 2.0, fresh=True)
    write, writer = round_writer(db, args.servers)
    app, drivers = App(cfg), []
    try:
        for n in range(args.viewers):
            drivers.append(open_viewer(app, args.refresh_seconds, args.timeout))
            log(f"viewers: {n + 1} open")
        time.sleep(args.refresh_seconds)  # past every first load's own requests
        measured = measure(app, drivers, args.seconds, write)
    finally:
        for d in drivers:
            d.quit()
        app.stop()
        writer.engine.dispose()
    result = {"servers": args.servers, "viewers": args.viewers, "refresh_s": args.refresh_seconds,
              "measured": measured}
    table = figures_table(figures(result))
    print(table)
    save_results(f"viewers-{args.label}", {"args": vars(args), "result": result, "table": table})
    print(f"\nmachine: {json.dumps(machine_info())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
