"""Who is making the current request, and whether they may write (the security layer fills it in per request).

Routes and callbacks that write ask may_write(); security.auth's guard has already refused API writes
without rights, so this is the second check (and the only one for Dash callbacks, which are not /api).
"""
from __future__ import annotations

from typing import NamedTuple

from flask import g, has_request_context

OPERATOR = "operator"
VIEWER = "viewer"


class Principal(NamedTuple):
    """The caller: a name for the audit log, a role, and how they were recognised."""

    name: str
    role: str  # viewer | operator
    via: str  # session | token | loopback | anonymous


NOBODY = Principal("anonymous", VIEWER, "anonymous")


def set_principal(principal: Principal) -> None:
    """Record the caller of this request (done by the security guard before any view runs)."""
    g.latency_monitor_principal = principal


def current_principal() -> Principal:
    """The caller of this request; an anonymous viewer when nobody recorded one (so writes fail closed)."""
    if not has_request_context():
        return NOBODY
    return g.get("latency_monitor_principal", NOBODY)


def may_write() -> bool:
    """True when the caller is an operator (or a loopback client of an app without auth)."""
    return current_principal().role == OPERATOR
