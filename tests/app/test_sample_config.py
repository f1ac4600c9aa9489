"""The sample config.json is green wherever it runs: on any machine and with the app on any port.

It once probed localhost:5000 over TCP, the app's own default port, so `python app.py --port 5123` showed
that server DOWN with a critical alert from the first minute. No TCP port listens on every machine, and a
config cannot name the port the app is started on, so the sample probes loopback addresses only, with the
default probe; the README shows a TCP server entry instead."""
from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "config.json"
LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def test_the_sample_probes_only_loopback_and_nothing_that_needs_a_listening_port():
    data = json.loads(SAMPLE.read_text())
    assert data["servers"] and all(is_loopback(s["ip"]) for s in data["servers"])
    assert all(s.get("probe", data.get("probe", "auto")) != "tcp" for s in data["servers"])
    assert len({s["country"] for s in data["servers"]}) >= 4  # still a sample with several countries to compare


def test_the_readme_still_shows_how_to_probe_over_tcp():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = readme.split("<!-- tcp-server-example -->")[1].split("<!-- /tcp-server-example -->")[0]
    entry = json.loads(example.split("```json")[1].split("```")[0])
    assert entry["probe"] == "tcp" and isinstance(entry["port"], int)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def wait_for_first_round(base: str, proc: subprocess.Popen, timeout_seconds: float = 60) -> list[dict]:
    """/api/servers/status once every server has a result, or fail with what the app printed."""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            servers = get_json(f"{base}/api/servers/status")["servers"]
            if servers and all(s["last_check"] for s in servers):
                return servers
        except OSError:
            pass  # not serving yet
        time.sleep(0.5)
    proc.terminate()
    raise AssertionError(f"no complete first round; app output:\n{proc.communicate(timeout=10)[0]}")


def test_the_sample_is_all_up_with_no_alert_when_the_app_runs_on_another_port(tmp_path):
    shutil.copy(SAMPLE, tmp_path / "config.json")  # database and log beside the copy, not in the repo
    port = free_port()
    proc = subprocess.Popen([sys.executable, "app.py", "--config", str(tmp_path / "config.json"), "--port", str(port)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        servers = wait_for_first_round(f"http://127.0.0.1:{port}", proc)
        alerts = get_json(f"http://127.0.0.1:{port}/api/alerts")["alerts"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert {s["id"]: s["status"] for s in servers} == {s["id"]: "up" for s in servers}
    assert len(servers) == len(json.loads(SAMPLE.read_text())["servers"])
    assert alerts == []
