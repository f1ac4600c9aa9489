"""Authentication, security headers and failed-login limits for the app's Flask server.

create_app calls install_security(server, config) once, after the API is registered; `python app.py`
calls check_startup(server, host, debug) once logging is set up. docs/security.md describes it all.
"""
from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from security.auth import SECURITY_STATE_KEY, guard
from security.headers import ContentSecurityPolicy, install_headers
from security.ratelimit import FailureLimiter
from settings.auth import SECRET_KEY_ENV, AuthSettings, load_settings, validate_auth

__all__ = ["install_security", "check_startup", "validate_auth", "SecurityState", "SECURITY_STATE_KEY"]
log = logging.getLogger(__name__)
SESSION_COOKIE = "latency_monitor_session"


@dataclass
class SecurityState:
    """What the guard and the login views share: the settings, the failure limiter, the CSP."""

    settings: AuthSettings
    limiter: FailureLimiter
    policy: ContentSecurityPolicy | None = None
    ephemeral_key: bool = False


def install_security(server: Flask, config) -> None:
    """Put authentication (when configured), the security headers and the login pages on `server`."""
    settings = load_settings(config.raw)  # ConfigError when the auth section or an env secret is invalid
    state = SecurityState(settings, FailureLimiter(settings.max_failed_logins,
                                                   settings.failed_login_window_seconds))
    server.extensions[SECURITY_STATE_KEY] = state
    state.ephemeral_key = configure_sessions(server, settings)
    if settings.proxy_hops:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    # First in line: an anonymous client must not learn from the API's 404/405 guard which paths exist.
    server.before_request_funcs.setdefault(None, []).insert(0, guard)
    state.policy = install_headers(server)
    server.after_request(share_csrf_cookie)
    if settings.users:
        from security.login import bp
        server.register_blueprint(bp)
    log.info("%s", describe(state))


DASH_CSRF_COOKIE = "_csrf_token"  # the cookie Dash's renderer copies into the X-CSRFToken header of callbacks


def share_csrf_cookie(response):
    """Give a logged-in browser its session's CSRF token as a script-readable cookie (double submit), so the
    dashboard's callbacks can prove they come from this site's pages."""
    from flask import request, session
    # Only with a session cookie: touching the session otherwise adds "Vary: Cookie" to every cached API answer.
    if SESSION_COOKIE not in request.cookies:
        return response
    # Not on the login pages themselves: their response carries the session cookie first, the next page this one.
    token = session.get("csrf") if session.get("user") and not request.path.startswith("/log") else None
    if isinstance(token, str) and request.cookies.get(DASH_CSRF_COOKIE) != token:
        response.set_cookie(DASH_CSRF_COOKIE, token, samesite="Strict", httponly=False,
                            secure=bool(server_settings(response).secure_cookie))
    return response


def server_settings(_response) -> AuthSettings:
    """The auth settings of the app serving this response."""
    from security.auth import security_state
    return security_state().settings


def configure_sessions(server: Flask, settings: AuthSettings) -> bool:
    """Session cookie key and flags; True when the key is a random one made for this process."""
    server.secret_key = settings.secret_key or secrets.token_urlsafe(48)
    server.permanent_session_lifetime = timedelta(hours=settings.session_hours)
    # SESSION_REFRESH_EACH_REQUEST off: the cookie is sent only when the session changes (login, logout), not
    # on every response. Otherwise a dashboard callback still running when the user logs out (or clears the
    # cookies) answers afterwards with the old session's cookie, and the browser stores it again: the logout
    # is undone. It also makes a login last auth.session_hours from the login, as documented, not from the
    # last request.
    server.config.update(SESSION_COOKIE_NAME=SESSION_COOKIE, SESSION_COOKIE_HTTPONLY=True,
                         SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=settings.secure_cookie,
                         SESSION_REFRESH_EACH_REQUEST=False)
    return settings.secret_key is None


def describe(state: SecurityState) -> str:
    """One log line saying what is protected and how (it never contains a secret)."""
    settings = state.settings
    if not settings.enabled:
        return "authentication: off (dashboard, /api and /metrics are open)"
    ways = [way for way, on in (("bearer token", settings.api_token), ("login session", settings.users)) if on]
    text = f"authentication: /api and /metrics need a {' or '.join(ways)}; dashboard "
    text += f"needs a login ({len(settings.users)} users)" if settings.users else "is open (no auth.users)"
    if settings.users and state.ephemeral_key:
        text += (f"; no auth.secret_key or {SECRET_KEY_ENV}: using a random session key, so sessions "
                 "end on restart and are not shared between processes")
    return text


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve to a public address


def check_startup(server: Flask, host: str, debug: bool = False) -> None:
    """Log the security summary; warn when listening beyond this machine without auth, refuse --debug there."""
    state = server.extensions[SECURITY_STATE_KEY]
    log.info("%s", describe(state))
    if is_loopback(host):
        return
    if debug:
        # The Werkzeug debugger runs Python typed into a browser: on a reachable address that is a shell for anyone.
        log.error("--debug on %s would expose the interactive debugger to the network; use --host 127.0.0.1", host)
        raise SystemExit(2)
    if not state.settings.enabled:
        log.warning("listening on %s with no authentication configured: anyone who can reach this port can "
                    "read the dashboard, /api and /metrics; set auth.api_token and auth.users "
                    "(see docs/security.md)", host)
    elif not state.settings.users:
        log.warning("listening on %s and the dashboard has no login (auth.users is empty): anyone who can "
                    "reach this port can read it", host)
