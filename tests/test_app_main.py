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
