"""A broken probe fails only its own servers, and config values that would reach a command line are refused.

Real probes, real subprocesses: a `ping` that kills itself (SIGKILL, as the OOM killer would), an `fping`
that is not installed, a name that does not resolve, next to a TCP server that answers.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from settings import validate_config
from collector.service import Collector
from storage.schema import ping_results
from tests.conftest import make_config_dict

REPO = Path(__file__).resolve().parents[2]
SUICIDAL = "#!/bin/sh\nkill -9 $$\n"


def fake_bin(folder: Path, **scripts: str) -> Path:
    """A folder of executable shell scripts, e.g. fake_bin(path, ping='...')."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        path = folder / name
        path.write_text(body)
        path.chmod(0o755)
    return folder


@pytest.fixture
def listener():
    """A TCP port on 127.0.0.1 that accepts connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


def test_each_broken_probe_fails_only_its_servers_with_a_clear_error(tmp_path, monkeypatch, listener, caplog):
    # Only the fake folder on PATH: its ping kills itself and there is no fping at all.
    monkeypatch.setenv("PATH", str(fake_bin(tmp_path / "bin", ping=SUICIDAL)))
    servers = [{"partner": "Killed", "country": "A", "ip": "127.0.0.1", "probe": "ping"},
               {"partner": "Missing", "country": "B", "ip": "127.0.0.2", "probe": "fping"},
               {"partner": "Unresolvable", "country": "C", "ip": "no-such-host.invalid", "probe": "tcp", "port": 5060},
               {"partner": "Works", "country": "D", "ip": "127.0.0.1", "probe": "tcp", "port": listener}]
    config = validate_config(make_config_dict(tmp_path, servers=servers, ping_count=2, ping_timeout=1),
                             source=str(tmp_path / "config.json"))
    from storage import open_writer
    writer = open_writer(config.database_target())
    collector = Collector(config, writer, name="lab")
    with caplog.at_level(logging.WARNING, logger="collector.alerts"):
        for _ in range(2):  # an alert (one log line per server) opens after rounds_to_open = 2 bad rounds
            collector.run_round()
    with writer.engine.connect() as conn:
        rows = {r.partner: r for r in conn.execute(select(ping_results).where(ping_results.c.round_id == 2))}
    writer.engine.dispose()
    assert rows["Killed"].error == "ping exited with code -9 and printed nothing"
    assert rows["Missing"].error == "fping binary not found (install fping or use probe: ping)"
    assert rows["Unresolvable"].error.startswith("unknown host: no-such-host.invalid")
    assert rows["Works"].success and rows["Works"].error is None and rows["Works"].packets_received == 2
    for partner in ("Killed", "Missing", "Unresolvable"):
        assert not rows[partner].success and rows[partner].loss_percentage == 100.0
        opened = [m for m in (r.getMessage() for r in caplog.records) if "alert opened" in m and partner in m]
        assert len(opened) == 1 and rows[partner].error in opened[0], opened
    assert not any("Works" in r.getMessage() for r in caplog.records)


# -- values that would reach a command line are refused before anything runs -----------------------------

RECORDER = "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/ran.txt\"\nexit 0\n"


def injection_configs(tmp_path: Path) -> list:
    """(id, config change, expected error line) for each attempt."""
    pwned = tmp_path / "pwned"
    return [
        ("flag-as-host", {"servers": [{"partner": "P", "country": "C", "ip": "-f 127.0.0.1", "probe": "ping"}]},
         'servers[0].ip: "-f 127.0.0.1" is not an IP address or host name'),
        ("shell-in-host", {"servers": [{"partner": "P", "country": "C", "ip": f"127.0.0.1; touch {pwned}",
                                        "probe": "ping"}]},
         f'servers[0].ip: "127.0.0.1; touch {pwned}" is not an IP address or host name'),
        ("shell-in-flag", {"unix_params": {"os": "unix", "count_param": "-c; rm", "timeout_param": "-W"}},
         'unix_params.count_param: "-c; rm" must be a single ping flag such as "-c"'),
        ("flag-as-control-target", {"control_targets": ["--help"]},
         'control_targets[0]: "--help" is not an IP address or host name'),
    ]


@pytest.mark.parametrize("case", range(4), ids=["flag-as-host", "shell-in-host", "shell-in-flag",
                                                "flag-as-control-target"])
@pytest.mark.parametrize("flags", [[], ["--once"]], ids=["forever", "once"])
def test_command_line_injection_in_the_config_exits_2_and_runs_nothing(tmp_path, case, flags):
    _, change, expected = injection_configs(tmp_path)[case]
    folder = tmp_path / "conf"
    folder.mkdir()
    data = make_config_dict(folder, database_path="monitor.db", **change)
    (folder / "config.json").write_text(json.dumps(data))
    bin_dir = fake_bin(tmp_path / "bin", ping=RECORDER, fping=RECORDER)
    env = dict(os.environ, PYTHONPATH=str(REPO), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run([sys.executable, str(REPO / "pinger.py"), "--config", str(folder / "config.json"), *flags],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [f"config error: {expected}"]
    assert not (tmp_path / "pwned").exists()
    assert not (bin_dir / "ran.txt").exists(), "a probe ran"
    assert sorted(p.name for p in folder.iterdir()) == ["config.json"]  # no database, no log
