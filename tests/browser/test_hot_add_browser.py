"""A server added to config.json of a running app (issue 16's first bug), in Chromium at 1600 x 1200: the real
collector pings loopback, the real stale and config watchers run, and the new servers appear on the overview
without a reload, first as unknown and then measured, and never with a stale alert, although the app has run
longer than stale_after_seconds when they are added (the bug counted from the app's start)."""
from __future__ import annotations

import json
import time

import pytest
import requests
from selenium.webdriver.support.ui import Select
from sqlalchemy import func, select

from layouts import ids
from storage.schema import alerts, rounds
from tests.helpers.waiting import wait_for

pytest.importorskip("selenium")
STALE_AFTER_SECONDS = 8
INTERVAL_SECONDS = 5  # a new server waits up to one interval for its first round: shorter than stale_after
ADDED = ("127.0.0.9", "127.0.0.10")
TILE_STATES = ("return Object.fromEntries(Array.from(document.querySelectorAll('#lm-cards [data-server]'))"
               ".map(e => [e.dataset.server, e.dataset.state]))")


@pytest.fixture
def running_app(tmp_path):
    """`python app.py` on a config file: the embedded collector, the stale watcher and a fast config watcher."""
    from app import create_app
    path = tmp_path / "config.json"
    raw = {"database_path": str(tmp_path / "hot.db"), "log_file": None, "ping_count": 1, "ping_timeout": 1,
           "interval_seconds": INTERVAL_SECONDS, "stale_after_seconds": STALE_AFTER_SECONDS,
           "latency_thresholds": {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500},
           "servers": [{"partner": "Nairobi Voice", "country": "Kenya", "ip": "127.0.0.1"}]}
    path.write_text(json.dumps(raw), encoding="utf-8")
    dash_app = create_app(str(path), start_collector=True)
    dash_app.runtime.services.start_config_watcher(interval_seconds=0.3)
    yield dash_app, path, raw
    dash_app.close()


def kinds_of_alerts(engine) -> list[str]:
    """The kind of every alert stored, open or resolved."""
    with engine.connect() as conn:
        return [r.kind for r in conn.execute(select(alerts.c.kind))]


def round_count(engine) -> int:
    """How many rounds the collector has stored."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(rounds)).scalar_one()


def test_servers_added_while_running_are_unknown_then_measured_and_never_stale(dash_duo, running_app):
    dash_app, path, raw = running_app
    engine = dash_app.runtime.writer.engine
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element("#lm-cards [data-server]", timeout=30)
    Select(dash_duo.find_element(f"#{ids.REFRESH_SELECT}")).select_by_value("10")
    time.sleep(STALE_AFTER_SECONDS + 3)  # the app has now run longer than stale_after_seconds
    # Add them right after a round is stored, so the stale watcher (every 1.6 s) looks at them at least once
    # before the collector's next round measures them: the moment the bug opened its false alert.
    done = round_count(engine)
    wait_for(lambda: round_count(engine) > done, what="a round stored", timeout=30)
    raw["servers"] += [{"partner": "Accra Telecom", "country": "Ghana", "ip": ip} for ip in ADDED]
    path.write_text(json.dumps(raw), encoding="utf-8")
    wait_for(lambda: len(dash_app.runtime.config.servers) == 3, what="the config reloaded", timeout=20)
    # Before their first round they are unknown (the next round is seconds away).
    status = requests.get(f"{dash_duo.server_url}/api/servers/status", timeout=10).json()
    assert {s["id"]: s["status"] for s in status["servers"] if s["id"] in ADDED} == \
        dict.fromkeys(ADDED, "unknown"), status
    url = dash_duo.driver.current_url
    states = wait_for(lambda: (s := dash_duo.driver.execute_script(TILE_STATES)) and all(
        s.get(ip) == "excellent" for ip in ADDED) and s, what="both new servers measured on the overview",
        timeout=90)
    assert dash_duo.driver.current_url == url  # they arrived without a reload
    assert states["127.0.0.1"] == "excellent"
    # Past stale_after_seconds from the addition, still no stale alert: not in the store, not in the feed.
    time.sleep(STALE_AFTER_SECONDS)
    assert "stale" not in kinds_of_alerts(engine)
    feed = dash_duo.driver.execute_script(f"return document.getElementById('{ids.ALERT_FEED}').innerText")
    assert "stale" not in feed.lower() and "no result" not in feed.lower(), feed
    assert dash_duo.get_logs() == [], dash_duo.get_logs()
