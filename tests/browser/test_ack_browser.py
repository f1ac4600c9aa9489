"""Acknowledging an alert from the dashboard, in Chromium: the button, the note that replaces it, roles, CSRF."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest
from werkzeug.security import generate_password_hash
from selenium.common.exceptions import ElementClickInterceptedException

from layouts import ids
from settings import validate_config
from storage import open_writer
from storage.alertstore import load_open
from common.timeutil import utcnow
from tests.browser.demo_data import DOWN_SERVER, demo_config_dict, seed_demo

pytest.importorskip("selenium")
PASSWORD = "correct horse battery"
CARD = f"a.{ids.CARD_CLASS}"


def down_alert(engine) -> dict:
    return next(a for a in load_open(engine) if a["server_id"] == DOWN_SERVER and a["kind"] == "down")


def wait_for(predicate, timeout: float = 20, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {message}")


def acknowledge_in_page(dash_duo, alert_id: int, comment: str) -> None:
    """Type the comment into the alert's box and press its Acknowledge button."""
    form = dash_duo.wait_for_element(f"#{ids.WARNINGS} .lm-ack-form[data-alert='{alert_id}']", timeout=20)
    form.find_element("css selector", "input").send_keys(comment)
    button = form.find_element("css selector", "button")
    # The panel can still be moving when the form appears (graphs above it finish drawing), and in CI another
    # element once took the click at the bottom of the window: bring the button to the middle and retry.
    deadline = time.monotonic() + 10
    while True:
        dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        try:
            button.click()
            return
        except ElementClickInterceptedException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_an_operator_acknowledges_from_the_panel_and_a_maintenance_window_badges_the_card(dash_duo, demo_app, demo):
    writer = open_writer(demo.database_target())
    alert_id = down_alert(writer.engine)["id"]
    dash_duo.start_server(demo_app)
    acknowledge_in_page(dash_duo, alert_id, "carrier ticket 5521")
    note = dash_duo.wait_for_element(f"#{ids.WARNINGS} .lm-ack-note[data-alert='{alert_id}']", timeout=20)
    assert "Acknowledged by anonymous@127.0.0.1" in note.text and "carrier ticket 5521" in note.text
    stored = down_alert(writer.engine)
    assert stored["state"] == "open" and stored["acknowledged_by"] == "anonymous@127.0.0.1"

    # A window through the API (this test runs on loopback, so it may write without auth) badges the card.
    window = {"server": DOWN_SERVER, "start": "2020-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z",
              "comment": "fibre repair"}
    request = urllib.request.Request(f"{dash_duo.server_url}/api/maintenance", data=json.dumps(window).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    assert urllib.request.urlopen(request, timeout=10).status == 201
    dash_duo.driver.refresh()
    badge = dash_duo.wait_for_element(f"{CARD} [data-server='{DOWN_SERVER}'] .lm-badge-maintenance", timeout=20)
    assert badge.text.strip().lower() == "maintenance" and badge.get_attribute("title") == "fibre repair"
    assert dash_duo.get_logs() == [], dash_duo.get_logs()
    writer.engine.dispose()


@pytest.fixture
def secured_app(tmp_path):
    """The demo dashboard behind a login with an operator and a viewer."""
    from app import create_app
    hashed = generate_password_hash(PASSWORD)
    config = validate_config(demo_config_dict(tmp_path / "demo.db", auth={
        "users": [{"username": "noc", "password_hash": hashed, "role": "operator"},
                  {"username": "boss", "password_hash": hashed, "role": "viewer"}],
        "secret_key": "k" * 40}), source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    seed_demo(writer, config, utcnow().replace(microsecond=0))
    app = create_app(config, start_collector=False, writer=writer)
    yield app, writer
    app.close()
    writer.engine.dispose()


def log_in(dash_duo, username: str) -> None:
    dash_duo.driver.get(f"{dash_duo.server.url.rstrip('/')}/login")  # (setting server_url would wait for Dash)
    dash_duo.driver.find_element("id", "username").send_keys(username)
    dash_duo.driver.find_element("id", "password").send_keys(PASSWORD)
    dash_duo.driver.find_element("id", "login-submit").click()


def test_a_viewer_cannot_acknowledge_and_an_operator_can_through_the_csrf_checked_callback(dash_duo, secured_app):
    app, writer = secured_app
    alert_id = down_alert(writer.engine)["id"]
    dash_duo.server(app)  # not start_server(): it waits for the dashboard, and "/" first redirects to /login
    log_in(dash_duo, "boss")
    acknowledge_in_page(dash_duo, alert_id, "I am only looking")
    refused = dash_duo.wait_for_element(f"#{ids.WARNINGS} .lm-notice", timeout=20)
    assert "boss may not acknowledge alerts" in refused.text
    assert down_alert(writer.engine)["acknowledged_at"] is None

    # Leave the page, then forget every cookie. A callback of the page can still be running (the RTT spread is
    # drawn after the latency graph) and Chromium keeps what its answer sets even after the page is gone: the
    # session cookie is therefore sent only by login and logout (security.configure_sessions), or the viewer's
    # session would come back and the next login's form token would not match it (400).
    dash_duo.driver.get("about:blank")
    dash_duo.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    log_in(dash_duo, "noc")
    acknowledge_in_page(dash_duo, alert_id, "on it")
    note = dash_duo.wait_for_element(f"#{ids.WARNINGS} .lm-ack-note[data-alert='{alert_id}']", timeout=20)
    assert "Acknowledged by noc" in note.text
    assert down_alert(writer.engine)["acknowledged_by"] == "noc"
