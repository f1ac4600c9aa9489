"""python app.py: what main() does before it serves."""
from __future__ import annotations

import gc
import json

import waitress

import app as app_module


def test_main_freezes_startup_objects_before_serving(monkeypatch, config_dict, tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config_dict))
    seen = {}

    def fake_serve(server, **options):
        seen.update(options, frozen=gc.get_freeze_count(), server=server)
        seen["running"] = [type(t).__name__ for t in server.extensions[app_module.EXTENSION_KEY].services.threads()
                           if t.is_alive()]

    monkeypatch.setattr(waitress, "serve", fake_serve)
    monkeypatch.setattr(app_module, "configure_logging", lambda *a, **k: None)
    gc.unfreeze()
    try:
        assert app_module.main(["--config", str(path), "--no-collector", "--port", "5999"]) == 0
    finally:
        gc.unfreeze()  # the rest of the suite keeps normal collection
        # main() closes the app when serving returns: no thread it started is left.
        services = seen["server"].extensions[app_module.EXTENSION_KEY].services
        assert services.stale_watcher is not None and services.config_watcher is not None
        assert not [t for t in services.threads() if t.is_alive()]
    assert seen["port"] == 5999 and seen["frozen"] > 10_000
    assert "Prewarmer" in seen["running"]  # the overview is drawn once per round, not in a viewer's request


def test_sigterm_stops_python_app_py_cleanly(tmp_path):
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    from sqlalchemy import create_engine, text

    from tests.conftest import make_config_dict
    repo = Path(__file__).resolve().parents[2]
    data = make_config_dict(tmp_path, servers=[{"partner": "Loop", "country": "Here", "ip": "127.0.0.1",
                                                "probe": "ping"}], ping_count=1, interval_seconds=0.5)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(repo / "app.py"), "--config", str(path), "--port", str(port)],
                            cwd=tmp_path, stderr=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(repo)))
    engine = create_engine(f"sqlite:///{data['database_path']}")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with engine.connect() as conn:
                    if conn.execute(text("SELECT count(*) FROM rounds")).scalar() >= 2:
                        break
            except Exception:  # noqa: BLE001 - the schema may not exist yet
                pass
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "SIGTERM received: stopping" in stderr
    assert "collector stopped after its last round" in stderr
    assert stderr.rstrip().endswith("app: stopped"), stderr[-500:]
    with engine.connect() as conn:  # every stored round is whole: one row for the one server
        counts = conn.execute(text("SELECT r.id, count(p.id) FROM rounds r LEFT JOIN ping_results p "
                                   "ON p.round_id = r.id GROUP BY r.id")).all()
    engine.dispose()
    assert counts and all(n == 1 for _, n in counts)
