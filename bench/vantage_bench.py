"""Three collectors x 1,000 servers writing every 10 s into one PostgreSQL (or SQLite), with 50 API clients reading.

Each collector is a process with its own Writer (its own engine, as on its own host) storing a round of 1,000 rows
through the project's write path (rounds, ping_results, rollups, server_latest, heartbeat in one transaction)
every interval. 50 reader threads call /api/servers/status and /api/ping-data?range=24h on the app (Flask test
clients, one per thread) for the whole run. Required: 0 failed responses, rows stored = rounds x servers for each
collector (none lost or doubled), each round's commit p95 <= 100 ms. --backend sqlite runs the same on one SQLite
file (WAL, every collector process its own writer), for the side-by-side table of bench/backends_bench.py.

    python -m bench.vantage_bench [--seconds 60] [--collectors 3] [--servers 1000] [--readers 50]
                                  [--backend postgresql|sqlite]
"""
from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bench.common import Figure, figures_table, log, percentiles_ms, save_results
from bench.spool_bench import config_for
from collector.measure import measure
from collector.probes.base import ProbeResult
from collector.rows import result_row, server_labels
from common.timeutil import utcnow
from storage import open_writer
from storage.schema import ping_results, rounds
from tests.pg import PgCluster


def round_rows(config, at, rtt_ms: float) -> list[dict]:
    """One round's rows for every configured server, every packet answered in rtt_ms."""
    m = measure(ProbeResult(4, 4, [rtt_ms] * 4), config.thresholds)
    return [result_row(m, server_labels(s, "ping"), at, config.thresholds, config.alert_conditions)
            for s in config.servers]


def collector_process(name: str, url: str, config, interval: float, seconds: float, results) -> None:
    """In its own process (as on its own host): store a round every interval for `seconds`; puts
    (name, rounds stored, commit times) on results."""
    writer = open_writer(url)
    commits: list[float] = []
    stored: dict[str, int] = {}
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    next_at = time.monotonic()
    while not stop.is_set():
        at = utcnow()
        rows = round_rows(config, at, 20.0 + 10 * len(name))
        t0 = time.perf_counter()
        writer.write_round(name, at, at + timedelta(milliseconds=5), rows, uid=f"{name}:{uuid.uuid4()}",
                           heartbeat={"location": name, "last_round_at": at, "servers_probed": len(rows)})
        commits.append(time.perf_counter() - t0)
        stored[name] = stored.get(name, 0) + 1
        next_at += interval
        stop.wait(max(0.0, next_at - time.monotonic()))
    writer.engine.dispose()
    results.put((name, stored.get(name, 0), commits))


def reader_thread(app, stop: threading.Event, outcomes: list[tuple[str, int, float]]) -> None:
    """GET the status and 24 h ping-data routes in turn until stop."""
    client = app.server.test_client()
    paths = ("/api/servers/status", "/api/ping-data?range=24h")
    i = 0
    while not stop.is_set():
        path = paths[i % 2]
        t0 = time.perf_counter()
        status = client.get(path).status_code
        outcomes.append((path, status, time.perf_counter() - t0))
        i += 1


BACKENDS = ("postgresql", "sqlite")


