"""config.json edited while running: reloaded without a restart, or, when invalid, the old one kept with one error."""
from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from app import create_app
from settings import load_config, validate_config
from collector.reload import ConfigWatcher
from collector.service import Collector
from runtime import EXTENSION_KEY
from storage.schema import ping_results
from tests.conftest import SERVERS, make_config_dict
from tests.helpers.fakes import FakeFactory, replies
from tests.helpers.ports import free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
NEW_SERVER = {"partner": "Atlas Voice", "country": "Morocco", "ip": "127.0.0.9", "dn_ext": "sip.atlas.example"}


def write(path: Path, data: dict | str) -> None:
    """Replace the file's content and make sure its mtime moves (some file systems tick in whole seconds)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


@pytest.fixture
def config_file(tmp_path) -> Path:
    """config.json in tmp_path with the four test servers."""
    path = tmp_path / "config.json"
    write(path, make_config_dict(tmp_path))
    return path


def watcher_for(path: Path, applied: list) -> ConfigWatcher:
    """A watcher on path that records what it applies."""
    return ConfigWatcher(path, load_config(path), applied.append)


def errors(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "collector.reload" and r.levelno >= logging.ERROR]


# -- the watcher ------------------------------------------------------------------------------------------

def test_an_unchanged_or_only_touched_file_is_not_reloaded(config_file):
    applied = []
    watcher = watcher_for(config_file, applied)
    assert watcher.check_once() is None
    write(config_file, config_file.read_text())  # same bytes, new mtime (an editor's save without changes)
    assert watcher.check_once() is None and applied == []


def test_a_valid_edit_is_applied_with_a_summary(config_file, caplog):
    applied = []
    watcher = watcher_for(config_file, applied)
    data = json.loads(config_file.read_text())
    data["servers"] = data["servers"][1:] + [NEW_SERVER]
    data["interval_seconds"] = 30
    write(config_file, data)
    with caplog.at_level(logging.INFO, logger="collector.reload"):
        new = watcher.check_once()
    assert applied == [new] and [s.ip for s in new.servers] == [s["ip"] for s in data["servers"]]
    assert new.interval_seconds == 30
    assert (f"config file {config_file} changed; reloading: 4 servers (1 added, 1 removed); "
            "changed: interval_seconds") in [r.getMessage() for r in caplog.records]
    assert watcher.check_once() is None  # applied once


def test_an_invalid_edit_keeps_the_old_config_with_one_error(config_file, caplog):
    applied = []
    watcher = watcher_for(config_file, applied)
    data = json.loads(config_file.read_text())
    with caplog.at_level(logging.INFO, logger="collector.reload"):
        write(config_file, json.dumps(dict(data, ping_count=0, servers=data["servers"] + [dict(NEW_SERVER, ip="-f")])))
        assert watcher.check_once() is None
        os.utime(config_file, ns=(time.time_ns() + 10**9,) * 2)  # polled again, still the same bad content
        assert watcher.check_once() is None
        write(config_file, "{ not json")
        assert watcher.check_once() is None
        write(config_file, json.dumps(dict(data, servers=data["servers"] + [NEW_SERVER])))  # fixed
        fixed = watcher.check_once()
    assert [c.servers[-1].ip for c in applied] == ["127.0.0.9"] and applied == [fixed]
    found = errors(caplog)
    assert len(found) == 2, found  # one per bad version of the file, not one per poll
    assert found[0] == (f"config file {config_file} changed but is invalid, so the running config is kept: "
                        'ping_count: 0 must be a positive whole number; '
                        'servers[4].ip: "-f" is not an IP address or host name')
    assert "not valid JSON" in found[1]


def test_a_new_database_location_needs_a_restart_and_the_old_one_is_kept(config_file, tmp_path, caplog):
    applied = []
    watcher = watcher_for(config_file, applied)
    old_path = json.loads(config_file.read_text())["database_path"]
    data = dict(json.loads(config_file.read_text()), database_path=str(tmp_path / "elsewhere.db"), ping_count=2)
    write(config_file, data)
    with caplog.at_level(logging.INFO, logger="collector.reload"):
        new = watcher.check_once()
    assert new.raw["database_path"] == old_path and new.ping_count == 2  # the rest is applied
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"config file {config_file}: database_path changed, which takes effect only after a "
                        f"restart; keeping database_path={old_path!r}"]
    assert not (tmp_path / "elsewhere.db").exists()


# -- the collector ----------------------------------------------------------------------------------------

def test_the_collector_probes_new_servers_from_the_next_round_and_keeps_history(config_file, writer):
    config = load_config(config_file)
    factory = FakeFactory()
    collector = Collector(config, writer, probe_factory=factory, auto_kind="ping", name="lab")
    collector.run_round()
    data = json.loads(config_file.read_text())
    data["servers"] = data["servers"][2:] + [NEW_SERVER]
    write(config_file, data)
    collector.reload(load_config(config_file))
    collector.run_round()
    with writer.engine.connect() as conn:
        by_round = [(r.round_id, r.server_id) for r in conn.execute(select(ping_results).order_by(ping_results.c.id))]
    assert by_round == [(1, s["ip"]) for s in SERVERS] + [(2, "127.0.0.3"), (2, "127.0.0.4"), (2, "127.0.0.9")]
    assert factory.calls[-1][1] == ["127.0.0.3", "127.0.0.4", "127.0.0.9"]


def test_a_reload_during_a_round_waits_for_the_next_one(config_file, writer):
    config = load_config(config_file)
    entered, release = threading.Event(), threading.Event()
    factory = FakeFactory()

    def slow(targets):
        entered.set()
        release.wait(5)
        return {t.server_id: replies() for t in targets}

    factory.outcomes["ping"] = slow
    collector = Collector(config, writer, probe_factory=factory, auto_kind="ping")
    first = {}
    worker = threading.Thread(target=lambda: first.update(report=collector.run_round()))
    worker.start()
    assert entered.wait(5)
    collector.reload(validate_config(dict(config.raw, servers=[NEW_SERVER]), source=config.source))
    release.set()
    worker.join(5)
    assert len(first["report"].results) == 4  # the round in progress kept its servers
    assert [s.id for s, _ in collector.run_round().results] == ["127.0.0.9"]  # the next one uses the new config


# -- the web app and pinger.py ----------------------------------------------------------------------------

def test_the_app_switches_routes_stale_watcher_and_collector_to_the_new_config(config_file, writer):
    app = create_app(load_config(config_file), start_collector=False)
    runtime = app.server.extensions[EXTENSION_KEY]
    runtime.collector = Collector(runtime.config, runtime.writer, probe_factory=FakeFactory(), auto_kind="ping")
    from runtime.stale import StaleWatcher
    runtime.services.stale_watcher = StaleWatcher(runtime.config, runtime.writer, runtime.read_engine)
    watcher = runtime.services.start_config_watcher(interval_seconds=3600)  # polled by hand below
    try:
        data = json.loads(config_file.read_text())
        write(config_file, dict(data, servers=data["servers"] + [NEW_SERVER], stale_after_seconds=120))
        assert watcher.check_once() is not None
        client = app.server.test_client()
        listed = [s["id"] for s in client.get("/api/servers/status").get_json()["servers"]]
        assert listed[-1] == "127.0.0.9" and len(listed) == 5
        assert "127.0.0.9" in client.get("/metrics").get_data(as_text=True)
        stale = runtime.services.stale_watcher
        assert len(stale.config.servers) == 5 and stale.interval_seconds == 24
        report = runtime.collector.run_round()
        assert [s.id for s, _ in report.results][-1] == "127.0.0.9"
    finally:
        app.close()


def test_apply_config_without_a_collector_updates_the_routes(app, config):
    app.runtime.services.reload(validate_config(dict(config.raw, servers=[NEW_SERVER]), source=config.source))
    listed = app.server.test_client().get("/api/servers/status").get_json()["servers"]
    assert [s["id"] for s in listed] == ["127.0.0.9"]


def test_pinger_forever_reloads_an_edited_config_file(tmp_path):
    path = tmp_path / "config.json"
    first = [{"partner": "Loop", "country": "Here", "ip": "127.0.0.1", "probe": "ping"}]
    data = make_config_dict(tmp_path, servers=first, ping_count=1, interval_seconds=0.3, database_path="m.db")
    write(path, data)
    proc = subprocess.Popen([sys.executable, str(REPO / "pinger.py"), "--config", str(path)], cwd=tmp_path,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), stderr=subprocess.PIPE, text=True)
    try:
        wait_for_ids(tmp_path / "m.db", {"127.0.0.1"})
        write(path, "{ broken")  # logged once, the running config stays
        time.sleep(3.5)  # more than one poll (every 3 s)
        write(path, dict(data, servers=first + [dict(first[0], partner="Second", ip="127.0.0.2")]))
        wait_for_ids(tmp_path / "m.db", {"127.0.0.1", "127.0.0.2"}, timeout=15)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
    stderr = proc.stderr.read()
    assert code == 0, stderr
    assert stderr.count("changed but is invalid") == 1, stderr
    assert "changed; reloading: 2 servers (1 added, 0 removed)" in stderr


def wait_for_ids(db: Path, ids: set[str], timeout: float = 15) -> None:
    """Wait until the newest round has results for exactly these server ids."""
    deadline = time.monotonic() + timeout
    found = set()
    while time.monotonic() < deadline:
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            found = {r[0] for r in conn.execute("SELECT server_id FROM ping_results WHERE round_id = "
                                                "(SELECT MAX(id) FROM rounds)")}
            conn.close()
        except sqlite3.Error:
            pass
        if found == ids:
            return
        time.sleep(0.1)
    raise AssertionError(f"newest round has {found}, expected {ids}")


def test_python_app_py_reloads_an_edited_config_file(tmp_path):
    path = tmp_path / "config.json"
    first = [{"partner": "Loop", "country": "Here", "ip": "127.0.0.1", "probe": "ping"}]
    data = make_config_dict(tmp_path, servers=first, ping_count=1, interval_seconds=0.3, database_path="m.db")
    write(path, data)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--config", str(path), "--port", str(port)],
                            cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO)), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True)
    try:
        wait_for_port(port)
        wait_for_ids(tmp_path / "m.db", {"127.0.0.1"})
        write(path, dict(data, servers=first + [dict(first[0], partner="Second", ip="127.0.0.2")]))
        wait_for_ids(tmp_path / "m.db", {"127.0.0.1", "127.0.0.2"})  # the embedded collector probes it
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/servers/status", timeout=30) as response:
            listed = [s["id"] for s in json.load(response)["servers"]]
        assert listed == ["127.0.0.1", "127.0.0.2"]  # and the routes list it
    finally:
        proc.terminate()
        proc.wait(10)
    assert "changed; reloading: 2 servers (1 added, 0 removed)" in proc.stderr.read()


def test_an_invalid_edit_is_reported_by_healthz_and_the_dashboard_until_fixed(config_file):
    from callbacks import overview as overview_cb
    app = create_app(load_config(config_file), start_collector=False)
    watcher = app.runtime.services.start_config_watcher(interval_seconds=3600)  # polled by hand below
    client = app.server.test_client()
    try:
        assert client.get("/healthz").get_json()["config"] == {"status": "ok", "error": None}
        data = json.loads(config_file.read_text())
        write(config_file, dict(data, ping_count=0))
        assert watcher.check_once() is None
        response = client.get("/healthz")
        assert response.status_code == 200  # the old config keeps serving
        assert response.get_json()["config"] == {"status": "error",
                                                 "error": "ping_count: 0 must be a positive whole number"}
        with app.server.test_request_context():
            shown = str(overview_cb.startup_notice(None, app.runtime, None))
        assert "config file is invalid" in shown and "ping_count: 0 must be a positive whole number" in shown
        write(config_file, dict(data, ping_count=2))
        assert watcher.check_once().ping_count == 2
        assert client.get("/healthz").get_json()["config"] == {"status": "ok", "error": None}
        write(config_file, dict(data, ping_count=0))
        watcher.check_once()
        write(config_file, dict(data, ping_count=2))  # the invalid edit undone: the running config's bytes again
        assert watcher.check_once() is None
        assert client.get("/healthz").get_json()["config"]["status"] == "ok"
    finally:
        app.close()
