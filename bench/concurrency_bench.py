"""Many clients at once (issue 12): wrk with 50 connections against the read routes, and the app's CPU.

    python bench/concurrency_bench.py [--servers 200 --days 30] [--connections 50] [--seconds 15]
        [--backend sqlite|postgresql] [--sqlite-database PATH] [--database-url URL] [--routes ROUTE ...]

Serves the generated history (bench/query_bench.py makes it once) with bench/serve.py, waitress with 8
threads as `python app.py` runs, and runs `wrk --latency` per route: plain requests (every client asks for
the whole body) and revalidating ones (each client sends the ETag it has, as a browser or a polling
integration does). Prints requests per second, p50 and p99 next to the targets.

--backend postgresql serves the PostgreSQL copy of the history (bench/query_bench.py's ensure_history) as the
README's "Several vantage points" runs the web app there: `gunicorn -w 4 'app:create_app()'` with
LATENCY_MONITOR_CONFIG (no collector in any worker); the CPU figure sums the master and its workers.
Results go to bench/out/results/concurrency-<backend>.json for bench/backends_bench.py.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import time
import urllib.error
import urllib.request
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, log, save_results  # noqa: E402
from bench.query_bench import BACKENDS, AppProcess, ensure_history  # noqa: E402

GUNICORN_WORKERS = 4

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
    """User + system CPU seconds of a process and its live children (gunicorn's workers) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / 100  # clock ticks, 100 per second on Linux
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(k) for k in children.read_text().split()] if children.exists() else []
    return own + sum(cpu_seconds(k) for k in kids if Path(f"/proc/{k}").exists())


def _free_port() -> int:
    """A TCP port on loopback nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GunicornProcess(AppProcess):
    """`gunicorn -w 4 'app:create_app()'` with LATENCY_MONITOR_CONFIG, as the README runs the web app on
    PostgreSQL; the same HTTP helpers as AppProcess (pid is the master's)."""

    def __init__(self, config: Path, workers: int = GUNICORN_WORKERS, timeout_s: float = 180):
        port = _free_port()
        env = {**os.environ, "LATENCY_MONITOR_CONFIG": str(config)}
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
                                      "--timeout", "120", "app:create_app()"], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid, self.base = self.proc.pid, f"http://127.0.0.1:{port}"
        self._wait_ready(workers, timeout_s)

    def _wait_ready(self, workers: int, timeout_s: float) -> None:
        """Until the route answers and every worker is up (each builds the app on its own)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}")
            kids = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=10).close()
                answered = True
            except urllib.error.HTTPError:  # 503 without a collector in this process: still serving
                answered = True
            except OSError:
                answered = False
            if answered and len(kids) >= workers:
                return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("gunicorn did not start in time")


def serve(backend: str, config: Path) -> AppProcess:
    """The app as it is served on the backend: waitress 8 threads on SQLite, gunicorn 4 workers on PostgreSQL."""
    return GunicornProcess(config) if backend == "postgresql" else AppProcess(config)


def run(servers: int, days: float, connections: int, seconds: int, backend: str = "sqlite",
        sqlite_database: Path | None = None, url: str | None = None, routes=tuple(TARGETS)) -> list[dict]:
    """Every route, plain and revalidating, against the backend's app server."""
    history = ensure_history(backend, servers, days, 60, sqlite_database=sqlite_database, url=url)
    app = serve(backend, history.config)
    rows = []
    try:
        for route in routes:
            for _ in range(GUNICORN_WORKERS):  # warms each worker's cache, as the first viewers after a round do
                status, headers, _ = app.get(route)
            etag = headers.get("ETag", "")
            for kind, script in (("plain", PLAIN), ("If-None-Match", WITH_ETAG % etag.replace('"', '\\"'))):
                before, load = cpu_seconds(app.pid), os.getloadavg()[0]
                figures = wrk(app.base + route, connections, seconds, script)
                figures["cpu_pct"] = 100 * (cpu_seconds(app.pid) - before) / seconds
                rows.append(dict(route=route, kind=kind, status=status, backend=backend, load_avg_1min=load,
                                 **figures))
                log(f"concurrency: {backend} {route} {kind}: {figures}")
    finally:
        app.stop()
    return rows


def report(rows: list[dict], connections: int) -> str:
    """A markdown table of the figures next to the targets and the figures before caching."""
    lines = [f"| route ({connections} connections) | backend | requests | req/s | p50 ms | p99 ms | errors | "
             "app CPU % | load avg | target | before (req/s, p50, p99) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        rps_min, p99_max = TARGETS[r["route"]]
        met = r["rps"] >= rps_min and (p99_max is None or r["p99_ms"] <= p99_max) and not r["errors"]
        target = f">= {rps_min} req/s" + (f", p99 <= {p99_max} ms" if p99_max else "") + (" ✓" if met else " ✗")
        before = "/".join("-" if v is None else str(v) for v in BEFORE[r["route"]]) if r["kind"] == "plain" else ""
        lines.append(f"| `{r['route']}` | {r.get('backend', 'sqlite')} | {r['kind']} | {r['rps']:.0f} | "
                     f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors']} | {r['cpu_pct']:.0f} | "
                     f"{r.get('load_avg_1min', float('nan')):.1f} | {target} | {before} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run and print the table."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", type=int, default=200)
    p.add_argument("--days", type=float, default=30)
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--backend", choices=BACKENDS, default="sqlite")
    p.add_argument("--sqlite-database", type=Path, help="the SQLite history (default bench/out/history-...db)")
    p.add_argument("--database-url", help="the PostgreSQL history (default: bench/pgserver.py's lm_history_...)")
    p.add_argument("--routes", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    a = p.parse_args(argv)
    if not shutil.which("wrk"):
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 1
    rows = run(a.servers, a.days, a.connections, a.seconds, a.backend, a.sqlite_database, a.database_url, a.routes)
    save_results(f"concurrency-{a.backend}", {"rows": rows, "connections": a.connections, "seconds": a.seconds})
    print(report(rows, a.connections))
    return 0


if __name__ == "__main__":
    sys.exit(main())
