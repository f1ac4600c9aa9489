"""Authentication: the bearer token on /api/* and /metrics, the dashboard login, and nothing when nothing is set."""
from __future__ import annotations

import re

import pytest
from werkzeug.security import generate_password_hash

from security.auth import password_fingerprint
from tests.conftest import make_config_dict
from tests.helpers.auth import (HASH, PASSWORD, TOKEN, USERS, clear_secret_environment, client_factory, csrf_from,
                                login, secure_app)
from tests.helpers.openapi import assert_matches_spec

API_PATHS = ("/api/servers/status", "/api/ping-data?range=1h", "/api/logs", "/api/openapi.json",
             "/api/export-data?range=1h", "/metrics")
DASHBOARD_PATHS = ("/", "/server/127.0.0.1", "/_dash-layout", "/_dash-dependencies", "/assets/10_dashboard.css")


make_client = pytest.fixture(client_factory, name="make_client")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    clear_secret_environment(monkeypatch)


# -- nothing configured -----------------------------------------------------------------------------

def test_without_auth_everything_is_open_as_before(make_client):
    client = make_client()
    for path in API_PATHS + ("/", "/healthz", "/assets/10_dashboard.css"):
        assert client.get(path).status_code == 200, path


def test_without_users_there_is_no_login_page_and_no_session_cookie(make_client):
    client = make_client(api_token=TOKEN)
    response = client.get("/login")
    assert 'name="csrf_token"' not in response.get_data(as_text=True)  # Dash's catch-all page, no login form
    assert "Set-Cookie" not in response.headers


# -- the API token ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", API_PATHS)
def test_token_is_required_on_the_api_and_metrics(make_client, path):
    client = make_client(api_token=TOKEN)
    response = client.get(path)
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication required: send Authorization: Bearer <token>"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"bearer {TOKEN.upper()}"])
def test_a_wrong_token_is_refused_with_the_error_shape(make_client, header):
    client = make_client(api_token=TOKEN)
    response = client.get("/api/servers/status", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json() == {"error": "invalid bearer token"}
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_the_scheme_name_is_case_insensitive_and_other_schemes_are_no_credentials(make_client):
    client = make_client(api_token=TOKEN)
    assert client.get("/metrics", headers={"Authorization": f"BEARER {TOKEN}"}).status_code == 200
    basic = client.get("/metrics", headers={"Authorization": "Basic b3BzOnB3"})
    assert basic.status_code == 401 and basic.get_json()["error"].startswith("authentication required")


def test_401_responses_match_the_openapi_document(make_client):
    client = make_client(api_token=TOKEN)
    for path in ("/api/servers/status", "/api/ping-data", "/api/logs", "/api/export-data", "/metrics"):
        assert_matches_spec(path, client.get(path))


def test_an_unknown_api_path_says_401_not_404_to_anonymous_clients(make_client):
    client = make_client(api_token=TOKEN)
    assert client.get("/api/no-such-route").status_code == 401
    assert client.post("/api/servers/status").status_code == 401
    authorised = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/api/no-such-route", headers=authorised).status_code == 404


def test_healthz_stays_open_and_names_no_server(make_client, tmp_path):
    client = make_client(api_token=TOKEN, users=USERS)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    servers = make_config_dict(tmp_path)["servers"]
    leaks = [v for s in servers for v in (s["ip"], s["partner"], s["dn_ext"]) if v in body]
    assert leaks == [] and TOKEN not in body and str(tmp_path) not in body


def test_token_only_leaves_the_dashboard_open(make_client):
    client = make_client(api_token=TOKEN)
    for path in DASHBOARD_PATHS:
        assert client.get(path).status_code == 200, path


# -- the dashboard login ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/server/127.0.0.1?range=7d"])
def test_dashboard_pages_redirect_to_the_login_page(make_client, path):
    client = make_client(users=USERS)
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert client.get(response.headers["Location"]).status_code == 200


@pytest.mark.parametrize("method, path", [("GET", "/_dash-layout"), ("GET", "/_dash-dependencies"),
                                          ("POST", "/_dash-update-component"), ("GET", "/assets/10_dashboard.css"),
                                          ("GET", "/_dash-component-suites/dash/deps/react@18.v4_4_1m1.min.js")])
def test_dash_requests_get_401_not_a_redirect(make_client, method, path):
    client = make_client(users=USERS)
    response = client.open(path, method=method, json={} if method == "POST" else None)
    assert response.status_code == 401
    assert response.get_json() == {"error": "login required: open /login"}


def test_the_login_page_and_its_stylesheet_need_no_login(make_client):
    client = make_client(users=USERS)
    page = client.get("/login")
    assert page.status_code == 200 and 'name="csrf_token"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    css = re.search(r'href="(/login/static/[^"]+)"', page.get_data(as_text=True)).group(1)
    assert client.get(css).status_code == 200


def test_login_with_the_right_password_opens_the_dashboard(make_client):
    client = make_client(users=USERS)
    response = login(client, next_path="/server/127.0.0.1?range=7d")
    assert response.status_code == 302 and response.headers["Location"] == "/server/127.0.0.1?range=7d"
    for path in DASHBOARD_PATHS:
        assert client.get(path).status_code == 200, path


