"""Who may see what: the bearer token for /api/* and /metrics, the login session for the dashboard.

| configured        | /api/*, /metrics              | dashboard (/, /server/..., /_dash-*, /assets/...) |
| nothing           | open                          | open                                              |
| api_token         | token                         | open                                              |
| users             | session                       | session                                           |
| api_token + users | token or session              | session                                           |

/healthz, /login and the login page's own stylesheet are always open.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
from urllib.parse import quote

from flask import current_app, redirect, request, session
from werkzeug.security import check_password_hash, generate_password_hash

from api.errors import error_response, is_api_path
from settings.auth import AuthSettings

SECURITY_STATE_KEY = "latency_monitor_security"
SESSION_USER = "user"
SESSION_FINGERPRINT = "pw"
OPEN_PATHS = ("/healthz", "/login", "/logout")
OPEN_PREFIXES = ("/login/static/",)
TOKEN_PATHS = ("/metrics",)
# Dash's own requests (callbacks, layout, scripts) and assets are fetched by scripts, not navigated to:
# they get a 401 instead of a redirect to an HTML page they could not use.
NON_PAGE_PREFIXES = ("/_dash-", "/_reload-hash", "/_favicon.ico", "/assets/")


@functools.cache
def dummy_hash() -> str:
    """A hash check_password_hash runs on for unknown users, so "no such user" takes as long as "wrong password".

    Made on first use, not at import: scrypt costs ~0.6 s, which every process importing this module paid."""
    return generate_password_hash("not a password of anyone", method="scrypt")


def security_state():
    """The SecurityState of the app handling the current request."""
    return current_app.extensions[SECURITY_STATE_KEY]


def needs_token_or_session(path: str) -> bool:
    """True for the machine-readable routes: the API and the Prometheus scrape."""
    return is_api_path(path) or path in TOKEN_PATHS


def is_open_path(path: str) -> bool:
    """True for what anyone may fetch: liveness and the login page with its stylesheet."""
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header ('' when empty); None without one.

    Other schemes count as no credentials: a proxy's Basic login must not spoil a dashboard session.
    """
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def token_matches(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing does not reveal how much of a guess was right."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def password_fingerprint(password_hash: str) -> str:
    """A short digest of a user's hash kept in the session: a changed password or removed user ends old sessions."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()[:16]


def verify_password(settings: AuthSettings, username: str, password: str) -> bool:
    """True when the user exists and the password matches its hash (same cost either way)."""
    stored = settings.users.get(username)
    matches = check_password_hash(stored or dummy_hash(), password)
    return stored is not None and matches


def session_user(settings: AuthSettings) -> str | None:
    """The logged-in user of this request's session, if it is still valid."""
    user = session.get(SESSION_USER)
    stored = settings.users.get(user) if isinstance(user, str) else None
    if stored is None or session.get(SESSION_FINGERPRINT) != password_fingerprint(stored):
        return None
    return user


def unauthorized(message: str, invalid: bool = False):
    """The API's JSON error with a 401 and the Bearer challenge (RFC 6750)."""
    challenge = 'Bearer realm="latency-monitor"' + (', error="invalid_token"' if invalid else "")
    return error_response(message, 401, {"WWW-Authenticate": challenge})


def check_api_access(settings: AuthSettings):
    """None when this API request may go on, else the 401 response."""
    token = bearer_token()
    if token is not None:
        # A client that sends credentials gets them checked, never silently replaced by a session.
        if settings.api_token and token and token_matches(token, settings.api_token):
            return None
        return unauthorized("invalid bearer token", invalid=True)
    if settings.users and session_user(settings):
        return None
    how = "send Authorization: Bearer <token>" if settings.api_token else "log in at /login"
    return unauthorized(f"authentication required: {how}")


def check_dashboard_access(settings: AuthSettings):
    """None when this dashboard request may go on, else a redirect to the login page (or a 401 for scripts)."""
    if session_user(settings):
        return None
    path = request.path
    if request.method in ("GET", "HEAD") and not path.startswith(NON_PAGE_PREFIXES):
        target = request.full_path if request.query_string else path
        return redirect(f"/login?next={quote(target, safe='/')}", 302)
    return error_response("login required: open /login", 401)


def guard():
    """Before every request: let it through, or answer 401/redirect (runs before the API's own guard)."""
    settings = security_state().settings
    path = request.path
    if not settings.enabled or is_open_path(path):
        return None
    if needs_token_or_session(path):
        return check_api_access(settings)
    return check_dashboard_access(settings) if settings.users else None
