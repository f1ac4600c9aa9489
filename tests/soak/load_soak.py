"""The full load soak: 50 concurrent API clients for 60 s while the collector stores a round every second.

    python -m tests.soak.load_soak [--clients 50] [--seconds 60] [--servers 200] [--interval 1] [--out FILE]

Prints one JSON object (and writes it to --out): requests, statuses, slowest response, rounds stored vs
run vs lost, rounds missing rows, warnings logged. Exit status 0 only when there was no error response,
nothing was logged at WARNING or worse (waitress queue notices and round overruns are counted apart) and
every round run was stored whole. Its result is recorded in docs/reliability.md.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tests.soak.loadlib import percentile, run


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--servers", type=int, default=200)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON result here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the soak and report; 0 when nothing was lost or failed."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="load-soak-") as folder:
        result, rounds, logged = run(Path(folder), args.clients, args.seconds, args.servers, args.interval)
    report = {"clients": args.clients, "seconds": round(result.seconds, 1), "servers": args.servers,
              "interval_seconds": args.interval, "requests": result.requests,
              "requests_per_second": round(result.requests / result.seconds, 1),
              "statuses": dict(result.statuses), "slowest_response_seconds": round(result.slowest_seconds, 2),
              "p50_seconds": round(percentile(result.latencies, 0.5), 3),
              "p95_seconds": round(percentile(result.latencies, 0.95), 3),
              "problems": result.problems[:20], "rounds": rounds, "warnings_logged": logged[:20]}
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    ok = (not result.problems and set(result.statuses) == {200} and not logged and rounds["lost"] == 0
          and rounds["partial"] == 0 and rounds["stored"] == rounds["run"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
