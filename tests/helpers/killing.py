"""pinger.py as a real process on a fast loopback config, killed with SIGKILL at random moments and restarted;
what must hold of the database afterwards. Used by tests/collector/test_reliability_kill.py and
tests/soak/kill_soak.py."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import make_config_dict

REPO = Path(__file__).resolve().parents[2]

SERVERS = 20


def fast_config(folder: Path) -> Path:
    """A config of SERVERS loopback addresses probed every 0.2 s (fping when installed, else ping)."""
    probe = "fping" if shutil.which("fping") else "ping"
    servers = [{"partner": f"Loop {i}", "country": "Here", "ip": f"127.0.0.{i}", "probe": probe}
               for i in range(1, SERVERS + 1)]
    data = make_config_dict(folder, servers=servers, ping_count=1, ping_timeout=1, interval_seconds=0.2,
                            database_path="monitor.db", log_file="monitor.log", collector_name="kill-test")
    path = folder / "config.json"
    path.write_text(json.dumps(data))
    return path


def start(config: Path) -> subprocess.Popen:
    """pinger.py in forever mode."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, str(REPO / "pinger.py"), "--config", str(config)], cwd=config.parent,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def query(db: Path, sql: str):
    """One value from the database, read-only."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def rounds_stored(db: Path) -> int:
    """Rounds in the database (0 while it does not exist yet)."""
    try:
        return query(db, "SELECT COUNT(*) FROM rounds")
    except sqlite3.Error:
        return 0


def wait_for_rounds(db: Path, count: int, proc: subprocess.Popen, timeout: float = 20) -> None:
    """Block until at least `count` rounds are stored; fail with the process's stderr if it dies."""
    deadline = time.monotonic() + timeout
    while rounds_stored(db) < count:
        if proc.poll() is not None:
            raise AssertionError(f"pinger.py exited with {proc.returncode}: {proc.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {count} rounds after {timeout} s")
        time.sleep(0.05)


def soundness(db: Path) -> dict:
    """What must hold after any number of kills: the file is sound and every round is whole."""
    return {
        "integrity_check": query(db, "PRAGMA integrity_check"),
        "rounds_missing_rows": query(db, "SELECT COUNT(*) FROM rounds r WHERE r.servers != "
                                         "(SELECT COUNT(*) FROM ping_results p WHERE p.round_id = r.id)"),
        "rounds_not_full_size": query(db, f"SELECT COUNT(*) FROM rounds WHERE servers != {SERVERS}"),
        "rows_without_round": query(db, "SELECT COUNT(*) FROM ping_results p WHERE NOT EXISTS "
                                        "(SELECT 1 FROM rounds r WHERE r.id = p.round_id)"),
        "failed_rows": query(db, "SELECT COUNT(*) FROM ping_results WHERE success = 0"),  # loopback always answers
    }


SOUND = {"integrity_check": "ok", "rounds_missing_rows": 0, "rounds_not_full_size": 0, "rows_without_round": 0,
         "failed_rows": 0}


def kill_repeatedly(config: Path, kills: int, rng: random.Random) -> list[float]:
    """Start pinger.py and SIGKILL it at a random moment, `kills` times; returns the moments."""
    db = config.parent / "monitor.db"
    moments = []
    for _ in range(kills):
        proc = start(config)
        wait_for_rounds(db, rounds_stored(db) + 1, proc)  # it is running rounds now
        moment = rng.uniform(0.0, 0.6)  # within the next few rounds: probing, writing or waiting
        time.sleep(moment)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        moments.append(round(moment, 2))
    return moments


def carry_on(config: Path, rounds: int = 3) -> None:
    """Start once more after the kills, wait for `rounds` new rounds, stop cleanly."""
    db = config.parent / "monitor.db"
    before = rounds_stored(db)
    proc = start(config)
    wait_for_rounds(db, before + rounds, proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0, proc.stderr.read()
