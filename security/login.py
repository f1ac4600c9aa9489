"""The login and logout pages: plain Flask routes and small HTML forms, each carrying a CSRF token.

The token lives in the (signed) session cookie and in a hidden form field; a POST whose two copies
differ did not come from a form this site served, and gets a 400. Failed logins are counted per
client IP and per user name (security.ratelimit) and answered with 429 once over the limit.
"""
from __future__ import annotations

import hmac
import logging
import secrets

from flask import Blueprint, redirect, render_template, request, session

from security.auth import (SESSION_FINGERPRINT, SESSION_USER, password_fingerprint, security_state,
                           session_user, verify_password)

log = logging.getLogger(__name__)
bp = Blueprint("security", __name__, template_folder="templates", static_folder="static",
               static_url_path="/login/static")
CSRF_KEY = "csrf"
MAX_FIELD_CHARS = 1024  # a longer "password" is refused before hashing: scrypt on megabytes is a DoS


def csrf_token() -> str:
    """This session's CSRF token, created on first use."""
    if not isinstance(session.get(CSRF_KEY), str):
        session[CSRF_KEY] = secrets.token_urlsafe(32)
    return session[CSRF_KEY]


def csrf_ok() -> bool:
    """True when the form's token matches the session's (compared in constant time)."""
    sent, kept = request.form.get("csrf_token", ""), session.get(CSRF_KEY)
    return bool(sent) and isinstance(kept, str) and hmac.compare_digest(sent.encode(), kept.encode())


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (other sites, //host, login itself) becomes /."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return "/" if target.split("?")[0] in ("/login", "/logout") else target


def page(template: str, status: int = 200, headers: dict | None = None, **context):
    """A rendered login/logout page; never cached, since it carries a CSRF token."""
    body = render_template(template, csrf_token=csrf_token(), **context)
    return body, status, {"Cache-Control": "no-store", **(headers or {})}


def limit_keys(username: str) -> tuple[str, str]:
    """The failure-limiter keys of this attempt: the client address and the user name (case-folded)."""
    return f"ip:{request.remote_addr}", f"user:{username.casefold()}"


@bp.get("/login")
def login_form():
    """The login form (or straight on, when already logged in)."""
    target = safe_next(request.args.get("next"))
    if session_user(security_state().settings):
        return redirect(target)
    return page("security/login.html", next=target)


@bp.post("/login")
def login_submit():
    """Check the CSRF token, the failure limit and the password; start the session on success."""
    target = safe_next(request.form.get("next"))
    if not csrf_ok():
        return page("security/login.html", 400, next=target,
                    error="The form expired or did not come from this site. Please try again.")
    username = request.form.get("username", "").strip()[:MAX_FIELD_CHARS]
    state = security_state()
    wait = state.limiter.retry_after(limit_keys(username))
    if wait:
        log.warning("login from %s refused for %d s: too many failed logins", request.remote_addr, wait)
        return page("security/login.html", 429, {"Retry-After": str(wait)}, next=target, username=username,
                    error=f"Too many failed logins. Try again in {wait} seconds.")
    if not password_accepted(state.settings, username):
        return failed_login(state, username, target)
    return start_session(state, username, target)


def password_accepted(settings, username: str) -> bool:
    """The form's password is that user's (an overlong one is refused without hashing)."""
    password = request.form.get("password", "")
    return len(password) <= MAX_FIELD_CHARS and verify_password(settings, username, password)


def failed_login(state, username: str, target: str):
    """Count the failure and show the form again with a message that does not say which part was wrong."""
    state.limiter.record_failure(limit_keys(username))
    # Only a configured name is logged: an unknown "name" is often a password typed into the wrong field.
    who = repr(username) if username in state.settings.users else "an unknown user name"
    log.warning("failed login for %s from %s", who, request.remote_addr)
    return page("security/login.html", 401, next=target, username=username,
                error="Wrong user name or password.")


def start_session(state, username: str, target: str):
    """A fresh session for the user (new CSRF token), then on to where they were going."""
    state.limiter.reset(limit_keys(username)[1])
    session.clear()
    session.permanent = True  # expires after auth.session_hours (PERMANENT_SESSION_LIFETIME)
    session[SESSION_USER] = username
    session[SESSION_FINGERPRINT] = password_fingerprint(state.settings.users[username])
    csrf_token()
    log.info("user %r logged in from %s", username, request.remote_addr)
    return redirect(target)


@bp.get("/logout")
def logout_form():
    """A one-button page that logs out (a POST with the CSRF token, so no other site can log anyone out)."""
    user = session_user(security_state().settings)
    if user is None:
        return redirect("/login")
    return page("security/logout.html", user=user)


@bp.post("/logout")
def logout_submit():
    """End the session."""
    if not csrf_ok():
        return page("security/logout.html", 400, user=session.get(SESSION_USER),
                    error="The form expired or did not come from this site. Please try again.")
    user = session.get(SESSION_USER)
    session.clear()
    log.info("user %r logged out", user)
    return redirect("/login")
