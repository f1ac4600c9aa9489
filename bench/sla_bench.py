"""/api/sla over 30 days of 200 servers (issue 15): the target is p95 <= 300 ms.

    python bench/sla_bench.py [--database /tmp/sla-bench/history-200x30d-60s.db] [--config bench/out/q.json]
                              [--runs 20] [--weekly-windows]

Works on a COPY of the lead's generated history (bench/generate.py; never the original: the first run upgrades
it to schema version 4, which builds incidents and availability_rollups from the raw rows, and reports how
long that took). Each run builds the whole /api/sla body (query + JSON) in the app's context, bypassing the
response cache, for every grouping over the 30-day range ending at the newest round and for the month, and
the incidents list.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_P95_MS = 300.0


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def weekly_windows(raw: dict) -> list[dict]:
    """Sundays 02:00-04:00 Berlin time for the first 10 partners, Wednesdays 01:30-02:15 UTC for the first country."""
    partners = sorted({s["partner"] for s in raw["servers"]})[:10]
    country = sorted({s["country"] for s in raw["servers"]})[0]
    sunday = {"day": "sunday", "start": "02:00", "duration_minutes": 120, "time_zone": "Europe/Berlin"}
    return ([{"partner": p, "weekly": sunday, "comment": "bench"} for p in partners]
            + [{"country": country, "comment": "bench",
                "weekly": {"day": "wednesday", "start": "01:30", "duration_minutes": 45, "time_zone": "UTC"}}])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="/tmp/sla-bench/history-200x30d-60s.db")
    parser.add_argument("--config", default="/work/main/bench/out/history-200x30d-60s.json")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--weekly-windows", action="store_true",
                        help="add 11 weekly maintenance windows (10 partners, 1 country) to the config first")
    args = parser.parse_args(argv)

    from sqlalchemy import func, select

    from app import create_app
    from settings import validate_config
    from storage import open_writer
    from storage.schema import rounds
    from api.sla import incidents_body, sla_body
    from queries.filters import Filters
    from queries.sla import month_window

    raw = json.loads(Path(args.config).read_text())
    raw.update(database_path=args.database, log_file=None)
    if args.weekly_windows:
        raw["maintenance"] = weekly_windows(raw)
    config = validate_config(raw)
    started = time.perf_counter()
    writer = open_writer(config.database_target())  # upgrades the copy to version 4 on its first run
    print(f"open + upgrade: {time.perf_counter() - started:.1f} s")
    with writer.engine.connect() as conn:
        newest = conn.execute(select(func.max(rounds.c.started_at))).scalar()
    dash_app = create_app(config, start_collector=False, writer=writer)
    from datetime import timedelta
    end = newest + timedelta(seconds=1)
    windows = {"30d": Filters(start=end - timedelta(days=30), end=end, range="custom"),
               f"month {newest:%Y-%m}": Filters(*month_window(f"{newest:%Y-%m}"), range="custom"),
               "month 2026-11": Filters(*month_window("2026-11"), range="custom")}
    results = {}
    with dash_app.server.test_request_context("/api/sla"):
        for label, filters in windows.items():
            for group in ("server", "partner", "country"):
                times = []
                for _ in range(args.runs):
                    t = time.perf_counter()
                    body, _mime = sla_body(filters, group, "json")
                    times.append((time.perf_counter() - t) * 1000)
                results[f"/api/sla {label} group={group}"] = (times, len(json.loads(body)["rows"]))
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                body, _mime = incidents_body(filters, "server", "json")
                times.append((time.perf_counter() - t) * 1000)
            results[f"/api/incidents {label}"] = (times, len(json.loads(body)["incidents"]))
    print(f"| query | rows | p50 ms | p95 ms | target |\n| --- | --- | --- | --- | --- |")
    worst = 0.0
    for name, (times, count) in results.items():
        p95 = percentile(times, 95)
        worst = max(worst, p95) if name.startswith("/api/sla") else worst
        print(f"| {name} | {count} | {percentile(times, 50):.0f} | {p95:.0f} | "
              f"{'≤ 300' if name.startswith('/api/sla') else ''} |")
    dash_app.close()
    print(f"worst /api/sla p95: {worst:.0f} ms (target {TARGET_P95_MS:.0f} ms): "
          f"{'met' if worst <= TARGET_P95_MS else 'MISSED'}")
    return 0 if worst <= TARGET_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
