"""The `auth` config section: validation naming key paths, secrets from the environment, the hash CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.security import check_password_hash

from settings import ConfigError
from security.hashpw import main as hashpw_main
from settings.auth import (AUTH_DEFAULTS, AUTH_SETTINGS, SECRET_KEY_ENV, TOKEN_ENV, AuthSettings, load_settings,
                               validate_auth)
from tests.helpers.auth import HASH, TOKEN, clear_secret_environment, secure_app

KEY = "s" * 40


@pytest.mark.parametrize("auth, expected", [
    ({"api_tokn": TOKEN}, "auth.api_tokn: unknown key"),
    ({"api_token": "short"}, "auth.api_token: must be a string of at least 16 characters"),
    ({"api_token": "has a space in it somewhere"}, "auth.api_token: must be a string of at least 16"),
    ({"secret_key": "x" * 31}, "auth.secret_key: must be a string of at least 32 characters"),
    ({"users": {"ops": HASH}}, "auth.users: must be a list"),
    ({"users": ["ops"]}, "auth.users[0]: must be an object with username and password_hash"),
    ({"users": [{"username": "ops"}]}, "auth.users[0].password_hash: must be a scrypt or pbkdf2 hash"),
    ({"users": [{"username": "ops", "password_hash": "hunter2hunter2"}]},
     "auth.users[0].password_hash: must be a scrypt or pbkdf2 hash"),
    ({"users": [{"username": "a b", "password_hash": HASH}]}, 'auth.users[0].username: "a b" must be 1 to 64'),
    ({"users": [{"username": "ops", "password_hash": HASH, "role": "admin"}]}, 'auth.users[0].role: "admin" must be one of viewer, operator'),
    ({"users": [{"username": "ops", "password_hash": HASH, "colour": "red"}]}, "auth.users[0].colour: unknown key"),
    ({"api_tokens": [{"name": "bot", "token": "short", "role": "operator"}]}, "auth.api_tokens[0].token: must be"),
    ({"api_tokens": [{"name": "bot", "token": TOKEN + "x", "role": "root"}]}, 'auth.api_tokens[0].role: "root"'),
    ({"api_tokens": {"bot": TOKEN}}, "auth.api_tokens: must be a list"),
    ({"users": [{"username": "ops", "password_hash": HASH}, {"username": "OPS", "password_hash": HASH}]},
     "auth.users[1].username: duplicate of auth.users[0]"),
    ({"secure_cookie": "yes"}, 'auth.secure_cookie: "yes" must be true or false'),
    ({"session_hours": 0}, "auth.session_hours: 0 must be a number above 0"),
    ({"max_failed_logins": 2.5}, "auth.max_failed_logins: 2.5 must be a whole number above 0"),
    ({"failed_login_window_seconds": True}, "auth.failed_login_window_seconds: true must be a number above 0"),
    ({"proxy_hops": -1}, "auth.proxy_hops: -1 must be a whole number of at least 0"),
])
def test_each_problem_names_its_key_path(auth, expected):
    errors = validate_auth({"auth": auth})
    assert len(errors) == 1 and errors[0].startswith(expected), errors


def test_a_valid_section_and_no_section_have_no_problems():
    full = {"api_token": TOKEN, "secret_key": KEY,
            "users": [{"username": "ops", "password_hash": HASH, "role": "operator"}],
            "api_tokens": [{"name": "noc-bot", "token": TOKEN + "-op", "role": "operator"}],
            "secure_cookie": True, "session_hours": 8, "max_failed_logins": 5, "failed_login_window_seconds": 300,
            "proxy_hops": 1}
    assert set(full) == set(AUTH_DEFAULTS)
    assert validate_auth({"auth": full}) == [] and validate_auth({}) == [] and validate_auth({"auth": None}) == []
    assert validate_auth({"auth": []}) == ["auth: must be an object (see docs/security.md)"]


def test_errors_never_echo_a_secret():
    secret = "almost-a-token"  # too short, so rejected
    errors = validate_auth({"auth": {"api_token": secret, "secret_key": secret,
                                     "users": [{"username": "ops", "password_hash": secret}]}})
    assert len(errors) == 3 and not any(secret in e for e in errors)


def test_the_environment_overrides_the_file():
    settings = load_settings({"auth": {"api_token": TOKEN, "secret_key": KEY}},
                             {TOKEN_ENV: "env-token-0123456789", SECRET_KEY_ENV: "e" * 32})
    assert (settings.api_token, settings.secret_key) == ("env-token-0123456789", "e" * 32)
    assert load_settings({"auth": {"api_token": TOKEN}}, {TOKEN_ENV: ""}).api_token == TOKEN  # empty = unset


def test_a_weak_secret_in_the_environment_is_refused_without_echoing_it():
    with pytest.raises(ConfigError) as raised:
        load_settings({}, {TOKEN_ENV: "short-one"})
    assert str(raised.value) == f"{TOKEN_ENV}: must be at least 16 characters without spaces"


def test_an_invalid_section_stops_the_app(tmp_path, monkeypatch):
    clear_secret_environment(monkeypatch)
    with pytest.raises(ConfigError, match="auth.api_token"):
        secure_app(tmp_path, api_token="short")


def test_the_settings_repr_shows_no_secret():
    text = repr(AuthSettings(api_token=TOKEN, secret_key=KEY, users={"ops": HASH}))
    assert TOKEN not in text and KEY not in text and HASH not in text and "ops" in text


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2"])
def test_hashpw_prints_a_hash_that_checks_and_validates(method, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a long enough password\n"))
    assert hashpw_main(["--stdin", "--method", method]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith(method) and check_password_hash(printed, "a long enough password")
    assert validate_auth({"auth": {"users": [{"username": "ops", "password_hash": printed}]}}) == []


def test_hashpw_prompts_twice_and_refuses_a_mismatch(monkeypatch, capsys):
    answers = iter(["first password", "second password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(SystemExit, match="differ"):
        hashpw_main([])
    assert capsys.readouterr().out == ""


def test_hashpw_runs_as_a_module_and_refuses_short_passwords():
    done = subprocess.run([sys.executable, "-m", "security.hashpw", "--stdin"], input="short\n",
                          capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2 and done.stdout == "" and "at least 8 characters" in done.stderr


@pytest.mark.parametrize("setting", AUTH_SETTINGS, ids=lambda s: s.name)
def test_every_auth_key_is_documented_with_its_default(setting):
    docs = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text(encoding="utf-8")
    row = f"| `auth.{setting.name}` | `{json.dumps(setting.default)}` |"
    assert row in docs, f"docs/security.md has no row {row}"
