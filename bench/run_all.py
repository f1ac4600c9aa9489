"""Run every benchmark and print one table of figures against the targets of issue 6.

    python bench/run_all.py            # full: 200 servers x 30 days, collector 200/1,000(/5,000) hosts
    python bench/run_all.py --quick    # small: 50 servers x 2 days, collector 50/200 hosts (~3 minutes)

Each part runs as its own process (as it would alone) and leaves its results in bench/out/results/;
this script reads them back, prints the combined table and writes it to bench/out/results/summary[-quick].md.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS, Figure, figures_table, log, machine_info, markdown_table, out_dir, run_python

FULL = {
    "query": ["bench/query_bench.py", "--servers", "200", "--days", "30", "--interval-seconds", "60"],
    "collector": ["bench/collector_bench.py"],
    "write": ["bench/write_bench.py"],
}
QUICK = {
    "query": ["bench/query_bench.py", "--servers", "50", "--days", "2", "--interval-seconds", "60", "--runs", "5",
              "--budget-seconds", "3"],
    "collector": ["bench/collector_bench.py", "--fping-sizes", "50,200", "--ping-sizes", "50,200", "--repeats", "1"],
    "write": ["bench/write_bench.py", "--rounds", "20", "--prefill-rounds", "30"],
}
GENERATION_TARGET_S = 60 * 60  # "minutes, not hours" for 200 x 30 d x 60 s


def generation_figures(query: dict) -> list[Figure]:
    """Data generation speed, from the first (full) generation of the query database and its extensions."""
    meta_file = Path(f"{query['database']}.meta.json")
    if not meta_file.exists():
        return []
    meta = json.loads(meta_file.read_text())
    first = next((r for r in meta["runs"] if not r["extend"]), None)
    out = []
    if first:
        label = f"generate {meta['servers']} servers x {meta['days']:g} d x {meta['interval_seconds']:g} s " \
                f"({first['rows']:,} rows, {first['workers']} workers)"
        out.append(Figure.check("generate", label, first["seconds"] / 60, GENERATION_TARGET_S / 60, "{:.1f}",
                                " min", target="minutes, not hours (< 60 min)"))
        out.append(Figure("generate", "rows/s; per row: measure() / row building / write_rounds",
                          f"{first['rows_per_s']:,.0f}; {first['measure_us_per_row']:.0f} / "
                          f"{first['rows_us_per_row']:.0f} / {first['write_round_us_per_row']:.0f} µs"))
    return out


def load(name: str) -> dict:
    """A part's saved results ({} when it did not produce any)."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def run_parts(parts: dict, prefix: str, only: list[str]) -> dict[str, float]:
    """Run each selected part as a child process; seconds per part."""
    seconds = {}
    for name, argv in parts.items():
        if only and name not in only:
            continue
        log(f"run_all: {name} ...")
        t0 = time.perf_counter()
        code = run_python([*argv, "--name", f"{prefix}{name}"])
        seconds[name] = time.perf_counter() - t0
        log(f"run_all: {name} finished in {seconds[name]:.0f} s (exit {code})")
    return seconds


def remember_times(prefix: str, seconds: dict[str, float]) -> dict[str, float]:
    """Merge this run's seconds per part into the saved ones (so --only and --report-only keep the others)."""
    path = out_dir("results") / f"{prefix}times.json"
    merged = {**(json.loads(path.read_text()) if path.exists() else {}), **seconds}
    merged.pop("total", None)
    path.write_text(json.dumps(merged, indent=1))
    return {**merged, "total": sum(merged.values())}


def report(prefix: str, seconds: dict[str, float]) -> str:
    """The combined markdown report: machine, durations, figures vs targets."""
    query, collector, write = load(f"{prefix}query"), load(f"{prefix}collector"), load(f"{prefix}write")
    figs = (generation_figures(query) if query else []) + [Figure(**f) for part in (collector, query, write)
                                                           for f in part.get("figures", [])]
    info = machine_info()
    runs = [[name, m.get("date", ""), m.get("code", ""), m.get("load avg 1/5/15 min", "")]
            for name, part in (("query", query), ("collector", collector), ("write", write))
            if (m := part.get("machine"))]
    lines = ["## Machine", "", markdown_table(list(info), [list(info.values())]), "",
             "## Runs", "", markdown_table(["part", "finished", "code", "load avg 1/5/15 min"], runs), "",
             "## Time per part (latest run of each)", "",
             markdown_table(["part", "seconds"], [[k, f"{v:.0f}"] for k, v in seconds.items()]),
             "", "## Figures vs targets", "", figures_table(figs)]
    if collector.get("skipped"):
        lines += ["", f"Collector benchmark skipped: {collector['skipped']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, a few minutes")
    p.add_argument("--only", default="", help="comma-separated parts to run (query, collector, write)")
    p.add_argument("--report-only", action="store_true", help="print the table from the saved results")
    a = p.parse_args(argv)
    prefix = "quick-" if a.quick else ""
    only = [x for x in a.only.split(",") if x]
    seconds = {} if a.report_only else run_parts(QUICK if a.quick else FULL, prefix, only)
    seconds = remember_times(prefix, seconds)
    text = report(prefix, seconds)
    (out_dir("results") / f"summary{'-quick' if a.quick else ''}.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
