"""Read-side benchmark over a generated history: the REST routes, the dashboard's callbacks and a full page load.

    python bench/query_bench.py [--servers 200 --days 30 --interval-seconds 60] [--runs 20] [--budget-seconds 60]
        [--backend sqlite|postgresql] [--sqlite-database PATH] [--database-url URL] [--skip-pages]

Generates bench/out/history-<servers>x<days>d-<interval>s.db once (bench/generate.py) and reuses it,
first appending the rounds missing up to now so the app's relative ranges (1h ... 30d) are full.
The app (create_app(config, start_collector=False)) is served by waitress in a child process
(bench/serve.py); the routes are timed over HTTP on loopback, next to "the straightforward query" (a plain
GROUP BY with strftime bucketing over raw ping_results, through SQLAlchemy) for the same window. Callbacks
are timed in this process by calling their undecorated functions inside a test request context with the
arguments a browser's first load sends (bench/dashload.py replays that load against the child process,
which also gives response sizes and points per trace). Resident memory is the child's VmRSS/VmHWM.

--backend postgresql runs the same on the same history (same seed, same writer) in a PostgreSQL database:
--database-url, by default database lm_history_<servers>x<days>d on bench/pgserver.py's server (started when
down); its config is bench/out/pg-history-<servers>x<days>d-<interval>s.json. The straightforward queries are
written for each dialect. Results go to bench/out/results/<name>-<backend>.json, which bench/backends_bench.py
puts side by side.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataclasses import dataclass

from sqlalchemy import DateTime, bindparam, text

from bench import dashload, generate
from bench.common import (ROOT, Figure, figures_table, gzip_size, log, markdown_table, out_dir, percentiles_ms,
                          proc_memory_mb, repeat, save_results)
from storage.engine import make_engine
from common.timeutil import utcnow

RANGES = ("1h", "24h", "7d", "30d")
TARGET_P95_MS = {("all", "30d"): 300, ("all", "24h"): 150, ("server", "30d"): 50, ("status", ""): 50}
MIN_SPEEDUP = 10.0
MAX_POINTS = 2000
MAX_PAGE_GZIP = 1_000_000
MAX_RSS_MB = 400

STRAIGHT_SERIES = """
SELECT {key} AS key, (CAST(strftime('%s', timestamp) AS INTEGER) / :bucket) * :bucket AS bucket,
       avg(avg_time), min(min_time), max(max_time),
       100.0 * sum(packets_lost) / nullif(sum(packets_transmitted), 0), avg(jitter_time), avg(mos), count(*)
FROM ping_results WHERE timestamp >= :start AND timestamp < :end {where}
GROUP BY key, bucket ORDER BY key, bucket
"""
STRAIGHT_STATUS = """
SELECT server_id, max(timestamp), avg_time, min_time, max_time, loss_percentage, jitter_time, latency_class,
       success, error, concerns, mos, r_factor, probe, collector
FROM ping_results GROUP BY server_id
"""
# The same two queries in PostgreSQL's dialect: epoch bucketing with extract(), newest row per server with
# DISTINCT ON (PostgreSQL has no bare-column rule for max()).
STRAIGHT_SERIES_PG = """
SELECT {key} AS key, (CAST(extract(epoch FROM timestamp) AS BIGINT) / :bucket) * :bucket AS bucket,
       avg(avg_time), min(min_time), max(max_time),
       100.0 * sum(packets_lost) / nullif(sum(packets_transmitted), 0), avg(jitter_time), avg(mos), count(*)
FROM ping_results WHERE timestamp >= :start AND timestamp < :end {where}
GROUP BY key, bucket ORDER BY key, bucket
"""
STRAIGHT_STATUS_PG = """
SELECT DISTINCT ON (server_id) server_id, timestamp, avg_time, min_time, max_time, loss_percentage, jitter_time,
       latency_class, success, error, concerns, mos, r_factor, probe, collector
