"""Write realistic history through the project's own write path: measure() per server, Writer.write_rounds.

    python bench/generate.py --database bench/out/q.db --servers 200 --days 30 --interval-seconds 60 \
        [--seed 1] [--config-out bench/out/q.json] [--workers 2] [--extend]
    python bench/generate.py --database-url postgresql+psycopg://... --servers 200 --days 30 [...]

Samples come from bench/synth.py (numpy, vectorised per chunk of rounds); worker processes turn them into
rows with collector.measure (as the collector does) and the main process stores them with
storage.Writer.write_rounds, ROUNDS_PER_TRANSACTION rounds per transaction. The history ends now, so the app's 1h/24h/7d/30d ranges see it;
--extend appends the rounds missing between the database's newest round and now (same servers).
A sidecar <database>.meta.json records how the data was made. With --database-url (PostgreSQL, e.g. the server of
bench/pgserver.py) the same rounds go through the same writer into that database, the sidecar is
bench/out/<database name>.meta.json, and the load ends with VACUUM ANALYZE instead of a WAL checkpoint.
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd
from sqlalchemy import func, select

from bench import synth
from bench.common import log
from settings import DEFAULTS, AlertConditions, validate_config
from collector.measure import measure
from collector.rows import result_row, server_labels
from collector.probes.base import ProbeResult
from storage import open_writer
from storage.schema import rounds as rounds_table
from common.timeutil import utcnow

EPOCH = datetime(1970, 1, 1)
ROWS_PER_CHUNK = 12_000
# History is loaded several rounds per transaction (Writer.write_rounds): the same rows and rollups as one
# round at a time, with one COMMIT and one rollup fold per batch.
ROUNDS_PER_TRANSACTION = 20
COLLECTOR = "bench"
PROBE = "fping"
ROUND_PHASE_S = 17.3  # rounds start at a fixed cadence from when the collector started, not on the minute


@dataclass
class Timings:
    """Where generation time went (seconds, summed over chunks; worker figures are per worker)."""

    samples_s: float = 0.0
    measure_s: float = 0.0
    rows_s: float = 0.0
    write_s: float = 0.0
    rows: int = 0
    rounds: int = 0

    def add(self, other: dict) -> None:
        """Add one chunk's worker timings."""
        for key in ("samples_s", "measure_s", "rows_s"):
            setattr(self, key, getattr(self, key) + other[key])


