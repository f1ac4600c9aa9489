"""The `auth` section of config.json: its keys declared as data, their validation, and the effective settings.

Secrets may instead come from the environment (LATENCY_MONITOR_API_TOKEN, LATENCY_MONITOR_SECRET_KEY),
which wins over the file so a deployment can keep them out of config.json. No message here ever
contains a secret's value: a config error is printed and logged.
"""
from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from settings.errors import ConfigError, Setting

TOKEN_ENV = "LATENCY_MONITOR_API_TOKEN"
SECRET_KEY_ENV = "LATENCY_MONITOR_SECRET_KEY"
MIN_TOKEN_CHARS = 16
MIN_SECRET_KEY_CHARS = 32
# werkzeug.security hashes look like "scrypt:32768:8:1$<salt>$<hex>" or "pbkdf2:sha256:600000$<salt>$<hex>".
_HASH = re.compile(r"(scrypt(:\d+){0,3}|pbkdf2:sha(256|512)(:\d+)?)\$[^$\s]+\$[0-9a-f]{32,}\Z")
_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}\Z")
ROLES = ("viewer", "operator")  # viewer reads only; operator may also acknowledge alerts and manage maintenance
DEFAULT_USER_ROLE = "viewer"  # least privilege: a config written before roles existed grants no new writes

AUTH_SETTINGS: tuple[Setting, ...] = (
    Setting("api_token", None, f"Bearer token required on /api/* and /metrics; at least {MIN_TOKEN_CHARS} "
                               f"characters. The environment variable {TOKEN_ENV} overrides it."),
    Setting("users", [], "Dashboard logins: a list of {\"username\", \"password_hash\"}; the hash comes from "
                         "`python -m security.hashpw`. Non-empty puts the dashboard (and /api) behind a login."),
    Setting("api_tokens", [], "More bearer tokens, each with a role: a list of {\"name\", \"token\", \"role\": "
                              "\"viewer\" or \"operator\"}; the name is logged with every write. api_token is a "
                              "viewer (read-only) token."),
    Setting("secret_key", None, f"Key that signs session cookies, at least {MIN_SECRET_KEY_CHARS} characters. "
                                f"{SECRET_KEY_ENV} overrides it; without either, a random key per process "
                                "(sessions end on restart and are not shared between processes)."),
    Setting("secure_cookie", False, "Mark the session cookie Secure: set it when users reach the app over "
                                    "https (a TLS reverse proxy)."),
    Setting("session_hours", 12, "Hours a login lasts."),
    Setting("max_failed_logins", 5, "Failed logins per client IP, and per user name, before further "
                                    "attempts get 429."),
    Setting("failed_login_window_seconds", 300, "The window those failures are counted in; an attempt is "
                                                "allowed again once the oldest failure is this old."),
    Setting("proxy_hops", 0, "Reverse proxies in front of the app whose X-Forwarded-For/-Proto to trust "
                             "(for the client IP of the login limit and for https); 0 trusts none."),
)
AUTH_DEFAULTS = {s.name: s.default for s in AUTH_SETTINGS}


@dataclass(frozen=True)
class AuthSettings:
    """The effective authentication settings (file values, overridden by the environment)."""

    api_token: str | None = None
    users: dict[str, str] = field(default_factory=dict)  # user name -> password hash
    roles: dict[str, str] = field(default_factory=dict)  # user name -> viewer | operator
    tokens: tuple = ()  # (name, token, role) of auth.api_tokens
    secret_key: str | None = None
    secure_cookie: bool = False
    session_hours: float = 12
    max_failed_logins: int = 5
    failed_login_window_seconds: float = 300
    proxy_hops: int = 0

    @property
    def enabled(self) -> bool:
        """True when anything at all needs authentication."""
        return bool(self.api_token or self.users or self.tokens)

    def __repr__(self) -> str:
        # The dataclass repr would print the token and key into any log line or traceback that shows it.
        return (f"AuthSettings(api_token={'set' if self.api_token else None}, users={sorted(self.users)}, "
                f"secret_key={'set' if self.secret_key else None}, secure_cookie={self.secure_cookie})")


