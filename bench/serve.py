"""Serve the app for the query benchmark: create_app(config, start_collector=False) behind waitress on loopback.

    python bench/serve.py --config bench/out/history-200x30d-60s.json --port 8765

Prints "READY <pid>" once listening, so the benchmark can read this process's /proc/<pid>/status.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from waitress.server import create_server

from app import create_app, freeze_startup_objects

THREADS = 8  # as app.main() serves


def main(argv: list[str] | None = None) -> int:
    """Build the app and serve it until killed."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", required=True)
    p.add_argument("--port", type=int, default=0, help="0 = any free port (printed)")
    a = p.parse_args(argv)
    app = create_app(a.config, start_collector=False)
    freeze_startup_objects()  # as app.main() does before serving
    server = create_server(app.server, host="127.0.0.1", port=a.port, threads=THREADS)
    print(f"READY {os.getpid()} {server.effective_port}", flush=True)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