FROM ping_results ORDER BY server_id, timestamp DESC
"""
BACKENDS = ("sqlite", "postgresql")


# ------------------------------------------------------------------------------------------- dataset

def dataset_paths(servers: int, days: float, interval_s: float) -> tuple[Path, Path]:
    """(database, config) of a generated history under bench/out."""
    stem = f"history-{servers}x{days:g}d-{interval_s:g}s"
    return out_dir() / f"{stem}.db", out_dir() / f"{stem}.json"


def ensure_dataset(servers: int, days: float, interval_s: float, seed: int = 1,
                   db: Path | None = None) -> tuple[Path, Path, dict]:
    """Generate the history if missing, else append the rounds up to now; (database, config, generation figures).

    db: another SQLite file than bench/out's (its config is the .json beside it)."""
    db, cfg = (Path(db), Path(db).with_suffix(".json")) if db else dataset_paths(servers, days, interval_s)
    extend = db.exists() and cfg.exists()
    log(f"query: {'extending' if extend else 'generating'} {db.name}")
    figures = generate.generate(db, servers, days, interval_s, seed, cfg, extend=extend)
    return db, cfg, figures


@dataclass
class History:
    """A generated history ready to be served: its backend, URL, the app's config for it and its size."""

    backend: str
    url: str
    config: Path
    size_bytes: int
    generation: dict


def default_pg_url(servers: int, days: float) -> str:
    """The history's database on bench/pgserver.py's server (started, and the database made, when missing)."""
    from bench.pgserver import BenchCluster
    return BenchCluster().start().ensure_database(f"lm_history_{servers}x{days:g}d")


def pg_size_bytes(url: str) -> int:
    """pg_database_size of the URL's database."""
    engine = make_engine(url, readonly=True)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    finally:
        engine.dispose()


def ensure_history(backend: str, servers: int, days: float, interval_s: float, seed: int = 1,
                   sqlite_database: Path | None = None, url: str | None = None) -> History:
    """The history on the backend, generated when missing and extended up to now otherwise."""
    if backend == "sqlite":
        db, cfg, gen = ensure_dataset(servers, days, interval_s, seed, sqlite_database)
        return History("sqlite", f"sqlite:///{db}", cfg, db.stat().st_size, gen)
    url = url or default_pg_url(servers, days)
    cfg = out_dir() / f"pg-history-{servers}x{days:g}d-{interval_s:g}s.json"
    log(f"query: extending (or generating) the PostgreSQL history {make_engine_name(url)}")
    # extend=True also generates from scratch when the database holds no round yet
    gen = generate.generate(None, servers, days, interval_s, seed, cfg, extend=True, url=url)
    return History("postgresql", url, cfg, pg_size_bytes(url), gen)


def make_engine_name(url: str) -> str:
    """The database name of a URL, for logs (no credentials)."""
    from sqlalchemy.engine import make_url
    return make_url(url).database or url


# ---------------------------------------------------------------------------------------- app process

class AppProcess:
    """The app served by bench/serve.py in a child process; HTTP helpers and its memory."""

    def __init__(self, config: Path):
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "serve.py"), "--config", str(config)],
                                     cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "READY":
            self.stop()
            raise RuntimeError(f"bench/serve.py did not start: {line}")
        self.pid, self.base = int(line[1]), f"http://127.0.0.1:{line[2]}"

    def get(self, path: str) -> tuple[int, dict, bytes]:
        """GET path: (status, headers, body)."""
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, body: dict) -> tuple[int, dict, bytes]:
        """POST a JSON body: (status, headers, body)."""
        return self._open(urllib.request.Request(self.base + path, data=json.dumps(body).encode(),
                                                 headers={"Content-Type": "application/json"}))

    @staticmethod
    def _open(request) -> tuple[int, dict, bytes]:
        """Perform a request; HTTP errors are returned, not raised."""
        try:
            with urllib.request.urlopen(request, timeout=600) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def memory(self) -> dict[str, float]:
        """The serving process's VmRSS and VmHWM in MB."""
        return proc_memory_mb(self.pid)

    def stop(self) -> None:
        """Terminate the child (ours, by pid) and wait for it."""
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -------------------------------------------------------------------------------------------- routes

def api_cases(server_id: str) -> list[dict]:
    """The timed routes: ping-data per range over all countries and for one server, and the status route."""
    cases = [{"scope": "all", "range": r, "path": f"/api/ping-data?range={r}"} for r in RANGES]
    cases += [{"scope": "server", "range": r, "path": f"/api/ping-data?range={r}&server={server_id}",
               "server": server_id} for r in RANGES]
    return cases + [{"scope": "status", "range": "", "path": "/api/servers/status"}]


