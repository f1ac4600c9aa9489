"""Writer.write_round for one 1,000-server round: one transaction, timed (median, p95 and mean of 60).

    python bench/write_bench.py [--servers 1000] [--rounds 60] [--prefill-rounds 240]

Rows are built like the collector builds them (bench/generate.py: synthetic samples, measure(), concerns).
Two phases: on an empty database, then after --prefill-rounds rounds of history (written the same way),
where every round touches one index leaf per server as it will in production. After each round the WAL is
checkpointed outside the round's transaction, as the collector does between rounds (timed apart).
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import generate, synth
from bench.common import Figure, figures_table, log, markdown_table, out_dir, percentiles_ms, save_results
from storage import open_writer

WARMUP_ROUNDS = 5
TARGET_MS = 50.0
INTERVAL_S = 60.0


def fresh_database(name: str) -> Path:
    """A path under bench/out/ with no database (or WAL files) left from an earlier run."""
    path = out_dir() / name
    for suffix in ("", "-wal", "-shm", ".meta.json"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def built_rounds(servers: int, start: float, count: int) -> tuple[list, float]:
    """`count` rounds of rows for `servers` servers from `start`; and measure()+row building ms per round."""
    frame = synth.build_servers(servers)
    plan = generate.make_plan(generate.config_dict(frame, Path("unused.db"), INTERVAL_S), frame, start, count,
                              INTERVAL_S, seed=1)
    generate._init_worker(plan)  # noqa: SLF001 - run the generator's worker step in this process
    rounds, clock = generate.chunk_rounds((start, count))
    return rounds, (clock["measure_s"] + clock["rows_s"]) / count * 1000


def time_writes(writer, rounds: list) -> tuple[list[float], list[float]]:
    """Seconds of each write_round call, and of the WAL checkpoint the collector runs after it."""
    durations, checkpoints = [], []
    for at, finished, rows in rounds:
        t0 = time.perf_counter()
        writer.write_round(generate.COLLECTOR, at, finished, rows)
        t1 = time.perf_counter()
        writer.checkpoint()  # as the collector loop does between rounds, outside the round's transaction
        durations.append(t1 - t0)
        checkpoints.append(time.perf_counter() - t1)
    return durations, checkpoints


def phase(database: Path, servers: int, start: float, rounds: int) -> dict:
    """Warm-up rounds, then `rounds` timed write_round calls on database."""
    batch, build_ms = built_rounds(servers, start, WARMUP_ROUNDS + rounds)
    writer = open_writer(f"sqlite:///{database}")
    try:
        timed, checkpoints = (part[WARMUP_ROUNDS:] for part in time_writes(writer, batch))
    finally:
        writer.engine.dispose()
    stats = percentiles_ms(timed)
    stats["mean_ms"] = sum(timed) / len(timed) * 1000
    stats["checkpoint_p50_ms"] = percentiles_ms(checkpoints)["p50_ms"]
    return {**stats, "rows_per_round": servers, "rows_per_s": servers / (stats["p50_ms"] / 1000),
            "build_ms_per_round": build_ms, "database_bytes": database.stat().st_size}


def run(args: argparse.Namespace) -> dict:
    """The empty-database phase, then prefill and the history phase."""
    now = time.time()
    empty_db = fresh_database(f"write-empty-{args.servers}.db")
    empty = phase(empty_db, args.servers, now, args.rounds)
    log(f"write: empty database p50 {empty['p50_ms']:.1f} ms")
    history_db = fresh_database(f"write-history-{args.servers}.db")
    days = args.prefill_rounds * INTERVAL_S / 86400
    t0 = time.perf_counter()
    end = generate.EPOCH + timedelta(seconds=now - 2 * INTERVAL_S * (WARMUP_ROUNDS + args.rounds))
    prefill = generate.generate(history_db, args.servers, days, INTERVAL_S, end=end)
    log(f"write: prefilled {prefill['rows']:,} rows in {time.perf_counter() - t0:.0f} s")
    history = phase(history_db, args.servers, now, args.rounds)
    log(f"write: with history p50 {history['p50_ms']:.1f} ms")
    return {"servers": args.servers, "empty": empty, "history": {**history, "prefill_rows": prefill["rows"]},
            "figures": figures(args.servers, empty, history, prefill["rows"])}


def figures(servers: int, empty: dict, history: dict, prefill_rows: int) -> list[Figure]:
    """The write figures against the issue's target."""
    return [Figure.check("writes", f"write_round, {servers:,} rows, {prefill_rows:,} rows of history: median",
                         history["p50_ms"], TARGET_MS, "{:.1f}", " ms"),
            Figure("writes", f"write_round, {servers:,} rows with history: p95 / mean; WAL checkpoint after it (p50)",
                   f"{history['p95_ms']:.1f} ms / {history['mean_ms']:.1f} ms; {history['checkpoint_p50_ms']:.1f} ms"),
            Figure("writes", f"write_round, {servers:,} rows, empty database: median / p95",
                   f"{empty['p50_ms']:.1f} ms / {empty['p95_ms']:.1f} ms"),
            Figure("writes", f"measure() + row building per {servers:,}-server round (collector CPU)",
                   f"{history['build_ms_per_round']:.0f} ms")]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--prefill-rounds", type=int, default=240, help="rounds of history before the second phase")
    p.add_argument("--name", default="write", help="results file name under bench/out/results/")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, save results, print the tables."""
    args = parse_args(argv)
    t0 = time.perf_counter()
    data = run(args)
    data["seconds"] = time.perf_counter() - t0
    save_results(args.name, data)
    rows = [[label, d["n"], f"{d['p50_ms']:.1f}", f"{d['p95_ms']:.1f}", f"{d['mean_ms']:.1f}", f"{d['min_ms']:.1f}",
             f"{d['rows_per_s']:,.0f}",
             f"{d['build_ms_per_round']:.0f}"] for label, d in (("empty database", data["empty"]),
                                                              ("with history", data["history"]))]
    print(markdown_table(["phase", "rounds", "p50 ms", "p95 ms", "mean ms", "min ms", "rows/s",
                          "measure()+rows ms/round"], rows))
    print()
    print(figures_table(data["figures"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