def test_the_session_cookie_is_httponly_samesite_lax_and_not_secure_by_default(make_client):
    client = make_client(users=USERS)
    cookie = login(client).headers["Set-Cookie"]
    assert cookie.startswith("latency_monitor_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_secure_cookie_marks_the_cookie_secure(make_client):
    client = make_client(users=USERS, secure_cookie=True)
    assert "; Secure" in client.get("/login").headers["Set-Cookie"]


def test_a_wrong_password_or_user_is_refused_without_saying_which(make_client):
    client = make_client(users=USERS)
    for username, password in (("ops", PASSWORD + "x"), ("nobody", PASSWORD), ("OPS", PASSWORD)):
        response = login(client, username, password)
        assert response.status_code == 401
        assert "Wrong user name or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_a_login_post_without_the_csrf_token_is_a_400(make_client):
    client = make_client(users=USERS)
    client.get("/login")
    missing = client.post("/login", data={"username": "ops", "password": PASSWORD})
    forged = client.post("/login", data={"username": "ops", "password": PASSWORD, "csrf_token": "forged"})
    assert missing.status_code == forged.status_code == 400
    assert client.get("/").status_code == 302  # neither logged anyone in


def test_logout_needs_the_csrf_token_and_ends_the_session(make_client):
    client = make_client(users=USERS)
    login(client)
    assert client.post("/logout", data={}).status_code == 400
    assert client.get("/").status_code == 200
    token = csrf_from(client.get("/logout").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert client.get("/logout").status_code == 302  # nothing to log out of


def test_only_login_and_logout_send_the_session_cookie_so_a_late_answer_cannot_undo_a_logout(make_client):
    client = make_client(users=USERS)
    assert "latency_monitor_session=" in login(client).headers["Set-Cookie"]
    # Any other answer of a logged-in session (a page, a Dash layout, the API) leaves the cookie alone: one
    # still in flight at logout would otherwise store the old session in the browser again.
    for path in ("/", "/_dash-layout", "/api/servers/status"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "latency_monitor_session=" not in str(response.headers.getlist("Set-Cookie")), path
    token = csrf_from(client.get("/logout").get_data(as_text=True))
    logout = client.post("/logout", data={"csrf_token": token})
    assert "latency_monitor_session=;" in logout.headers["Set-Cookie"]  # the cookie is deleted


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "/login"])
def test_login_never_redirects_off_site(make_client, target):
    client = make_client(users=USERS)
    assert login(client, next_path=target).headers["Location"] == "/"


def test_a_session_opens_the_api_for_the_dashboards_own_links(make_client):
    client = make_client(users=USERS)
    assert client.get("/api/export-data?range=1h").status_code == 401
    login(client)
    response = client.get("/api/export-data?range=1h")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert client.get("/metrics").status_code == 200


def test_with_token_and_users_either_credential_opens_the_api(make_client):
    client = make_client(api_token=TOKEN, users=USERS)
    assert client.get("/api/logs").status_code == 401
    assert client.get("/api/logs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    login(client)
    assert client.get("/api/logs").status_code == 200
    # Credentials that are sent are checked, not replaced by the session.
    assert client.get("/api/logs", headers={"Authorization": "Bearer wrong-token-value"}).status_code == 401


def test_a_token_does_not_open_the_dashboard(make_client):
    client = make_client(api_token=TOKEN, users=USERS)
    assert client.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 302


def test_changing_a_password_ends_the_sessions_made_with_the_old_one(tmp_path):
    app = secure_app(tmp_path, users=USERS)
    client = app.server.test_client()
    login(client)
    assert client.get("/").status_code == 200
    state = app.server.extensions["latency_monitor_security"]
    new_hash = generate_password_hash("another password")
    object.__setattr__(state.settings, "users", {"ops": new_hash})  # as after a restart with a new hash
    assert client.get("/").status_code == 302
    assert password_fingerprint(new_hash) != password_fingerprint(HASH)
    app.close()


def test_a_session_signed_with_another_key_is_not_accepted(tmp_path):
    first = secure_app(tmp_path / "a", users=USERS)
    second = secure_app(tmp_path / "b", users=USERS)  # a restart: a new random key
    client = first.server.test_client()
    login(client)
    cookie = client.get_cookie("latency_monitor_session").value
    other = second.server.test_client()
    other.set_cookie("latency_monitor_session", cookie)
    assert other.get("/").status_code == 302
    for app in (first, second):
        app.close()


def test_a_configured_secret_key_keeps_sessions_across_restarts(tmp_path):
    key = "k" * 40
    first = secure_app(tmp_path / "a", users=USERS, secret_key=key)
    second = secure_app(tmp_path / "b", users=USERS, secret_key=key)
    client = first.server.test_client()
    login(client)
    other = second.server.test_client()
    other.set_cookie("latency_monitor_session", client.get_cookie("latency_monitor_session").value)
    assert other.get("/").status_code == 200
    for app in (first, second):
        app.close()


def test_debug_mode_is_off_by_default(app):
    from app import parse_args
    assert parse_args([]).debug is False
    assert app.server.debug is False