def response_shape(body: bytes) -> dict:
    """Series count and points per series of a ping-data response; servers in a status response."""
    data = json.loads(body)
    if "series" in data:
        lengths = [len(s.get("timestamps", [])) for s in data["series"]]
        return {"series": len(lengths), "points_per_trace": max(lengths, default=0),
                "bucket_seconds": data.get("bucket_seconds"), "start": data.get("start"), "end": data.get("end")}
    return {"series": len(data.get("servers", [])), "points_per_trace": 0}


def uncached_paths(path: str):
    """path with a new, ignored query parameter each time: a new key for the app's response cache
    (api/cache.py keys on the whole query string), so every request computes its answer."""
    for i in itertools.count(1):
        yield f"{path}{'&' if '?' in path else '?'}bench_uncached={i}"


def time_route(app: AppProcess, case: dict, runs: int, budget_s: float, uncached: bool = False) -> dict:
    """First (cold) request, then up to `runs` timed ones: latency, bytes, gzip bytes, shape.

    uncached: every timed request misses the app's response cache (the query's cost, not a cache hit's)."""
    t0 = time.perf_counter()
    status, _, body = app.get(case["path"])
    first = time.perf_counter() - t0
    if status != 200:
        return {**case, "status": status, "error": body[:300].decode("utf-8", "replace")}
    paths = uncached_paths(case["path"]) if uncached else itertools.repeat(case["path"])
    durations, _ = repeat(lambda: app.get(next(paths)), runs, budget_s)
    return {**case, "status": status, "first_ms": first * 1000, "uncached": uncached, **percentiles_ms(durations),
            "bytes": len(body), "gzip_bytes": gzip_size(body), **response_shape(body)}


def _naive(iso: str) -> datetime:
    """'2026-11-24T03:00:00Z' -> naive UTC datetime."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).replace(tzinfo=None)


def straightforward(engine, case: dict, shape: dict):
    """A callable running the straightforward query for the case's window (same bucket as the app)."""
    pg = engine.dialect.name == "postgresql"
    if case["scope"] == "status":
        stmt = text(STRAIGHT_STATUS_PG if pg else STRAIGHT_STATUS)
        return lambda: _fetch(engine, stmt, {})
    key = "server_id" if case["scope"] == "server" else "country"
    where = "AND server_id = :sid" if case["scope"] == "server" else ""
    stmt = text((STRAIGHT_SERIES_PG if pg else STRAIGHT_SERIES).format(key=key, where=where)).bindparams(
        bindparam("start", type_=DateTime), bindparam("end", type_=DateTime))
    span = _naive(shape["end"]) - _naive(shape["start"])
    params = {"bucket": shape["bucket_seconds"], "sid": case.get("server")}

    def run():
        end = utcnow()
        return _fetch(engine, stmt, {**params, "start": end - span, "end": end})
    return run


def _fetch(engine, stmt, params: dict) -> int:
    """Execute and fetch every row; the row count."""
    with engine.connect() as conn:
        return len(conn.execute(stmt, params).fetchall())


def time_straightforward(engine, case: dict, result: dict, runs: int, budget_s: float) -> dict:
    """The straightforward query's latency for the same window, and the speedup of the app over it."""
    if result.get("status") != 200:
        return result
    run = straightforward(engine, case, result)
    run()  # warm-up, like the app's first request
    durations, rows = repeat(run, runs, budget_s)
    plain = percentiles_ms(durations)
    return {**result, "plain_p50_ms": plain["p50_ms"], "plain_p95_ms": plain["p95_ms"], "plain_n": plain["n"],
            "plain_rows": rows, "speedup": plain["p50_ms"] / result["p50_ms"]}


# ----------------------------------------------------------------------------------------- callbacks

def dashboard_pages(server_id: str) -> list[tuple[str, str, str]]:
    """(label, pathname, search) of the page loads replayed: the overview and a server page, 24 h and 30 d."""
    return [("overview 24h (default)", "/", ""), ("overview 30d", "/", "?range=30d"),
            ("server page 24h", f"/server/{server_id}", ""), ("server page 30d", f"/server/{server_id}", "?range=30d")]


