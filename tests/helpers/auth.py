"""Authentication set-ups: a token, a user with a password, apps with an `auth` section, and logging in."""
from __future__ import annotations

import re

from werkzeug.security import generate_password_hash

from settings import validate_config
from settings.auth import SECRET_KEY_ENV, TOKEN_ENV
from tests.conftest import make_config_dict


TOKEN = "tok-4f9c2b7e1d8a6035"
PASSWORD = "correct horse battery"
# Hashed once per test run: scrypt is deliberately slow.
HASH = generate_password_hash(PASSWORD)
USERS = [{"username": "ops", "password_hash": HASH}]


def clear_secret_environment(monkeypatch) -> None:
    """These tests configure auth through the file; a token exported in the shell must not change them."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)


def secure_app(tmp_path, **auth):
    """The app on a temporary database with this `auth` section (no collector)."""
    from app import create_app
    config = validate_config(make_config_dict(tmp_path, auth=auth), source=str(tmp_path / "config.json"))
    return create_app(config, start_collector=False)


def client_factory(tmp_path, monkeypatch):
    """Build test clients of apps with a given auth section; engines are disposed afterwards."""
    clear_secret_environment(monkeypatch)
    apps = []

    def build(**auth):
        apps.append(secure_app(tmp_path / str(len(apps)), **auth))
        return apps[-1].server.test_client()

    yield build
    for app in apps:
        app.close()


def csrf_from(page: str) -> str:
    """The CSRF token of a rendered login/logout form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def login(client, username: str = "ops", password: str = PASSWORD, next_path: str = "/"):
    """Fetch the form (for its CSRF token) and post the credentials, as a browser does."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password,
                                       "next": next_path})
