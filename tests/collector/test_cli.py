"""`python pinger.py` and `python -m collector` end to end, against loopback only."""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.schema import SCHEMA_VERSION
from tests.conftest import make_config_dict

REPO = Path(__file__).resolve().parents[2]


def ipv6_loopback() -> bool:
    """True when ::1 is configured here."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


LOOPBACK = ["127.0.0.1"] + (["::1"] if ipv6_loopback() else [])


def run(args: list[str], cwd: Path, module: bool = False, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run the collector CLI in a child process from cwd."""
    cmd = [sys.executable, "-m", "collector"] if module else [sys.executable, str(REPO / "pinger.py")]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(cmd + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def write_config(folder: Path, data: dict | str, name: str = "config.json") -> Path:
    """Write a config file (a dict as JSON, a str as is) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def loopback_config(tmp_path: Path, **overrides) -> dict:
    """Ping servers on loopback; database and log file relative to the config's folder."""
    servers = [{"partner": f"Loop {i}", "country": "Here", "ip": ip, "dn_ext": "lo.example", "probe": "ping"}
               for i, ip in enumerate(LOOPBACK)]
    data = make_config_dict(tmp_path, servers=servers, ping_count=2, ping_timeout=1,
                            database_path="data/monitor.db", log_file="logs/monitor.log", collector_name="cli-test")
    data.update(overrides)
    return data


def query(db: Path, sql: str) -> list[tuple]:
    """Read the database without writing to it."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# --- invalid configs: exit 2, one line per problem, nothing written ------------------------------

def _bad(tmp_path, path, value):
    data = make_config_dict(tmp_path, database_path="monitor.db", log_file="logs/monitor.log")
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


BAD_CONFIGS = [
    ("injection", lambda t: _bad(t, ["servers", 2, "ip"], "8.8.8.8; reboot"),
     ['servers[2].ip: "8.8.8.8; reboot" is not an IP address or host name']),
    ("flag", lambda t: _bad(t, ["servers", 0, "ip"], "-f"), ['servers[0].ip: "-f" is not an IP address or host name']),
    ("thresholds", lambda t: _bad(t, ["latency_thresholds", "good"], 40),
     ["latency_thresholds.good: 40 must be greater than latency_thresholds.excellent (50);"
      " thresholds must be strictly increasing"]),
    ("probe", lambda t: _bad(t, ["probe"], "icmp"), ['probe: "icmp" is not one of auto, ping, fping, tcp, sip']),
    ("interval", lambda t: _bad(t, ["interval_seconds"], 0), ["interval_seconds: 0 must be a positive number"]),
    ("missing", lambda t: {k: v for k, v in _bad(t, ["ping_count"], 4).items() if k != "servers"},
     ["servers: required key is missing"]),
    ("duplicate", lambda t: _bad(t, ["servers", 1, "ip"], "127.0.0.1"),
     ["servers[1]: duplicate of servers[0] (127.0.0.1)"]),
    ("several", lambda t: dict(_bad(t, ["ping_count"], -1), ping_timeout=0, probe="x"),
     ["ping_count: -1 must be a positive whole number", "ping_timeout: 0 must be a positive number",
      'probe: "x" is not one of auto, ping, fping, tcp, sip']),
]


@pytest.mark.parametrize("make, expected", [b[1:] for b in BAD_CONFIGS], ids=[b[0] for b in BAD_CONFIGS])
def test_a_bad_config_exits_2_naming_each_key_and_writes_nothing(tmp_path, make, expected):
    check_rejected(tmp_path, make(tmp_path), [], expected)


@pytest.mark.parametrize("flags", [["--once"], ["--init-db"], ["--once", "-v"]])
def test_a_bad_config_is_rejected_whatever_the_mode(tmp_path, flags):
    make, expected = BAD_CONFIGS[-1][1:]
    check_rejected(tmp_path, make(tmp_path), flags, expected)


def check_rejected(tmp_path: Path, data: dict, flags: list[str], expected: list[str]) -> None:
    """The CLI exits 2 with exactly the expected error lines and creates nothing beside the config."""
    path = write_config(tmp_path, data)
    result = run(["--config", str(path), *flags], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"config error: {line}" for line in expected]
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]  # no database, no log folder


def test_a_file_that_is_not_json_exits_2_with_line_and_column(tmp_path):
    path = write_config(tmp_path, '{\n  "database_path": "monitor.db",\n  "servers": [,]\n}')
    result = run(["--config", str(path)], cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [f"config error: {path}: not valid JSON: Expecting value at line 3 column 15"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


def test_a_missing_config_file_exits_2(tmp_path):
    result = run(["--config", str(tmp_path / "nope.json")], cwd=tmp_path)
    assert result.returncode == 2 and "cannot read config file" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- --init-db and --once ----------------------------------------------------------------------------

def test_init_db_creates_the_schema_and_exits_0(tmp_path):
    path = write_config(tmp_path / "conf", loopback_config(tmp_path))
    result = run(["--config", str(path), "--init-db"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    db = tmp_path / "conf" / "data" / "monitor.db"
    assert "database ready" in result.stdout and db.exists()
    assert query(db, "SELECT version FROM schema_info") == [(SCHEMA_VERSION,)]
    tables = {r[0] for r in query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"series", "ping_compact", "rounds", "logs", "schema_info"} <= tables
    assert query(db, "SELECT name FROM sqlite_master WHERE type = 'view'") == [("ping_results",)]
    assert query(db, "SELECT COUNT(*) FROM rounds") == [(0,)]


def test_once_pings_loopback_prints_a_table_and_stores_a_round(tmp_path):
    conf = tmp_path / "conf"
    path = write_config(conf, loopback_config(tmp_path))
    result = run(["--config", str(path), "--once"], cwd=tmp_path)  # run from another folder
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["partner", "country", "server", "avg"]
    for i, ip in enumerate(LOOPBACK):
        row = next(line for line in lines if line.startswith(f"Loop {i} "))
        fields = row.split()
        assert fields[3] == ip and fields[5] == "0.0" and fields[7] == "excellent", row
        assert 0 <= float(fields[4]) < 50, row
    assert lines[-1].startswith(f"{len(LOOPBACK)} servers in ")
    db = conf / "data" / "monitor.db"  # relative to the config file, not the working folder
    assert not (tmp_path / "data").exists()
    rows = query(db, "SELECT server_id, probe, success, packets_received, loss_percentage, avg_time, collector, "
                     "round_id FROM ping_results ORDER BY id")
    assert [r[0] for r in rows] == LOOPBACK
    for _, probe, success, received, loss, avg, collector, _ in rows:
        assert (probe, success, received, loss, collector) == ("ping", 1, 2, 0.0, "cli-test")
        assert 0 < avg < 50
    assert query(db, "SELECT id, servers, failures FROM rounds") == [(rows[0][-1], len(LOOPBACK), 0)]
    summary = query(db, "SELECT level, module FROM logs WHERE message LIKE 'round finished%'")
    assert summary == [("INFO", "collector.service")]
    assert "round finished" in (conf / "logs" / "monitor.log").read_text()


def test_python_m_collector_once_works_too(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        servers = [{"partner": "SIP", "country": "Here", "ip": "127.0.0.1", "probe": "tcp", "port": port}]
        path = write_config(tmp_path, loopback_config(tmp_path, servers=servers))
        result = run(["--config", str(path), "--once"], cwd=tmp_path, module=True)
    assert result.returncode == 0, result.stderr
    assert f"127.0.0.1:{port}" in result.stdout
    rows = query(tmp_path / "data" / "monitor.db", "SELECT server_id, probe, success FROM ping_results")
    assert rows == [(f"127.0.0.1:{port}", "tcp", 1)]


# --- running forever, stopped by a signal --------------------------------------------------------

def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("signum, preexec", [
    (signal.SIGTERM, None), (signal.SIGINT, None),
    # A background job of a non-interactive shell (`python pinger.py &` in a script) starts with SIGINT ignored.
    (signal.SIGINT, _ignore_sigint),
], ids=["SIGTERM", "SIGINT", "SIGINT-started-ignored"])
def test_a_running_collector_stops_cleanly_on_a_signal(tmp_path, signum, preexec):
    servers = [{"partner": "Loop", "country": "Here", "ip": "127.0.0.1", "probe": "ping"}]
    path = write_config(tmp_path, loopback_config(tmp_path, servers=servers, ping_count=1, interval_seconds=0.5))
    db = tmp_path / "data" / "monitor.db"
    with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
        proc = subprocess.Popen([sys.executable, str(REPO / "pinger.py"), "--config", str(path)], cwd=tmp_path,
                                stdout=out, stderr=err, preexec_fn=preexec)
        try:
            deadline = time.monotonic() + 20
            stored = 0
            while stored < 2 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.1)
                try:
                    stored = query(db, "SELECT COUNT(*) FROM rounds")[0][0]
                except sqlite3.Error:
                    pass
            assert stored >= 2, (tmp_path / "err.txt").read_text()
            sent = time.monotonic()
            proc.send_signal(signum)
            code = proc.wait(timeout=10)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stderr = (tmp_path / "err.txt").read_text()
    assert code == 0, stderr
    assert took < 5
    assert "collector stopping" in stderr and "Traceback" not in stderr
    # Every stored round is complete: no round without its result row.
    assert query(db, "SELECT COUNT(*) FROM rounds r WHERE NOT EXISTS "
                     "(SELECT 1 FROM ping_results p WHERE p.round_id = r.id)") == [(0,)]


def test_the_once_table_shows_sub_millisecond_rtts_with_two_significant_figures(tmp_path):
    from datetime import datetime

    from collector.cli import format_report
    from collector.measure import measure
    from collector.probes.base import ProbeResult
    from collector.rounds import RoundReport
    from settings import validate_config
    from tests.conftest import make_config_dict
    config = validate_config(make_config_dict(tmp_path))
    m = measure(ProbeResult(transmitted=2, received=2, samples_ms=[0.040, 0.050]), config.thresholds)
    table = format_report(RoundReport(1, datetime(2026, 12, 1), 0.5, [(config.servers[0], m)]))
    row = table.splitlines()[2].split()
    assert row[row.index("127.0.0.1") + 1] == "0.045"  # avg, not "0.0"
    assert row[row.index("127.0.0.1") + 3] == "0.010"  # jitter 0.01 ms