@contextlib.contextmanager
def database(backend: str, folder: Path):
    """The URL of an empty database of the backend: a throwaway cluster (tests/pg.py), or a SQLite file in folder."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    cluster = PgCluster().start()
    try:
        yield cluster.url()
    finally:
        cluster.stop()


def run(seconds: float, collectors: int, servers: int, readers: int, interval: float,
        backend: str = "postgresql") -> dict:
    """The whole run on a throwaway database of the backend; the figures' inputs."""
    from app import create_app
    folder = Path(tempfile.mkdtemp(prefix="lm-vantage-bench-"))
    with database(backend, folder) as url:
        config = config_for(url, servers, interval, folder)
        open_writer(url).engine.dispose()  # the schema, before anyone reads
        app = create_app(config, start_collector=False)
        stop = threading.Event()
        commits: list[float] = []
        first_commits: list[float] = []
        stored: dict[str, int] = {}
        outcomes: list[tuple[str, int, float]] = []
        names = [f"vp{i + 1}" for i in range(collectors)]
        queue = multiprocessing.get_context("fork").Queue()
        writers = [multiprocessing.get_context("fork").Process(target=collector_process,
                                                               args=(n, url, config, interval, seconds, queue))
                   for n in names]
        for w in writers:
            w.start()
        threads = [threading.Thread(target=reader_thread, args=(app, stop, outcomes)) for _ in range(readers)]
        log(f"{collectors} collectors x {servers} servers every {interval:g} s, {readers} readers, {seconds:g} s")
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        for _ in writers:
            name, count, times = queue.get(timeout=120)
            stored[name] = count
            commits += times[1:]  # the first round builds the statements and connects: warm-up, reported apart
            first_commits.append(times[0] if times else float("nan"))
        for w in writers:
            w.join()
        with app.runtime.read_engine.connect() as conn:
            per_collector = dict(conn.execute(select(ping_results.c.collector, func.count())
                                              .group_by(ping_results.c.collector)).all())
            round_counts = dict(conn.execute(select(rounds.c.collector, func.count()).group_by(rounds.c.collector)).all())
        app.close()
        failed = [o for o in outcomes if o[1] != 200]
        return {"seconds": seconds, "collectors": collectors, "servers": servers, "readers": readers,
                "interval_seconds": interval, "rounds_written": stored, "rounds_stored": round_counts,
                "rows_stored": per_collector,
                "row_mismatch": sum(abs(per_collector.get(n, 0) - stored.get(n, 0) * servers) for n in names),
                "responses": len(outcomes), "failed_responses": len(failed),
                "commit": percentiles_ms(commits), "first_commit": percentiles_ms(first_commits),
                "status_route": percentiles_ms(o[2] for o in outcomes if o[0].startswith("/api/servers")),
                "ping_data_route": percentiles_ms(o[2] for o in outcomes if o[0].startswith("/api/ping-data")),
                "backend": backend, "load_avg_1min": os.getloadavg()[0]}


def figures(r: dict) -> list[Figure]:
    area = f"{r['collectors']} collectors x {r['servers']} servers ({r.get('backend', 'postgresql')})"
    return [Figure.check(area, "failed API responses", r["failed_responses"], 0, "{:.0f}"),
            Figure.check(area, "rows lost or doubled (all collectors)", r["row_mismatch"], 0, "{:.0f}"),
            Figure.check(area, "round commit p95 (after each collector's first)", r["commit"]["p95_ms"], 100, "{:.0f}",
                         " ms"),
            Figure.check(area, "round commit p50", r["commit"]["p50_ms"], None, "{:.0f}", " ms"),
            Figure.check(area, "first round's commit (warm-up), worst", r["first_commit"]["p95_ms"], None, "{:.0f}",
                         " ms"),
            Figure.check(area, "API responses in the run", r["responses"], None, "{:.0f}"),
            Figure.check(area, "/api/servers/status p95 under load", r["status_route"]["p95_ms"], None, "{:.0f}", " ms"),
            Figure.check(area, "/api/ping-data?range=24h p95 under load", r["ping_data_route"]["p95_ms"], None,
                         "{:.0f}", " ms")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--collectors", type=int, default=3)
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--interval-seconds", type=float, default=10.0)
    parser.add_argument("--backend", choices=BACKENDS, default="postgresql")
    parser.add_argument("--name", help="results file name under bench/out/results/ (default vantage[-sqlite])")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.collectors, args.servers, args.readers, args.interval_seconds, args.backend)
    found = figures(result)
    name = args.name or ("vantage" if args.backend == "postgresql" else f"vantage-{args.backend}")
    save_results(name, {"result": result, "figures": found})
    print(figures_table(found))
    return 0 if all(f.status != "MISSED" for f in found) else 1


if __name__ == "__main__":
    raise SystemExit(main())
