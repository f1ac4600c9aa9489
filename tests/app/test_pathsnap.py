"""Path snapshots: the real mtr against a host behind a router hop, in network namespaces this test builds."""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time

import pytest

from collector.pathsnap import PathSnapshotter, path_command, take_snapshot
from tests.netlab import netlab_available

AVAILABLE, REASON = netlab_available()
needs_lab = pytest.mark.skipif(not AVAILABLE, reason=REASON)
needs_mtr = pytest.mark.skipif(shutil.which("mtr") is None, reason="mtr is not installed (apt-get install mtr-tiny)")
ROUTER_NEAR, ROUTER_FAR, HOST = "10.79.0.2", "10.79.1.1", "10.79.1.2"


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def routed_host():
    """root 10.79.0.1 -- (router ns: 10.79.0.2 | 10.79.1.1, forwarding) -- (host ns: 10.79.1.2): one router hop."""
    token = secrets.token_hex(3)
    router, host = f"pathsnap-r-{os.getpid()}-{token}", f"pathsnap-h-{os.getpid()}-{token}"
    a_root, a_router, b_router, b_host = (f"ps{x}{token}" for x in "abcd")
    try:
        ip("netns", "add", router)
        ip("netns", "add", host)
        ip("link", "add", a_root, "type", "veth", "peer", "name", a_router, "netns", router)
        ip("-n", router, "link", "add", b_router, "type", "veth", "peer", "name", b_host, "netns", host)
        ip("addr", "add", "10.79.0.1/24", "dev", a_root)
        ip("link", "set", a_root, "up")
        ip("-n", router, "addr", "add", f"{ROUTER_NEAR}/24", "dev", a_router)
        ip("-n", router, "addr", "add", f"{ROUTER_FAR}/24", "dev", b_router)
        for name in (a_router, b_router, "lo"):
            ip("-n", router, "link", "set", name, "up")
        ip("netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        ip("-n", host, "addr", "add", f"{HOST}/24", "dev", b_host)
        ip("-n", host, "link", "set", b_host, "up")
        ip("-n", host, "link", "set", "lo", "up")
        ip("-n", host, "route", "add", "default", "via", ROUTER_FAR)
        ip("route", "replace", "10.79.1.0/24", "via", ROUTER_NEAR, "dev", a_root)
        yield HOST
    finally:
        subprocess.run(["ip", "link", "del", a_root], capture_output=True)  # drops the route through it
        for ns in (router, host):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@needs_lab
@needs_mtr
def test_mtr_reports_the_router_hop_then_the_host(routed_host):
    report = take_snapshot(routed_host, timeout_seconds=30)
    assert report.startswith("$ ") and "mtr --report" in report.splitlines()[0]
    hops = [line.split()[1] for line in report.splitlines() if "|--" in line]
    assert hops == [ROUTER_NEAR, HOST], report


@needs_lab
@needs_mtr
def test_a_snapshot_is_bounded_by_its_timeout(routed_host):
    started = time.monotonic()
    report = take_snapshot(routed_host, timeout_seconds=0.5)  # three cycles take about three seconds
    assert time.monotonic() - started < 2.0
    assert "(timed out after 0.5 s)" in report


def test_traceroute_is_used_where_mtr_is_missing_and_a_note_where_neither_is():
    only_traceroute = {"traceroute": "/usr/sbin/traceroute"}.get
    assert path_command("192.0.2.1", only_traceroute)[0] == "/usr/sbin/traceroute"
    assert path_command("192.0.2.1", lambda name: None) is None
    assert "install mtr-tiny" in take_snapshot("192.0.2.1", which=lambda name: None)


def test_the_snapshotter_runs_off_the_callers_thread_and_caps_its_queue():
    import threading
    release, seen = threading.Event(), []

    def slow(host, timeout_seconds):
        release.wait(5)
        return f"report of {host}"

    snapshotter = PathSnapshotter(workers=1, snapshot=slow)
    started = time.monotonic()
    accepted = [snapshotter.submit(f"h{i}", seen.append) for i in range(40)]
    assert time.monotonic() - started < 0.5  # submit never waits for a snapshot
    assert accepted.count(True) == 32 and accepted[32:] == [False] * 8
    release.set()
    assert snapshotter.wait_idle(10) and len(seen) == 32 and seen[0] == "report of h0"
    snapshotter.close()


@needs_lab
@needs_mtr
def test_a_down_alert_stores_the_path_and_the_api_shows_it(routed_host, tmp_path, receiver):
    from settings import validate_config
    from storage import open_writer
    from tests.conftest import make_config_dict
    from tests.helpers.lab import Lab
    from tests.helpers.alerts import silent
    from app import create_app

    servers = [{"partner": "Behind Router", "country": "Lab", "ip": routed_host, "dn_ext": ""}]
    config = validate_config(make_config_dict(tmp_path, servers=servers,
                                              notifications=[{"url": receiver.url(), "min_severity": "warning"}]))
    writer = open_writer(config.database_target())
    lab = Lab(config, writer)
    app = create_app(config, start_collector=False, writer=writer)
    try:
        lab.plan(rounds=2)
        started = time.monotonic()
        lab.round(silent())
        lab.round(silent())
        assert time.monotonic() - started < 2.0  # the rounds did not wait for mtr
        assert lab.collector.alerts.snapshotter.wait_idle(30)
        (alert,) = app.server.test_client().get("/api/alerts").get_json()["alerts"]
        assert alert["kind"] == "down"
        hops = [line.split()[1] for line in alert["path_snapshot"].splitlines() if "|--" in line]
        assert hops == [ROUTER_NEAR, routed_host]
    finally:
        lab.collector.stop(timeout=5)
        app.close()
        writer.engine.dispose()