@dataclass
class Plan:
    """What to generate: servers, incidents, rounds and thresholds (sent once to each worker)."""

    servers: pd.DataFrame
    incidents: pd.DataFrame
    statics: list[dict]
    thresholds: dict
    limits: AlertConditions
    interval_s: float
    seed: int
    chunks: list[tuple[float, int]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- config

def config_dict(servers: pd.DataFrame, database: Path, interval_s: float) -> dict:
    """A valid config.json for the generated servers on the generated database."""
    entries = [{"partner": r.partner, "country": r.country, "ip": r.ip, "dn_ext": r.dn_ext}
               for r in servers.itertuples(index=False)]
    return {"database_path": str(Path(database).resolve()), "servers": entries, "ping_count": synth.PACKETS,
            "ping_timeout": 5, "interval_seconds": interval_s, "stale_after_seconds": max(300, 3 * interval_s),
            "probe": PROBE, "log_file": None, "latency_thresholds": dict(DEFAULTS["latency_thresholds"]),
            "alert_conditions": dict(DEFAULTS["alert_conditions"]), "collector_name": COLLECTOR}


def static_columns(config: dict) -> list[dict]:
    """Per server, the row columns that never change (as the collector fills them from the config)."""
    cfg = validate_config(config)
    return [server_labels(s, PROBE) for s in cfg.servers]


# ------------------------------------------------------------------------------------ rows (worker side)

def probe_result(samples: list[float | None], error: bool) -> ProbeResult:
    """What FpingProbe would have returned for these per-packet samples."""
    if error:
        return ProbeResult.failed(len(samples), "fping printed no result for this host")
    return ProbeResult(transmitted=len(samples), received=sum(v is not None for v in samples), samples_ms=samples)


def _clean(values: list[float]) -> list[float | None]:
    """NaN (lost packet) as None."""
    return [None if v != v else v for v in values]


def round_rows(plan: Plan, at: datetime, samples: list, errors: list, clock: Timings) -> list[dict]:
    """The ping_results rows of one round, built like the collector: measure(), then concerns and labels."""
    t0 = time.perf_counter()
    measured = [measure(probe_result(_clean(s), e), plan.thresholds) for s, e in zip(samples, errors)]
    t1 = time.perf_counter()
    rows = [result_row(m, static, at, plan.thresholds, plan.limits) for m, static in zip(measured, plan.statics)]
    clock.measure_s += t1 - t0
    clock.rows_s += time.perf_counter() - t1
    return rows


def round_duration_s(servers: int, interval_ms: float = 2.0) -> float:
    """About how long an fping round over this many servers takes (for the rounds table)."""
    return (synth.PACKETS - 1) + servers * synth.PACKETS * interval_ms / 1000 + 0.2


_PLAN: Plan | None = None


def _init_worker(plan: Plan) -> None:
    """Pool initializer: keep the plan in the worker."""
    global _PLAN
    _PLAN = plan


def chunk_rounds(chunk: tuple[float, int]) -> tuple[list[tuple[datetime, datetime, list[dict]]], dict]:
    """Rows of `count` consecutive rounds starting at epoch `start`, and the time each step took."""
    plan, (start, count) = _PLAN, chunk
    clock = Timings()
    t0 = time.perf_counter()
    times = synth.round_times(start, count, plan.interval_s)
    samples, errors = synth.round_samples(plan.servers, plan.incidents, times, plan.seed)
    samples_list, errors_list = samples.tolist(), errors.tolist()
    clock.samples_s = time.perf_counter() - t0
    duration = timedelta(seconds=round_duration_s(len(plan.statics)))
    out = []
    for r, t in enumerate(times):
        at = EPOCH + timedelta(seconds=float(t))
        out.append((at, at + duration, round_rows(plan, at, samples_list[r], errors_list[r], clock)))
    return out, {"samples_s": clock.samples_s, "measure_s": clock.measure_s, "rows_s": clock.rows_s}


# ------------------------------------------------------------------------------------------ main side

def plan_chunks(start: float, rounds: int, interval_s: float, servers: int) -> list[tuple[float, int]]:
    """(start epoch, round count) of each chunk, about ROWS_PER_CHUNK rows each."""
    per = max(1, ROWS_PER_CHUNK // max(1, servers))
    return [(start + k * interval_s, min(per, rounds - k)) for k in range(0, rounds, per)]


def _bounded_imap(pool, fn, items, inflight: int):
    """pool.imap in order, with at most `inflight` chunks computed ahead (bounded memory)."""
    pending = collections.deque()
    for item in items:
        pending.append(pool.apply_async(fn, (item,)))
        if len(pending) >= inflight:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _results(plan: Plan, workers: int):
    """Chunk results from worker processes, or computed here when workers <= 1."""
    if workers <= 1:
        _init_worker(plan)
        yield from map(chunk_rounds, plan.chunks)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(plan,)) as pool:
        yield from _bounded_imap(pool, chunk_rounds, plan.chunks, 2 * workers)


def write_all(writer, plan: Plan, workers: int, progress_every_s: float = 15.0) -> Timings:
    """Store every round of the plan, ROUNDS_PER_TRANSACTION rounds per transaction; returns the timings."""
    timings, started, last = Timings(), time.perf_counter(), time.perf_counter()
    total = sum(n for _, n in plan.chunks) * len(plan.statics)
    for chunk, worker_times in _results(plan, workers):
        timings.add(worker_times)
        for start in range(0, len(chunk), ROUNDS_PER_TRANSACTION):
            batch = chunk[start:start + ROUNDS_PER_TRANSACTION]
            t0 = time.perf_counter()
            writer.write_rounds(COLLECTOR, batch)
            timings.write_s += time.perf_counter() - t0
            timings.rows += sum(len(rows) for _, _, rows in batch)
            timings.rounds += len(batch)
        if time.perf_counter() - last > progress_every_s:
            last, elapsed = time.perf_counter(), time.perf_counter() - started
            log(f"generate: {timings.rows:,}/{total:,} rows, {timings.rows / elapsed:,.0f} rows/s")
    return timings


def newest_round(writer) -> datetime | None:
    """started_at of the newest stored round."""
    with writer.engine.connect() as conn:
        return conn.execute(select(func.max(rounds_table.c.started_at))).scalar()


def checkpoint(writer) -> None:
    """SQLite: fold the WAL into the database file; PostgreSQL: VACUUM ANALYZE, so readers start with fresh
    statistics and an all-visible map (index-only scans) rather than whatever autovacuum reached so far."""
    if writer.engine.dialect.name == "sqlite":
        with writer.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with writer.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")


def _epoch(at: datetime) -> float:
    """Naive UTC datetime -> epoch seconds."""
    return (at - EPOCH).total_seconds()


def window(days: float, interval_s: float, end: datetime, newest: datetime | None) -> tuple[float, int]:
    """(first round epoch, round count): `days` up to `end`, or from after the newest stored round."""
    end_s = _epoch(end)
    if newest is not None:
        first = _epoch(newest) + interval_s
    else:
        first = math.floor((end_s - days * 86400) / interval_s) * interval_s + ROUND_PHASE_S
    return first, max(0, int(math.floor((end_s - first) / interval_s)) + 1)


def make_plan(config: dict, servers: pd.DataFrame, first: float, count: int, interval_s: float, seed: int) -> Plan:
    """Everything the workers need for rounds [first, first + count * interval)."""
    last = first + max(count, 1) * interval_s
    incidents = synth.build_incidents(servers, first - 86400, last, seed)
    cfg = validate_config(config)
    plan = Plan(servers=servers, incidents=incidents, statics=static_columns(config), thresholds=cfg.thresholds,
                limits=cfg.alert_conditions, interval_s=interval_s, seed=seed)
    plan.chunks = plan_chunks(first, count, interval_s, len(servers))
    return plan


def meta_path(database: Path) -> Path:
    """The sidecar file describing a generated database."""
    return Path(f"{database}.meta.json")


def url_meta_path(url: str) -> Path:
    """The sidecar of a generated server database: bench/out/<database name>.meta.json."""
    from sqlalchemy.engine import make_url
    return Path(__file__).resolve().parent / "out" / f"{make_url(url).database}.meta.json"


def _open_target(database: Path | None, url: str | None, extend: bool):
    """(writer, name for the log, sidecar path) of a SQLite file or a server URL; refuses to add to old data."""
    if url:
        writer = open_writer(url)
        if newest_round(writer) is not None and not extend:
            writer.engine.dispose()
            raise SystemExit(f"{writer.engine.url.database} already holds rounds; empty it or pass --extend")
        return writer, writer.engine.url.database, url_meta_path(url)
    if database.exists() and not extend:
        raise SystemExit(f"{database} exists; delete it or pass --extend")
    return open_writer(f"sqlite:///{database}"), database.name, meta_path(database)


def generate(database: Path | None, servers: int, days: float, interval_s: float, seed: int = 1,
             config_out: Path | None = None, workers: int | None = None, extend: bool = False,
             end: datetime | None = None, url: str | None = None) -> dict:
    """Generate (or extend up to now) a SQLite database, or the database at url; returns the figures."""
    database = Path(database).resolve() if database else None
    workers = workers or os.cpu_count() or 1
    frame = synth.build_servers(servers, seed)
    config = config_dict(frame, database or Path("database.db"), interval_s)
    if url:
        config["database_url"] = url  # overrides database_path (still required by the config)
    writer, name, sidecar = _open_target(database, url, extend)
    if config_out:
        Path(config_out).write_text(json.dumps(config, indent=1))
    first, count = window(days, interval_s, end or utcnow(), newest_round(writer) if extend else None)
    plan = make_plan(config, frame, first, count, interval_s, seed)
    log(f"generate: {count:,} rounds x {servers} servers = {count * servers:,} rows into {name} "
        f"({workers} worker(s))")
    t0 = time.perf_counter()
    timings = write_all(writer, plan, workers)
    checkpoint(writer)
    elapsed = time.perf_counter() - t0
    writer.engine.dispose()
    result = summary(timings, elapsed, workers)
    _update_meta(sidecar, servers, days, interval_s, seed, result, extend)
    return result


def summary(t: Timings, elapsed: float, workers: int) -> dict:
    """The generation figures, with per-row microseconds of each step."""
    def per_row(seconds: float) -> float:
        return seconds / t.rows * 1e6 if t.rows else float("nan")
    return {"rows": t.rows, "rounds": t.rounds, "seconds": elapsed, "rows_per_s": t.rows / elapsed if elapsed else 0.0,
            "workers": workers, "samples_us_per_row": per_row(t.samples_s), "measure_us_per_row": per_row(t.measure_s),
            "rows_us_per_row": per_row(t.rows_s), "write_round_us_per_row": per_row(t.write_s),
            "write_round_ms_per_round": t.write_s / t.rounds * 1000 if t.rounds else float("nan")}


def _update_meta(path: Path, servers: int, days: float, interval_s: float, seed: int, result: dict,
                 extended: bool) -> None:
    """Record how the database was generated (and each extension) in its sidecar file."""
    meta = json.loads(path.read_text()) if path.exists() and extended else {}
    meta.update({"servers": servers, "days": days, "interval_seconds": interval_s, "seed": seed})
    meta.setdefault("runs", []).append({"at": utcnow().isoformat(timespec="seconds") + "Z",
                                        "extend": extended, **result})
    path.write_text(json.dumps(meta, indent=1))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--database", type=Path, help="SQLite file to create (or extend)")
    target.add_argument("--database-url", help="SQLAlchemy URL of an empty server database (PostgreSQL)")
    p.add_argument("--servers", type=int, default=200)
    p.add_argument("--days", type=float, default=30.0)
    p.add_argument("--interval-seconds", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--config-out", type=Path, help="write a matching config.json here")
    p.add_argument("--workers", type=int, default=None, help="processes building rows (default: CPU count; 1 = none)")
    p.add_argument("--extend", action="store_true", help="append the rounds between the newest stored one and now")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    a = parse_args(argv)
    r = generate(a.database, a.servers, a.days, a.interval_seconds, a.seed, a.config_out, a.workers, a.extend,
                 url=a.database_url)
    print(f"{r['rows']:,} rows in {r['rounds']:,} rounds, {r['seconds']:.1f} s: {r['rows_per_s']:,.0f} rows/s "
          f"({r['workers']} worker(s))")
    print(f"per row: samples {r['samples_us_per_row']:.1f} us, measure() {r['measure_us_per_row']:.1f} us, "
          f"row building {r['rows_us_per_row']:.1f} us (worker CPU); write {r['write_round_us_per_row']:.1f} us "
          f"({r['write_round_ms_per_round']:.2f} ms per round)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
