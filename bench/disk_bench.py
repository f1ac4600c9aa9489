"""Bytes on disk per stored round (issue 12, Disk): a SQLite history measured per table and index (dbstat), then
the compact upgrade (storage/compact.py) run on a copy of it, timed, and measured again.

    python -m bench.disk_bench --db bench/out/history-200x30d-60s.db [--work /tmp/disk-bench.db] [--keep]

The source file is never written: it is copied to --work first. Figures are printed next to the 150 B/round
target and the 467 B/round measured before (issue 12).
"""
from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine

TARGET_BYTES = 150
BEFORE_BYTES = 467


def rounds_stored(path: Path) -> int:
    """Stored rounds = raw ping rows (one per server and round), through the table or the view."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute("SELECT count(*) FROM ping_results").fetchone()[0]


def sizes(path: Path) -> tuple[int, dict[str, int]]:
    """The file's size and the bytes of pages each table and index uses (dbstat)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        per = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall())
        used = db.execute("SELECT page_count - freelist_count FROM pragma_page_count, pragma_freelist_count")
        used_pages = used.fetchone()[0]
        page = db.execute("PRAGMA page_size").fetchone()[0]
    return used_pages * page, per


def report(title: str, path: Path, rounds: int) -> float:
    """Print bytes per round in total and per table/index above 0.5 B/round; returns the total per round."""
    used, per = sizes(path)
    total = used / rounds
    status = "met" if total <= TARGET_BYTES else "MISSED"
    print(f"\n{title}: {path} — {rounds:,} stored rounds, file {path.stat().st_size / 1e6:,.1f} MB, "
          f"pages in use {used / 1e6:,.1f} MB")
    print(f"  bytes per stored round: {total:6.1f}   target ≤ {TARGET_BYTES} ({status}); before (issue 12) "
          f"{BEFORE_BYTES}")
    for name, nbytes in per.items():
        if nbytes / rounds >= 0.5:
            print(f"    {name:<40} {nbytes / 1e6:10.1f} MB {nbytes / rounds:7.1f} B/round")
    return total


def remove(path: Path) -> None:
    """Delete a database file with its -wal and -shm (a stale -wal would be replayed into the next copy)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (it includes what the source's WAL holds)."""
    remove(target)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


BEFORE_COMPACT = 12  # the schema version the compact step (UPGRADES[12]) starts from


def to_version_12(path: Path) -> tuple[int, float]:
    """Bring an older history to schema 12 with the registered steps before the compact one, in one transaction;
    returns (found version, seconds)."""
    from sqlalchemy import insert
    from storage.migrations import UPGRADES, current_version
    from storage.schema import schema_info
    engine = create_engine(f"sqlite:///{path}")
    started = time.monotonic()
    with engine.begin() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        found = current_version(conn)
        if found > BEFORE_COMPACT:
            raise SystemExit(f"{path} is at schema {found}: already compact")
        for version in range(max(found, 0), BEFORE_COMPACT):
            UPGRADES[version](conn)
        conn.execute(schema_info.delete())
        conn.execute(insert(schema_info).values(version=BEFORE_COMPACT))
    engine.dispose()
    return found, time.monotonic() - started


def upgrade(path: Path) -> float:
    """Start the app's init_db on the file (schema 12 -> 13: the compact step, in one transaction); returns the
    seconds it took."""
    from storage.migrations import init_db
    engine = create_engine(f"sqlite:///{path}")
    started = time.monotonic()
    init_db(engine)
    engine.dispose()
    return time.monotonic() - started


def vacuum(path: Path) -> float:
    """VACUUM (the freed pages of the old table go back to the file system); returns the seconds it took."""
    started = time.monotonic()
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")
    return time.monotonic() - started


# The raw-row reads the app makes (status, a server's page, fine-bucket graphs, the writer's rollup pass, retention),
# each as the row table answers it today (text timestamp, its indexes) and as the compact layout answers it (an
# IN-list over series, so each series is one range of the clustered key). :t is the newest stored time.
GRAPH_COLUMNS = "server_id, timestamp, avg_time, min_time, max_time, jitter_time, loss_percentage, mos"  # no samples
READS = [
    ("newest row of every server (status)",
     "SELECT p.* FROM server_latest l JOIN ping_results p ON p.server_id = l.server_id AND p.timestamp = l.timestamp",
     # MATERIALIZED and CROSS JOIN: each series' newest time first (one seek each), then one seek per row;
     # left to itself the planner flattens the view and scans the table.
     "WITH n AS MATERIALIZED (SELECT s.id AS sid, (SELECT max(c.t_us) FROM ping_compact c WHERE c.series_id = s.id)"
     " AS t FROM series s) SELECT p.* FROM n CROSS JOIN ping_results p ON p.series_id = n.sid AND p.t_us = n.t"),
    ("one server, last 24 h (server page)",
     "SELECT * FROM ping_results WHERE server_id = :sid AND timestamp >= :since_24h",
     "SELECT * FROM ping_results WHERE series_id IN (SELECT id FROM series WHERE server_id = :sid) "
     "AND t_us >= :since_24h_us"),
    ("one country, last 1 h (fine buckets)",
     f"SELECT {GRAPH_COLUMNS} FROM ping_results WHERE country = :country AND timestamp >= :since_1h",
     f"SELECT {GRAPH_COLUMNS} FROM ping_results WHERE series_id IN (SELECT id FROM series WHERE country = :country) "
     "AND t_us >= :since_1h_us"),
    ("all servers, last 1 h (fine buckets)",
     f"SELECT {GRAPH_COLUMNS} FROM ping_results WHERE timestamp >= :since_1h",
     f"SELECT {GRAPH_COLUMNS} FROM ping_results WHERE series_id IN (SELECT id FROM series) AND t_us >= :since_1h_us"),
    ("the newest round's rows (writer's rollup pass)",
     "SELECT * FROM ping_results WHERE round_id = :round",
     "SELECT * FROM ping_results WHERE series_id IN (SELECT id FROM series) AND t_us = :round_t_us "
     "AND round_id = :round"),
    ("rows older than 29 days (retention, counted)",
     "SELECT count(*) FROM ping_results WHERE timestamp < :since_29d",
     "SELECT count(*) FROM ping_compact WHERE series_id IN (SELECT id FROM series) AND t_us < :since_29d_us"),
]