def server_compresses(app: AppProcess) -> bool:
    """Does the app gzip its responses for a browser that accepts it? (Sizes here are gzip level 6 either way.)"""
    request = urllib.request.Request(app.base + "/", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=60) as r:
        return r.headers.get("Content-Encoding") == "gzip"


def replay_pages(app: AppProcess, pages) -> dict[str, dashload.PageLoad]:
    """Each page load replayed against the serving process."""
    out = {}
    for label, path, search in pages:
        log(f"query: page load {label}")
        out[label] = dashload.load_page(app.get, app.post, gzip_size, path, search)
    return out


def undecorated(dash_app, output: str):
    """The callback's own function (Dash's decorator wraps it with functools.wraps)."""
    return getattr(dash_app.callback_map[output]["callback"], "__wrapped__", None)


def time_callback(dash_app, dep_payload: dict, runs: int, budget_s: float) -> dict:
    """Server time of one callback: its undecorated function with the page load's arguments, in a request
    context; through the test client's /_dash-update-component when it needs Dash's callback context."""
    fn = undecorated(dash_app, dep_payload["output"])
    args = [i["value"] for i in dep_payload["inputs"]] + [s["value"] for s in dep_payload["state"]]

    def direct():
        with dash_app.server.test_request_context():
            return fn(*args)
    def via_http():
        return dash_app.server.test_client().post("/_dash-update-component", json=dep_payload)
    call, how = direct, "function"
    try:
        direct()
    except Exception:  # noqa: BLE001 - e.g. dash.ctx outside a callback: fall back to the endpoint
        call, how = via_http, "test client"
    durations, _ = repeat(call, runs, budget_s)
    return {**percentiles_ms(durations), "how": how}


def callback_rows(dash_app, pages: dict, runs: int, budget_s: float) -> list[dict]:
    """Per page and fired callback: server time (this process), response bytes and points (serving process)."""
    rows = []
    for label, page in pages.items():
        for f in (x for x in page.fetches if x.kind == "callback"):
            timing = time_callback(dash_app, f.request, runs, budget_s)
            rows.append({"page": label, "callback": f.path, "http_ms": f.seconds * 1000, "bytes": f.raw_bytes,
                         "gzip_bytes": f.gzip_bytes, "points_per_trace": f.points_per_trace, "traces": f.traces,
                         **timing})
            log(f"query: callback {label} {short(f.path)}: p50 {timing['p50_ms']:.0f} ms ({timing['how']})")
    return rows


def short(output: str) -> str:
    """The first output of a callback's output string, for tables."""
    first = output.strip(".").split("...")[0]
    return first + (" +" if output.startswith("..") else "")


def page_summary(pages: dict) -> list[dict]:
    """Per page load: compressed bytes by kind and in total, with and without plotly.js."""
    rows = []
    for label, page in pages.items():
        plotly = sum(f.gzip_bytes for f in page.fetches if "plotly" in f.path.lower())
        by_kind = {}
        for f in page.fetches:
            by_kind[f.kind] = by_kind.get(f.kind, 0) + f.gzip_bytes
        raw, gz = page.total()
        rows.append({"page": label, "raw_bytes": raw, "gzip_bytes": gz, "gzip_without_plotly": gz - plotly,
                     "plotly_gzip": plotly, "by_kind_gzip": by_kind, "requests": len(page.fetches),
                     "errors": [f.path for f in page.fetches if f.status != 200]})
    return rows


# ------------------------------------------------------------------------------------------- figures

def route_label(r: dict) -> str:
    """'ping-data 30d, all countries' etc."""
    if r["scope"] == "status":
        return "servers/status"
    return f"ping-data {r['range']}, " + ("all countries" if r["scope"] == "all" else "one server")


