"""Writes need rights: viewer users and tokens, anonymous clients and forged session posts never write."""
from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug.security import generate_password_hash

from common.timeutil import utcnow
from settings import validate_config
from storage import open_writer
from storage.alertstore import load_open
from storage.maintenance import load_windows
from tests.conftest import make_config_dict
from tests.helpers.alerts import store_alert
from tests.helpers.auth import PASSWORD, clear_secret_environment, login

HASH = generate_password_hash(PASSWORD)
VIEWER_TOKEN, OPERATOR_TOKEN, LEGACY_TOKEN = "viewer-tok-4f9c2b7e1d8a", "operator-tok-7e1d8a6035", "legacy-tok-1d8a6035aa"
AUTH = {"users": [{"username": "ops", "password_hash": HASH, "role": "operator"},
                  {"username": "watcher", "password_hash": HASH, "role": "viewer"},
                  {"username": "old", "password_hash": HASH}],  # no role: a config from before roles -> viewer
        "api_token": LEGACY_TOKEN,
        "api_tokens": [{"name": "grafana", "token": VIEWER_TOKEN, "role": "viewer"},
                       {"name": "noc-bot", "token": OPERATOR_TOKEN, "role": "operator"}]}
WINDOW = {"country": "Kenya", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z", "comment": "test"}


@pytest.fixture
def secured(tmp_path, monkeypatch):
    """(app, writer, alert id) of an app with users and tokens of both roles, and one open alert."""
    from app import create_app
    clear_secret_environment(monkeypatch)
    config = validate_config(make_config_dict(tmp_path, auth=AUTH), source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    store_alert(writer, config, 0, "latency", "critical", 612.0, utcnow() - timedelta(minutes=5))
    app = create_app(config, start_collector=False, writer=writer)
    (alert,) = load_open(writer.engine)
    yield app, writer, alert["id"]
    app.close()
    writer.engine.dispose()


def nothing_written(writer) -> bool:
    """No acknowledgement and no window stored."""
    return load_open(writer.engine)[0]["acknowledged_at"] is None and load_windows(writer.engine) == []


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_viewers_and_anonymous_clients_get_401_or_403_and_write_nothing(secured):
    app, writer, alert_id = secured
    client = app.server.test_client()
    ack = f"/api/alerts/{alert_id}/ack"
    assert client.post(ack, json={"comment": "x"}).status_code == 401
    assert client.post("/api/maintenance", json=WINDOW).status_code == 401
    assert client.delete("/api/maintenance/1").status_code == 401
    for token in (VIEWER_TOKEN, LEGACY_TOKEN):
        response = client.post(ack, json={"comment": "x"}, headers=bearer(token))
        assert response.status_code == 403 and "operator" in response.get_json()["error"]
        assert client.post("/api/maintenance", json=WINDOW, headers=bearer(token)).status_code == 403
        assert client.get("/api/maintenance", headers=bearer(token)).status_code == 200  # reading is fine
    assert client.post(ack, json={"comment": "x"}, headers=bearer("not-a-token-at-all-xx")).status_code == 401
    for user in ("watcher", "old"):
        session = app.server.test_client()
        login(session, username=user)
        session.get("/")
        csrf = session.get_cookie("_csrf_token")
        assert csrf is not None
        headers = {"X-CSRF-Token": csrf.value}
        assert session.post(ack, json={"comment": "x"}, headers=headers).status_code == 403
        assert session.post("/api/maintenance", json=WINDOW, headers=headers).status_code == 403
    assert nothing_written(writer)


def test_an_operator_session_needs_the_csrf_token(secured):
    app, writer, alert_id = secured
    client = app.server.test_client()
    login(client, username="ops")
    client.get("/")  # the dashboard page hands the browser its _csrf_token cookie
    cookie = client.get_cookie("_csrf_token")
    assert cookie is not None and cookie.same_site == "Strict" and not cookie.http_only
    ack = f"/api/alerts/{alert_id}/ack"
    assert client.post(ack, json={"comment": "x"}).status_code == 403
    assert client.post(ack, json={"comment": "x"}, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert nothing_written(writer)
    response = client.post(ack, json={"comment": "router swap"}, headers={"X-CSRF-Token": cookie.value})
    assert response.status_code == 200
    assert response.get_json()["alert"]["acknowledgement"]["by"] == "ops"
    # Dash callbacks of a logged-in browser carry it too (the renderer copies the cookie into X-CSRFToken).
    assert client.post("/_dash-update-component", json={}).status_code == 403


def test_an_operator_token_writes_and_the_write_is_logged_with_its_name(secured, caplog):
    app, writer, alert_id = secured
    client = app.server.test_client()
    with caplog.at_level("INFO", logger="api.writes"):
        response = client.post(f"/api/alerts/{alert_id}/ack", json={"comment": "seen"}, headers=bearer(OPERATOR_TOKEN))
        assert response.status_code == 200
        created = client.post("/api/maintenance", json=WINDOW, headers=bearer(OPERATOR_TOKEN))
        assert created.status_code == 201 and created.get_json()["window"]["created_by"] == "noc-bot"
        window_id = created.get_json()["window"]["id"]
        assert client.delete(f"/api/maintenance/{window_id}", headers=bearer(OPERATOR_TOKEN)).status_code == 204
    lines = [r.getMessage() for r in caplog.records if r.name == "api.writes"]
    assert lines[0] == f"alert {alert_id} acknowledged by noc-bot: seen"
    assert lines[1].startswith(f"maintenance window {window_id} added by noc-bot")
    assert lines[2] == f"maintenance window {window_id} removed by noc-bot"
    assert load_open(writer.engine)[0]["acknowledged_by"] == "noc-bot"


@pytest.mark.parametrize("bad, message", [
    ({"users": [{"username": "a", "password_hash": HASH, "role": "admin"}]}, "auth.users[0].role"),
    ({"api_tokens": [{"name": "x", "token": VIEWER_TOKEN, "role": "operator"},
                     {"name": "y", "token": VIEWER_TOKEN, "role": "viewer"}]}, "auth.api_tokens[1].token"),
])
def test_bad_roles_and_tokens_are_config_errors_naming_the_key(tmp_path, bad, message):
    from settings import ConfigError
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        validate_config(make_config_dict(tmp_path, auth=bad))