def auth_section(raw: Mapping) -> Any:
    """The raw `auth` value of a config (an empty object when absent)."""
    section = raw.get("auth")
    return {} if section is None else section


def validate_auth(raw: Mapping) -> list[str]:
    """Every problem of the config's `auth` section, each naming its key path; [] when valid."""
    section = auth_section(raw)
    if not isinstance(section, dict):
        return ["auth: must be an object (see docs/security.md)"]
    errors = [f"auth.{key}: unknown key; known keys are {', '.join(AUTH_DEFAULTS)}"
              for key in section if key not in AUTH_DEFAULTS]
    for check in (_check_secrets, _check_users, _check_numbers, _check_tokens):
        errors.extend(check(section))
    if not isinstance(section.get("secure_cookie", False), bool):
        errors.append(f"auth.secure_cookie: {json.dumps(section['secure_cookie'])} must be true or false")
    return errors


def _check_secrets(section: dict) -> list[str]:
    """Token and key: strings long enough to resist guessing. The value is never echoed."""
    errors = []
    for key, minimum in (("api_token", MIN_TOKEN_CHARS), ("secret_key", MIN_SECRET_KEY_CHARS)):
        value = section.get(key)
        if value is not None and not _long_secret(value, minimum):
            errors.append(f"auth.{key}: must be a string of at least {minimum} characters without spaces "
                          "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')")
    return errors


def _long_secret(value: Any, minimum: int) -> bool:
    """A string of at least `minimum` printable characters and no whitespace."""
    return isinstance(value, str) and len(value) >= minimum and value.isprintable() and not any(
        c.isspace() for c in value)


def _check_users(section: dict) -> list[str]:
    """A list of {username, password_hash}, names unique, hashes made by werkzeug (never plain text)."""
    users = section.get("users", [])
    if not isinstance(users, list):
        return ["auth.users: must be a list of {\"username\": ..., \"password_hash\": ...}"]
    errors: list[str] = []
    seen: dict[str, int] = {}
    for i, entry in enumerate(users):
        errors.extend(_check_user(i, entry))
        name = entry.get("username") if isinstance(entry, dict) else None
        if isinstance(name, str) and name.casefold() in seen:
            errors.append(f"auth.users[{i}].username: duplicate of auth.users[{seen[name.casefold()]}]")
        elif isinstance(name, str):
            seen[name.casefold()] = i
    return errors


def _check_user(i: int, entry: Any) -> list[str]:
    """The problems of one auth.users entry."""
    where = f"auth.users[{i}]"
    if not isinstance(entry, dict):
        return [f"{where}: must be an object with username and password_hash"]
    errors = [f"{where}.{key}: unknown key; expected username and password_hash"
              for key in entry if key not in ("username", "password_hash", "role")]
    if entry.get("role", DEFAULT_USER_ROLE) not in ROLES:
        errors.append(f"{where}.role: {json.dumps(entry.get('role'))} must be one of {', '.join(ROLES)}")
    name = entry.get("username")
    if not isinstance(name, str) or not _USERNAME.match(name):
        errors.append(f"{where}.username: {json.dumps(name)} must be 1 to 64 letters, digits or . _ @ -")
    if not isinstance(entry.get("password_hash"), str) or not _HASH.match(entry["password_hash"]):
        # Not echoed: a mistake here is often a plain-text password pasted in place of its hash.
        errors.append(f"{where}.password_hash: must be a scrypt or pbkdf2 hash from "
                      "`python -m security.hashpw`, not the password itself")
    return errors