def figures(routes: list[dict], callbacks: list[dict], pages: list[dict], memory: dict) -> list[Figure]:
    """The read-side figures against the issue's targets."""
    out = []
    for r in routes:
        if r.get("status") != 200:
            out.append(Figure("query", route_label(r), f"HTTP {r.get('status')}", "200", "MISSED"))
            continue
        limit = TARGET_P95_MS.get((r["scope"], r["range"]))
        out.append(Figure.check("query", f"{route_label(r)}: p95", r["p95_ms"], limit, "{:.0f}", " ms"))
        # The 10x target goes with the four targeted queries. Elsewhere it is shown, not checked: windows in
        # 60 s buckets read raw rows as the straightforward query does, and for one server over 24 h or 7 d
        # the straightforward query is an index range of at most 10,080 rows (3-20 ms), under the ~4 ms an
        # HTTP request with JSON costs.
        note = " (both read raw rows)" if r["scope"] != "status" and (r.get("bucket_seconds") or 0) < 300 else ""
        out.append(Figure.check("query", f"{route_label(r)}: speedup vs straightforward{note}", r["speedup"],
                                MIN_SPEEDUP if limit else None, "{:.2f}", "x", higher_is_better=True))
    points = [(r["points_per_trace"], route_label(r)) for r in routes if r.get("status") == 200]
    points += [(c["points_per_trace"], f"{c['page']}: {short(c['callback'])}") for c in callbacks]
    worst = max(points, default=(0, ""))
    out.append(Figure.check("query", f"points per trace, worst ({worst[1]})", worst[0], MAX_POINTS, "{:,.0f}"))
    if not memory:  # --skip-pages: no page loads, no memory reading
        return out
    for p in pages:
        limit = MAX_PAGE_GZIP if p["page"].startswith("overview 24h") else None
        out.append(Figure.check("query", f"page load gzip, {p['page']}", p["gzip_bytes"] / 1e6, limit and limit / 1e6,
                                "{:.2f}", " MB"))
        out.append(Figure("query", "… of which plotly.js / the rest", f"{p['plotly_gzip'] / 1e6:.2f} MB / "
                                                                          f"{p['gzip_without_plotly'] / 1e6:.2f} MB"))
    out.append(Figure.check("query", "app resident memory (VmRSS after the run)", memory["VmRSS"], MAX_RSS_MB,
                            "{:.0f}", " MB"))
    out.append(Figure.check("query", "app peak resident memory (VmHWM, during the run)", memory["VmHWM"], MAX_RSS_MB,
                            "{:.0f}", " MB"))
    return out


def route_table(routes: list[dict]) -> str:
    """The routes' detailed markdown table."""
    rows = [[route_label(r), r.get("n", ""), _ms(r.get("first_ms")), _ms(r.get("p50_ms")), _ms(r.get("p95_ms")),
             f"{r.get('bytes', 0):,}", f"{r.get('gzip_bytes', 0):,}", r.get("series", ""),
             r.get("points_per_trace", ""), r.get("bucket_seconds", ""), _ms(r.get("plain_p50_ms")),
             _ms(r.get("plain_p95_ms")),
             f"{r['speedup']:.2f}x" if "speedup" in r else ""] for r in routes]
    return markdown_table(["route", "runs", "first ms", "p50 ms", "p95 ms", "bytes", "gzip", "series",
                           "points/trace", "bucket s", "straightforward p50", "straightforward p95", "speedup"], rows)


def callback_table(callbacks: list[dict]) -> str:
    """The callbacks' detailed markdown table."""
    rows = [[c["page"], short(c["callback"]), c["n"], _ms(c["p50_ms"]), _ms(c["p95_ms"]), c["how"],
             _ms(c["http_ms"]), f"{c['bytes']:,}", f"{c['gzip_bytes']:,}", c["traces"], c["points_per_trace"]]
            for c in callbacks]
    return markdown_table(["page", "callback (first output)", "runs", "p50 ms", "p95 ms", "called as",
                           "HTTP ms (1st load)", "bytes", "gzip", "traces", "points/trace"], rows)


def page_table(pages: list[dict]) -> str:
    """The page loads' markdown table."""
    kinds = ("html", "script", "css", "font", "async chunk", "layout", "dependencies", "callback")
    rows = [[p["page"], p["requests"], f"{p['raw_bytes']:,}", f"{p['gzip_bytes']:,}", f"{p['plotly_gzip']:,}",
             *(f"{p['by_kind_gzip'].get(k, 0):,}" for k in kinds), ", ".join(p["errors"]) or "none"] for p in pages]
    return markdown_table(["page", "requests", "raw bytes", "gzip bytes", "plotly.js gzip",
                           *(f"{k} gzip" for k in kinds), "failed requests"], rows)


