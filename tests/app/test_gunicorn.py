"""gunicorn -w 4 'app:create_app()' on PostgreSQL: four web processes serving, no collector in any of them."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage import open_writer
from storage.schema import rounds
from tests.conftest import make_config_dict
from tests.pg import free_port

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def get(url: str) -> tuple[int, dict]:
    """GET a JSON route; (status, body)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def test_four_gunicorn_workers_serve_and_run_no_collector(pg_cluster, tmp_path):
    name = pg_cluster.create_database()
    url = pg_cluster.url(name)
    writer = open_writer(url)
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(make_config_dict(tmp_path, database_url=url, interval_seconds=1)))
    port = free_port()
    env = dict(os.environ, LATENCY_MONITOR_CONFIG=str(config_path))
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}", "--timeout",
                               "120", "app:create_app()"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                status, _ = get(f"http://127.0.0.1:{port}/api/collectors")
                if status == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, server.stdout.read().decode()[-3000:]
            time.sleep(0.5)
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        assert len(workers) == 4
        for _ in range(20):
            status, body = get(f"http://127.0.0.1:{port}/api/servers/status")
            assert status == 200 and len(body["servers"]) == len(make_config_dict(tmp_path)["servers"])
        time.sleep(3)  # with interval_seconds 1 an embedded collector would have stored rounds by now
        with writer.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(rounds)).scalar() == 0
        assert get(f"http://127.0.0.1:{port}/api/collectors") == (200, {"collectors": []})
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        writer.engine.dispose()
        pg_cluster.drop_database(name)
