"""The routes that write: acknowledging an alert and managing maintenance windows.

security.auth's guard lets only operators reach them (and, with no auth configured, loopback clients);
each view checks may_write() again, so a wiring mistake fails closed. Every write is logged with who made it.
"""
from __future__ import annotations

import logging

from flask import request

from api.errors import error_response
from api.principal import current_principal, may_write
from api.routes import bp
from queries.alerts import alert_record, list_alerts
from runtime import get_runtime
from settings.maintenance import SCOPES, build_window, window_errors
from storage.alertstore import acknowledge
from storage.maintenance import add_window, all_windows, delete_window
from common.timeutil import to_naive_utc, utcnow

log = logging.getLogger("api.writes")
MAX_COMMENT_CHARS = 1000


def refused():
    """The 403 of a view reached without the operator role."""
    return error_response("writing needs the operator role", 403)


def json_object() -> dict | None:
    """The request's JSON body when it is an object, else None."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def comment_of(body: dict, required: bool) -> str | None:
    """The body's comment, stripped; None when it is missing (and required) or not a short string."""
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT_CHARS or (required and not comment.strip()):
        return None
    return comment.strip()


@bp.post("/api/alerts/<int:alert_id>/ack")
def ack_alert(alert_id: int):
    """Acknowledge an open alert with a comment: it stays open, and stops notifying until it escalates."""
    if not may_write():
        return refused()
    body = json_object()
    comment = None if body is None else comment_of(body, required=True)
    if comment is None:
        return error_response(f"comment: a JSON body {{\"comment\": \"...\"}} with a non-empty comment of at most "
                              f"{MAX_COMMENT_CHARS} characters is required", 400)
    rt, who = get_runtime(), current_principal().name
    outcome = acknowledge(rt.writer, alert_id, who, comment, to_naive_utc(utcnow()))
    if outcome == "missing":
        return error_response(f"no alert {alert_id}", 404)
    if outcome == "not open":
        return error_response(f"alert {alert_id} is resolved; only open alerts can be acknowledged", 409)
    log.info("alert %d acknowledged by %s: %s", alert_id, who, comment)
    rt.cache.clear()
    return {"alert": alert_of(alert_id)}


def alert_of(alert_id: int) -> dict | None:
    """The API record of one alert."""
    frame = list_alerts(get_runtime().writer.engine, "all")
    rows = frame[frame["id"] == alert_id].to_dict("records")
    return alert_record(rows[0]) if rows else None


def window_record(window, now) -> dict:
    """One window in the API's shape: its definition, where it comes from, and whether it is on now."""
    return {**window.as_dict(), "source": "config" if window.id is None else "api", "active": window.active(now)}


@bp.get("/api/maintenance")
def list_maintenance():
    """Every maintenance window: those of the config file and those made through the API."""
    rt, now = get_runtime(), to_naive_utc(utcnow())
    return {"windows": [window_record(w, now) for w in all_windows(rt.config, rt.read_engine)]}


def target_error(config, entry: dict) -> str | None:
    """A window must cover something configured, or it would silently suppress nothing."""
    scope = next(s for s in SCOPES if s in entry)
    known = {"server": {s.id for s in config.servers}, "partner": {s.partner for s in config.servers},
             "country": {s.country for s in config.servers}}[scope]
    return None if entry[scope] in known else f"{scope}: {entry[scope]!r} is not a configured {scope}"


@bp.post("/api/maintenance")
def create_maintenance():
    """Add a one-off or weekly maintenance window (the config's shape); 201 with the stored window."""
    if not may_write():
        return refused()
    body = json_object()
    if body is None:
        return error_response("the body must be a JSON object: a maintenance window", 400)
    errors = window_errors(body, "window")
    rt = get_runtime()
    if not errors and (problem := target_error(rt.config, body)):
        errors = [f"window.{problem}"]
    if errors:
        return error_response("; ".join(errors), 400)
    who, now = current_principal().name, to_naive_utc(utcnow())
    window_id = add_window(rt.writer, body, who, now)
    log.info("maintenance window %d added by %s: %s", window_id, who, body)
    rt.cache.clear()
    return {"window": window_record(build_window(body, id=window_id, created_by=who), now)}, 201


@bp.delete("/api/maintenance/<int:window_id>")
def remove_maintenance(window_id: int):
    """Remove a window made through the API (config windows are removed by editing the config)."""
    if not may_write():
        return refused()
    rt, who = get_runtime(), current_principal().name
    if not delete_window(rt.writer, window_id):
        return error_response(f"no maintenance window {window_id} made through the API "
                              "(windows of the config file are removed by editing it)", 404)
    log.info("maintenance window %d removed by %s", window_id, who)
    rt.cache.clear()
    return "", 204