def _ms(value) -> str:
    """A millisecond figure for tables."""
    return "" if value is None else f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


# ---------------------------------------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", type=int, default=200)
    p.add_argument("--days", type=float, default=30)
    p.add_argument("--interval-seconds", type=float, default=60)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", type=int, default=20, help="timed runs per case (median and p95 over them)")
    p.add_argument("--budget-seconds", type=float, default=60,
                   help="stop a case's runs early once it has taken this long (at least 3 runs)")
    p.add_argument("--skip-callbacks", action="store_true", help="no in-process callback timings")
    p.add_argument("--uncached", action="store_true",
                   help="every timed request misses the app's response cache (issue 12), so p50/p95 are the "
                        "query's cost rather than a cached body's")
    p.add_argument("--skip-pages", action="store_true", help="no page loads and memory figures (routes only)")
    p.add_argument("--backend", choices=BACKENDS, default="sqlite")
    p.add_argument("--sqlite-database", type=Path, help="the SQLite history (default bench/out/history-...db)")
    p.add_argument("--database-url", help="the PostgreSQL history (default: bench/pgserver.py's lm_history_...)")
    p.add_argument("--name", default="query", help="results file name under bench/out/results/ "
                                                   "(-<backend> is added for PostgreSQL)")
    return p.parse_args(argv)


def results_name(args: argparse.Namespace) -> str:
    """query.json for SQLite as before, query-postgresql.json for PostgreSQL."""
    return args.name if args.backend == "sqlite" else f"{args.name}-{args.backend}"


def run(args: argparse.Namespace) -> dict:
    """Dataset, routes and straightforward queries, page loads, memory, then the callbacks in this process."""
    history = ensure_history(args.backend, args.servers, args.days, args.interval_seconds, args.seed,
                             args.sqlite_database, args.database_url)
    cfg = history.config
    server_id = json.loads(cfg.read_text())["servers"][0]["ip"]
    app = AppProcess(cfg)
    load_before = os.getloadavg()
    try:
        idle = app.memory()
        routes = []
        for case in api_cases(server_id):
            routes.append(time_route(app, case, args.runs, args.budget_seconds, args.uncached))
            log(f"query: {case['path']}: p50 {routes[-1].get('p50_ms', float('nan')):.0f} ms")
        pages = {} if args.skip_pages else replay_pages(app, dashboard_pages(server_id))
        memory = {} if args.skip_pages else {**app.memory(), "idle_VmRSS": idle["VmRSS"]}
        compresses = server_compresses(app)
    finally:
        app.stop()
    load_after = os.getloadavg()
    engine = make_engine(history.url, readonly=True)
    routes = [time_straightforward(engine, c, r, args.runs, args.budget_seconds)
              for c, r in zip(api_cases(server_id), routes, strict=True)]
    engine.dispose()
    callbacks = []
    if not args.skip_callbacks:
        from app import create_app
        callbacks = callback_rows(create_app(str(cfg), start_collector=False), pages, args.runs, args.budget_seconds)
    summary = page_summary(pages)
    return {"backend": history.backend, "database": make_engine_name(history.url),
            "database_bytes": history.size_bytes, "generation": history.generation, "routes": routes,
            "load_avg_1min": {"before": load_before[0], "after": load_after[0]},
            "server_compresses": compresses,
            "callbacks": callbacks, "pages": summary, "memory": memory,
            "figures": figures(routes, callbacks, summary, memory)}


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, save results, print the tables."""
    args = parse_args(argv)
    t0 = time.perf_counter()
    data = run(args)
    data["seconds"] = time.perf_counter() - t0
    save_results(results_name(args), data)
    print(f"database {data['database']} ({data['database_bytes'] / 1e9:.2f} GB)\n")
    print(route_table(data["routes"]) + "\n")
    if data["callbacks"]:
        print(callback_table(data["callbacks"]) + "\n")
    m = data["memory"]
    if m:
        print(page_table(data["pages"]) + "\n")
        print(f"app memory: VmRSS {m['VmRSS']:.0f} MB (idle {m['idle_VmRSS']:.0f} MB), VmHWM {m['VmHWM']:.0f} MB")
    print(f"the app gzips responses itself: {'yes' if data['server_compresses'] else 'no'}\n")
    print(figures_table(data["figures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
