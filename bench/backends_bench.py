"""Issue 13's benchmark table: every figure on SQLite and on PostgreSQL, side by side.

    python -m bench.backends_bench [--run] [--sqlite-database PATH] [--database-url URL] [--quick]

Without --run it reads the saved results of the benchmarks it puts together (bench/out/results/):
  query13.json / query13-postgresql.json     bench/query_bench.py --backend ... --skip-pages --uncached
                                             --name query13 (every timed request misses the response cache)
  concurrency-sqlite.json / -postgresql.json bench/concurrency_bench.py --backend ... (waitress 8 threads on
                                             SQLite, gunicorn -w 4 on PostgreSQL)
  vantage-sqlite.json / vantage.json         bench/vantage_bench.py --backend ...
  spool.json                                 bench/spool_bench.py (PostgreSQL stopped 120 s)
With --run it runs each of them first, one after the other (about 25 minutes with the histories in place).
Each figure carries the 1-minute load average it was taken at: the machine is shared, and a figure taken
under a load above its core count says more about the neighbours than about the code.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import RESULTS, markdown_table, run_python  # noqa: E402

QUERY_NAME = "query13"
# The scale issue's read targets (p95), checked on both backends.
QUERY_ROWS = [("all", "30d", "ping-data 30 d, all servers"), ("all", "24h", "ping-data 24 h, all servers"),
              ("server", "30d", "ping-data 30 d, one server"), ("status", "", "servers/status")]
THROUGHPUT_ROUTES = ("/api/servers/status", "/api/ping-data?range=24h")


def load(name: str) -> dict | None:
    """A saved result, or None when that benchmark has not been run."""
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _status(ok: bool | None) -> str:
    """met / MISSED / blank."""
    return "" if ok is None else "met" if ok else "MISSED"


def _cell(value: float | None, fmt: str, ok: bool | None, load: float | None) -> str:
    """'123 ms (met, load 1.9)'."""
    if value is None or value != value:
        return "not run"
    extra = ", ".join(x for x in (_status(ok), f"load {load:.1f}" if load is not None else "") if x)
    return fmt.format(value) + (f" ({extra})" if extra else "")


def query_rows(sqlite: dict | None, pg: dict | None) -> list[list[str]]:
    """Per targeted query: p95 on each backend against the target."""
    from bench.query_bench import TARGET_P95_MS
    rows = []
    for scope, rng, label in QUERY_ROWS:
        limit = TARGET_P95_MS[(scope, rng)]
        cells = []
        for data in (sqlite, pg):
            r = next((r for r in (data or {}).get("routes", []) if r["scope"] == scope and r["range"] == rng), None)
            p95 = r.get("p95_ms") if r and r.get("status") == 200 else None
            load = (data or {}).get("load_avg_1min", {}).get("after")
            cells.append(_cell(p95, "{:,.0f} ms", None if p95 is None else p95 <= limit, load))
        rows.append([f"query p95: {label}", *cells, f"≤ {limit} ms"])
    for data, name in ((sqlite, "SQLite"), (pg, "PostgreSQL")):
        if data:
            rows.append([f"history ({name})", "", "", f"{data['database_bytes'] / 1e9:.2f} GB, "
                         f"{data['generation'].get('rows', 0):,} rows added to reach now"])
    return rows


def throughput_rows(sqlite: dict | None, pg: dict | None) -> list[list[str]]:
    """req/s and p99 with 50 connections (plain requests) per route, each backend as it is served."""
    from bench.concurrency_bench import TARGETS
    rows = []
    for route in THROUGHPUT_ROUTES:
        rps_min, p99_max = TARGETS[route]
        picked = [next((r for r in (d or {}).get("rows", []) if r["route"] == route and r["kind"] == "plain"), None)
                  for d in (sqlite, pg)]
        rows.append([f"`{route}` req/s", *(_cell(r and r["rps"], "{:,.0f}", r and r["rps"] >= rps_min and
                                                  not r["errors"], r and r.get("load_avg_1min")) for r in picked),
                     f"≥ {rps_min} (issue 12)"])
        rows.append([f"`{route}` p99", *(_cell(r and r["p99_ms"], "{:,.0f} ms", r and r["p99_ms"] <= p99_max,
                                               r and r.get("load_avg_1min")) for r in picked),
                     f"≤ {p99_max} ms (issue 12)"])
    return rows


def vantage_rows(sqlite: dict | None, pg: dict | None) -> list[list[str]]:
    """3 collectors x 1,000 servers every 10 s with 50 readers: failures, lost/doubled rows, commit p95."""
    rows = []
    spec = [("failed API responses", lambda r: r["failed_responses"], "{:,.0f}", 0),
            ("rows lost or doubled", lambda r: r["row_mismatch"], "{:,.0f}", 0),
            ("round commit p95", lambda r: r["commit"]["p95_ms"], "{:,.0f} ms", 100),
            ("round commit p50", lambda r: r["commit"]["p50_ms"], "{:,.0f} ms", None),
            ("API responses in 60 s", lambda r: r["responses"], "{:,.0f}", None)]
    for label, get, fmt, limit in spec:
        cells = []
        for data in (sqlite, pg):
            r = (data or {}).get("result")
            value = get(r) if r else None
            cells.append(_cell(value, fmt, None if value is None or limit is None else value <= limit,
                               r.get("load_avg_1min") if r else None))
        rows.append([f"3 collectors x 1,000 servers, 50 readers: {label}", *cells,
                     "" if limit is None else f"≤ {limit:,}" + (" ms" if "ms" in fmt else "")])
    return rows


def spool_rows(spool: dict | None) -> list[list[str]]:
    """PostgreSQL stopped 2 minutes at a 5 s cadence (PostgreSQL only: the spool's subject)."""
    r = (spool or {}).get("result")
    if not r:
        return [["spool (PostgreSQL stopped 120 s)", "n/a", "not run", ""]]
    load = r.get("load_avg_1min")
    ok = not r["rounds_lost"] and not r["doubled"] and r["in_order"] and r["rows"] == r["rows_expected"]
    return [["spool: rounds of the outage waiting / lost / doubled / in order", "n/a",
             _cell(r["rounds_waiting_at_restart"], "{:,.0f} waiting", ok, load).replace(
                 " waiting", f" waiting, {r['rounds_lost']} lost, {r['doubled']} doubled, "
                             f"{'in order' if r['in_order'] else 'OUT OF ORDER'}"), "none lost/doubled, in order"],
            ["spool: catch-up after restart", "n/a", _cell(r["catch_up_seconds"], "{:.1f} s", None, load), "reported"]]


def table() -> str:
    """The side-by-side markdown table from the saved results."""
    rows = query_rows(load(QUERY_NAME), load(f"{QUERY_NAME}-postgresql"))
    rows += throughput_rows(load("concurrency-sqlite"), load("concurrency-postgresql"))
    rows += vantage_rows(load("vantage-sqlite"), load("vantage"))
    rows += spool_rows(load("spool"))
    return markdown_table(["figure", "SQLite", "PostgreSQL", "target"], rows)


def run_all(sqlite_database: Path | None, url: str | None, quick: bool) -> None:
    """Run every benchmark of the table, one after the other."""
    where = [*(["--sqlite-database", str(sqlite_database)] if sqlite_database else [])]
    pg = [*(["--database-url", url] if url else [])]
    runs = "5" if quick else "20"
    for backend, extra in (("sqlite", where), ("postgresql", pg)):
        run_python(["bench/query_bench.py", "--backend", backend, "--skip-pages", "--skip-callbacks", "--uncached",
                    "--runs", runs, "--name", QUERY_NAME, *extra])
        run_python(["bench/concurrency_bench.py", "--backend", backend, "--routes", *THROUGHPUT_ROUTES,
                    "--seconds", "10" if quick else "15", *extra])
        run_python(["-m", "bench.vantage_bench", "--backend", backend, "--seconds", "20" if quick else "60"])
    run_python(["-m", "bench.spool_bench", "--outage-seconds", "30" if quick else "120"])


def main(argv: list[str] | None = None) -> int:
    """Entry point: optionally run everything, then print the table."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", action="store_true", help="run every benchmark first (else read saved results)")
    p.add_argument("--sqlite-database", type=Path)
    p.add_argument("--database-url")
    p.add_argument("--quick", action="store_true", help="with --run: fewer runs, shorter windows (a smoke test)")
    a = p.parse_args(argv)
    if a.run:
        run_all(a.sqlite_database, a.database_url, a.quick)
    print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
