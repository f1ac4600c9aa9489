"""Spool benchmark: PostgreSQL stopped for 2 minutes under a 5 s cadence, then started again.

A real collector (fake instant probes, 200 servers) runs on its real cadence thread against a throwaway cluster
(tests/pg.py's initdb/pg_ctl). Required: every round of the outage arrives, in order, none doubled. Reported:
rounds spooled, catch-up time (restart until the spool is empty), and the rows stored per round.

    python -m bench.spool_bench [--outage-seconds 120] [--interval-seconds 5] [--servers 200]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.common import Figure, figures_table, log, save_results
from collector.probes.base import ProbeResult
from collector.service import Collector
from collector.spool import Spool
from settings import validate_config
from storage import open_writer
from storage.schema import ping_results, rounds
from tests.collector.test_spool import PausablePg


class InstantProbe:
    """Every server answers 4 packets in 20 ms, at once."""

    name = "ping"

    def run(self, targets):
        return {t.server_id: ProbeResult(4, 4, [20.0] * 4) for t in targets}


def config_for(url: str, servers: int, interval_seconds: float, folder: Path):
    """A config of `servers` loopback servers on the database."""
    entries = [{"partner": f"P{i % 20}", "country": f"C{i % 10}", "ip": f"127.0.{i // 250}.{i % 250 + 1}"}
               for i in range(servers)]
    raw = {"database_path": str(folder / "unused.db"), "database_url": url, "servers": entries, "ping_count": 4, "ping_timeout": 1,
           "interval_seconds": interval_seconds, "stale_after_seconds": 600, "log_file": None,
           "windows_params": {"os": "windows", "count_param": "-n", "timeout_param": "-w"},
           "unix_params": {"os": "unix", "count_param": "-c", "timeout_param": "-W"},
           "latency_thresholds": {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}}
    return validate_config(raw, source=str(folder / "config.json"))


def wait_for(condition, timeout: float, step: float = 0.2) -> float:
    """Seconds until condition() holds (raises after timeout)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError("condition not met")
        time.sleep(step)
    return time.monotonic() - start


def run(outage_seconds: float, interval_seconds: float, servers: int) -> dict:
    """One outage: rounds before, during and after; the checks and the catch-up time."""
    folder = Path(tempfile.mkdtemp(prefix="lm-spool-bench-"))
    cluster = PausablePg().start()
    try:
        writer = open_writer(cluster.url())
        config = config_for(cluster.url(), servers, interval_seconds, folder)
        spool = Spool(str(folder / "spool.db"))
        collector = Collector(config, writer, probe_factory=lambda kind: InstantProbe(), auto_kind="ping",
                              name="bench", spool=spool, notifier=None)
        collector.start()
        wait_for(lambda: collector.rounds_run >= 2, 60)
        log(f"stopping PostgreSQL for {outage_seconds:.0f} s")
        cluster.pause()
        time.sleep(outage_seconds)
        waiting = collector.rounds_waiting
        log(f"{waiting} rounds waiting; starting PostgreSQL")
        cluster.resume()
        restarted = time.monotonic()
        wait_for(lambda: collector.rounds_waiting == 0 and collector.last_error is None, 600)
        catch_up = time.monotonic() - restarted
        time.sleep(interval_seconds)
        collector.stop()
        with writer.engine.connect() as conn:
            stored = conn.execute(select(rounds.c.id, rounds.c.started_at, rounds.c.uid).order_by(rounds.c.id)).all()
            rows = conn.execute(select(func.count()).select_from(ping_results)).scalar()
        starts = [r.started_at for r in stored]
        gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:])]
        result = {"outage_seconds": outage_seconds, "interval_seconds": interval_seconds, "servers": servers,
                  "rounds_waiting_at_restart": waiting, "rounds_stored": len(stored),
                  "rounds_lost": collector.rounds_lost, "in_order": starts == sorted(starts),
                  "doubled": len(stored) - len({r.uid for r in stored}), "rows": rows,
                  "rows_expected": len(stored) * servers, "largest_gap_seconds": max(gaps) if gaps else 0.0,
                  "catch_up_seconds": catch_up, "load_avg_1min": os.getloadavg()[0]}
        writer.engine.dispose()
        spool.close()
        return result
    finally:
        cluster.stop()


def figures(r: dict) -> list[Figure]:
    """The required checks and the reported times."""
    area = "spool (PostgreSQL)"
    return [Figure.check(area, "rounds waiting when PostgreSQL came back", r["rounds_waiting_at_restart"], None, "{:.0f}"),
            Figure.check(area, "rounds lost", r["rounds_lost"], 0, "{:.0f}"),
            Figure.check(area, "rounds doubled", r["doubled"], 0, "{:.0f}"),
            Figure.check(area, "rows stored - rounds x servers", r["rows"] - r["rows_expected"], 0, "{:.0f}"),
            Figure.check(area, "largest gap between stored rounds", r["largest_gap_seconds"],
                         r["interval_seconds"] * 1.5, "{:.1f}", " s"),
            Figure(area, "stored in order", "yes" if r["in_order"] else "no", "yes", "met" if r["in_order"] else "MISSED"),
            Figure.check(area, "catch-up time after restart", r["catch_up_seconds"], None, "{:.1f}", " s")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-seconds", type=float, default=120.0)
    parser.add_argument("--interval-seconds", type=float, default=5.0)
    parser.add_argument("--servers", type=int, default=200)
    args = parser.parse_args(argv)
    result = run(args.outage_seconds, args.interval_seconds, args.servers)
    found = figures(result)
    save_results("spool", {"result": result, "figures": found})
    print(figures_table(found))
    return 0 if all(f.status != "MISSED" for f in found) else 1


if __name__ == "__main__":
    raise SystemExit(main())