def _check_tokens(section: dict) -> list[str]:
    """auth.api_tokens: named tokens with a role; names and tokens unique. A token's value is never echoed."""
    tokens = section.get("api_tokens", [])
    if not isinstance(tokens, list):
        return ["auth.api_tokens: must be a list of {\"name\": ..., \"token\": ..., \"role\": ...}"]
    errors, names, values = [], set(), set()
    for i, entry in enumerate(tokens):
        where = f"auth.api_tokens[{i}]"
        if not isinstance(entry, dict):
            errors.append(f"{where}: must be an object with name, token and role")
            continue
        errors += [f"{where}.{key}: unknown key; expected name, token, role" for key in entry
                   if key not in ("name", "token", "role")]
        name, token = entry.get("name"), entry.get("token")
        if not isinstance(name, str) or not _USERNAME.match(name):
            errors.append(f"{where}.name: {json.dumps(name)} must be 1 to 64 letters, digits or . _ @ -")
        elif name in names:
            errors.append(f"{where}.name: duplicate name {json.dumps(name)}")
        if not _long_secret(token, MIN_TOKEN_CHARS):
            errors.append(f"{where}.token: must be a string of at least {MIN_TOKEN_CHARS} characters without spaces")
        elif token in values or token == section.get("api_token"):
            errors.append(f"{where}.token: the same token is given twice; each token needs its own value")
        if entry.get("role") not in ROLES:
            errors.append(f"{where}.role: {json.dumps(entry.get('role'))} must be one of {', '.join(ROLES)}")
        names.add(name)
        values.add(token)
    return errors


def _check_numbers(section: dict) -> list[str]:
    """The numeric settings: positive (proxy_hops may be 0), and whole where they count things."""
    errors = []
    for key, whole, allow_zero in (("session_hours", False, False), ("max_failed_logins", True, False),
                                   ("failed_login_window_seconds", False, False), ("proxy_hops", True, True)):
        value = section.get(key, AUTH_DEFAULTS[key])
        if not _is_count(value, whole, allow_zero):
            kind = "whole number" if whole else "number"
            errors.append(f"auth.{key}: {json.dumps(value)} must be a {kind} "
                          f"{'of at least 0' if allow_zero else 'above 0'}")
    return errors


def _is_count(value: Any, whole: bool, allow_zero: bool) -> bool:
    """A finite number (an int when `whole`) above 0, or at least 0 when `allow_zero`."""
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        return False
    return math.isfinite(value) and (value >= 0 if allow_zero else value > 0)


def load_settings(raw: Mapping, environ: Mapping[str, str] | None = None) -> AuthSettings:
    """The effective settings of a config; raises ConfigError when the section or the environment is invalid."""
    environ = os.environ if environ is None else environ
    errors = validate_auth(raw) + _environment_errors(environ)
    if errors:
        raise ConfigError("\n".join(errors))
    section = {**AUTH_DEFAULTS, **auth_section(raw)}
    return AuthSettings(
        api_token=environ.get(TOKEN_ENV) or section["api_token"],
        users={u["username"]: u["password_hash"] for u in section["users"]},
        roles={u["username"]: u.get("role", DEFAULT_USER_ROLE) for u in section["users"]},
        tokens=tuple((t["name"], t["token"], t["role"]) for t in section["api_tokens"]),
        secret_key=environ.get(SECRET_KEY_ENV) or section["secret_key"],
        secure_cookie=section["secure_cookie"], session_hours=section["session_hours"],
        max_failed_logins=section["max_failed_logins"],
        failed_login_window_seconds=section["failed_login_window_seconds"], proxy_hops=section["proxy_hops"])


def _environment_errors(environ: Mapping[str, str]) -> list[str]:
    """The same strength rules for secrets given in the environment (an empty variable counts as unset)."""
    errors = []
    for name, minimum in ((TOKEN_ENV, MIN_TOKEN_CHARS), (SECRET_KEY_ENV, MIN_SECRET_KEY_CHARS)):
        value = environ.get(name)
        if value and not _long_secret(value, minimum):
            errors.append(f"{name}: must be at least {minimum} characters without spaces")
    return errors
