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
from api.principal import OPERATOR, VIEWER, Principal, set_principal
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


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
CSRF_HEADER = "X-CSRF-Token"  # API writes made with a login session carry the session's token here
DASH_CSRF_HEADER = "X-CSRFToken"  # what Dash's renderer sends, copied from the _csrf_token cookie


def token_principal(settings: AuthSettings, token: str) -> Principal | None:
    """The caller a bearer token stands for: auth.api_token is a viewer, auth.api_tokens carry their role."""
    if not token:
        return None
    found = None
    for name, value, role in settings.tokens:  # every token is compared, so timing does not tell which matched
        if token_matches(token, value):
            found = Principal(name, role, "token")
    if found is None and settings.api_token and token_matches(token, settings.api_token):
        found = Principal("api_token", VIEWER, "token")
    return found


def session_principal(settings: AuthSettings) -> Principal | None:
    """The logged-in user with their role, if the session is valid."""
    user = session_user(settings)
    return None if user is None else Principal(user, settings.roles.get(user, VIEWER), "session")


def anonymous_principal() -> Principal:
    """A caller without credentials: an operator from loopback only (the no-auth rule), else a viewer."""
    from security import is_loopback
    address = request.remote_addr or ""
    return Principal(f"anonymous@{address}", OPERATOR if is_loopback(address) else VIEWER,
                     "loopback" if is_loopback(address) else "anonymous")


def is_write() -> bool:
    """True for a request that changes something on a route that takes its method (a POST to a read-only route
    is the API guard's 405, not a refused write)."""
    return request.method in WRITE_METHODS and request.routing_exception is None


def write_refusal(principal: Principal, settings: AuthSettings):
    """None when this API write may go on, else the 403 (or 401) response."""
    if principal.role != OPERATOR:
        if principal.via == "anonymous":
            return error_response("writes need authentication: with no auth configured, only clients on this "
                                  "machine (loopback) may write", 403)
        return error_response(f"{principal.name} is a {principal.role}: writing needs the operator role", 403)
    if principal.via == "session" and not csrf_header_ok(CSRF_HEADER):
        return error_response(f"missing or wrong {CSRF_HEADER} header (the session's CSRF token)", 403)
    return None


def csrf_header_ok(header: str) -> bool:
    """True when the header carries this session's CSRF token (compared in constant time)."""
    sent, kept = request.headers.get(header, ""), session.get("csrf")
    return bool(sent) and isinstance(kept, str) and hmac.compare_digest(sent.encode(), kept.encode())


def check_api_access(settings: AuthSettings):
    """None when this API request may go on, else the 401 response."""
    token = bearer_token()
    if token is not None:
        # A client that sends credentials gets them checked, never silently replaced by a session.
        principal = token_principal(settings, token)
        if principal is not None:
            set_principal(principal)
            return None
        return unauthorized("invalid bearer token", invalid=True)
    if settings.users and session_user(settings):
        set_principal(session_principal(settings))
        return None
    how = "send Authorization: Bearer <token>" if settings.api_token else "log in at /login"
    return unauthorized(f"authentication required: {how}")


def check_dashboard_access(settings: AuthSettings):
    """None when this dashboard request may go on, else a redirect to the login page (or a 401 for scripts)."""
    if session_user(settings):
        set_principal(session_principal(settings))
        # Dash callbacks (the ack button, maintenance) post JSON with the session cookie: the renderer sends
        # the _csrf_token cookie back as a header, which another site cannot read or forge.
        if request.method == "POST" and request.path.startswith("/_dash-update-component") \
                and not csrf_header_ok(DASH_CSRF_HEADER):
            return error_response(f"missing or wrong {DASH_CSRF_HEADER} header; reload the page", 403)
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
    set_principal(anonymous_principal())
    if not settings.enabled or is_open_path(path):
        return write_refusal(anonymous_principal(), settings) if is_api_path(path) and is_write() else None
    if needs_token_or_session(path):
        denied = check_api_access(settings)
        if denied is None and is_api_path(path) and is_write():
            from api.principal import current_principal
            return write_refusal(current_principal(), settings)
        return denied
    return check_dashboard_access(settings) if settings.users else None
