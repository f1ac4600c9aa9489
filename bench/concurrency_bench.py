"""Many clients at once (issue 12): wrk with 50 connections against the read routes, and the app's CPU.

    python bench/concurrency_bench.py [--servers 200 --days 30] [--connections 50] [--seconds 15]

Serves the generated history (bench/query_bench.py makes it once) with bench/serve.py, waitress with 8
threads as `python app.py` runs, and runs `wrk --latency` per route: plain requests (every client asks for
the whole body) and revalidating ones (each client sends the ETag it has, as a browser or a polling
integration does). Prints requests per second, p50 and p99 next to the targets.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import log  # noqa: E402
from bench.query_bench import AppProcess, ensure_dataset  # noqa: E402

# route: (minimum req/s, maximum p99 ms) from issue 12
TARGETS = {"/api/servers/status": (500, 250), "/api/ping-data?range=24h": (500, 250),
           "/api/ping-data?range=30d": (200, None)}
# Measured on 2026-12-02 before responses were cached (issue 12's table): req/s, p50 ms, p99 ms.
BEFORE = {"/api/servers/status": (23, 2100, None), "/api/ping-data?range=24h": (12, 3700, None),
          "/api/ping-data?range=30d": (4, 8300, 12600)}
WITH_ETAG = """
wrk.headers["Accept-Encoding"] = "br, gzip"
wrk.headers["If-None-Match"] = "%s"
"""
PLAIN = 'wrk.headers["Accept-Encoding"] = "br, gzip"\n'


def wrk(url: str, connections: int, seconds: int, script: str) -> dict:
    """One wrk run: requests per second, p50/p99 latency in ms, and non-2xx/3xx responses."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", f.name, url],
                         capture_output=True, text=True, check=True).stdout
    Path(f.name).unlink()
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _latency(out, "50%"), "p99_ms": _latency(out, "99%"),
            "errors": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0}


def _latency(out: str, which: str) -> float:
    """A latency percentile from wrk's --latency table, in ms."""
    value, unit = re.search(rf"{re.escape(which)}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # clock ticks, 100 per second on Linux


def run(servers: int, days: float, connections: int, seconds: int) -> list[dict]:
    """Every route, plain and revalidating, against one app process."""
    _, config, _ = ensure_dataset(servers, days, 60)
    app = AppProcess(config)
    rows = []
    try:
        for route in TARGETS:
            status, headers, _ = app.get(route)  # warms the cache, as the first viewer after a round does
            etag = headers.get("ETag", "")
            for kind, script in (("plain", PLAIN), ("If-None-Match", WITH_ETAG % etag.replace('"', '\\"'))):
                before = cpu_seconds(app.pid)
                figures = wrk(app.base + route, connections, seconds, script)
                figures["cpu_pct"] = 100 * (cpu_seconds(app.pid) - before) / seconds
                rows.append(dict(route=route, kind=kind, status=status, **figures))
                log(f"concurrency: {route} {kind}: {figures}")
    finally:
        app.stop()
    return rows


def report(rows: list[dict], connections: int) -> str:
    """A markdown table of the figures next to the targets and the figures before caching."""
    lines = [f"| route ({connections} connections) | requests | req/s | p50 ms | p99 ms | errors | app CPU % | "
             "target | before (req/s, p50, p99) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rps_min, p99_max = TARGETS[r["route"]]
        met = r["rps"] >= rps_min and (p99_max is None or r["p99_ms"] <= p99_max) and not r["errors"]
        target = f">= {rps_min} req/s" + (f", p99 <= {p99_max} ms" if p99_max else "") + (" ✓" if met else " ✗")
        before = "/".join("-" if v is None else str(v) for v in BEFORE[r["route"]]) if r["kind"] == "plain" else ""
        lines.append(f"| `{r['route']}` | {r['kind']} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                     f"{r['errors']} | {r['cpu_pct']:.0f} | {target} | {before} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run and print the table."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", type=int, default=200)
    p.add_argument("--days", type=float, default=30)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--seconds", type=int, default=15)
    a = p.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 1
    print(report(run(a.servers, a.days, a.connections, a.seconds), a.connections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