def read_params(path: Path) -> dict:
    """The bound values of READS, from the newest stored row (the same on both layouts)."""
    from datetime import datetime, timedelta
    with sqlite3.connect(path) as db:
        newest, sid, country, round_id = db.execute(
            "SELECT timestamp, server_id, country, round_id FROM ping_results ORDER BY id DESC LIMIT 1").fetchone()
    t = datetime.fromisoformat(newest)
    out = {"sid": sid, "country": country, "round": round_id,
           "round_t_us": round((t - datetime(1970, 1, 1)) / timedelta(microseconds=1))}
    for name, back in (("24h", timedelta(hours=24)), ("1h", timedelta(hours=1)), ("29d", timedelta(days=29))):
        at = t - back
        out[f"since_{name}"] = at.strftime("%Y-%m-%d %H:%M:%S.%f")
        out[f"since_{name}_us"] = round((at - datetime(1970, 1, 1)) / timedelta(microseconds=1))
    return out


def time_reads(path: Path, column: int, runs: int = 5) -> list[tuple[float, int]]:
    """Median seconds and rows of each READS query (column 1: row table, 2: compact) on a file."""
    params = read_params(path)
    out = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        for read in READS:
            sql = read[column]
            names = {k: v for k, v in params.items() if f":{k}" in sql}
            took = []
            for _ in range(runs):
                started = time.perf_counter()
                rows = db.execute(sql, names).fetchall()
                took.append(time.perf_counter() - started)
            out.append((sorted(took)[len(took) // 2], rows[0][0] if read[0].endswith("counted)") else len(rows)))
    return out


def print_reads(before: list, after: list) -> None:
    """The READS side by side."""
    print(f"\nraw-row reads (median of 5, ms): {'row table':>12} {'compact':>10}   rows")
    for (name, *_), (b, nb), (a, na) in zip(READS, before, after):
        print(f"  {name:<48} {b * 1000:10.1f} {a * 1000:10.1f}   {nb:,}{'' if nb == na else f' vs {na:,} DIFFER'}")


def main(argv: list[str] | None = None) -> int:
    """Measure, copy, upgrade, measure again."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", type=Path, required=True, help="a SQLite history (bench/generate.py); only read")
    p.add_argument("--work", type=Path, default=Path("/tmp/disk-bench.db"), help="the copy that is upgraded")
    p.add_argument("--keep", action="store_true", help="keep the upgraded copy")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    rounds = rounds_stored(args.db)
    before = report("before", args.db, rounds)
    reads_before = time_reads(args.db, 1)
    copy(args.db, args.work)
    found, older_seconds = to_version_12(args.work)
    if found < BEFORE_COMPACT:
        print(f"\nthe copy was at schema {found}: the steps to 12 took {older_seconds:.1f} s (not part of this step)")
        report("at schema 12", args.work, rounds)
    seconds = upgrade(args.work)
    print(f"\nupgrade by init_db, 12 -> 13 (copy {rounds:,} rows into the compact table, drop the old one, make the "
          f"view): {seconds:.1f} s")
    after_rounds = rounds_stored(args.work)
    print(f"rows through the ping_results view after: {after_rounds:,} ({'all kept' if after_rounds == rounds else 'ROWS LOST'})")
    vacuum_seconds = vacuum(args.work)
    print(f"VACUUM after the upgrade: {vacuum_seconds:.1f} s")
    after = report("after", args.work, after_rounds)
    print_reads(reads_before, time_reads(args.work, 2))
    print(f"\nbytes per stored round: before {before:.1f}, after {after:.1f}, target ≤ {TARGET_BYTES}")
    if not args.keep:
        remove(args.work)
    return 0 if after_rounds == rounds else 1


if __name__ == "__main__":
    sys.exit(main())
