"""One error shape for the API, {"error": "..."}: bad parameters (400), unknown paths (404), wrong methods (405)."""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from queries.filters import QueryError

log = logging.getLogger(__name__)
OPS_PATHS = ("/healthz", "/metrics")


def is_api_path(path: str) -> bool:
    """True for /api and everything under it."""
    return path == "/api" or path.startswith("/api/")


def error_response(message: str, status: int, headers: dict | None = None):
    """The API's error body with a status code."""
    return jsonify({"error": message}), status, headers or {}


def bad_query(exc: QueryError):
    """A QueryError is the client's fault: 400, the message names the parameter."""
    return error_response(str(exc), 400)


def http_error(exc: HTTPException):
    """Routing errors (404, 405...) as JSON on API paths; Flask's own page elsewhere."""
    if not (is_api_path(request.path) or request.path in OPS_PATHS):
        return exc  # the Dash app's paths keep Flask's own error pages
    allowed = exc.valid_methods if isinstance(exc, MethodNotAllowed) else None
    headers = {"Allow": ", ".join(allowed)} if allowed else {}
    return error_response(f"{exc.name}: {_describe(exc)}", exc.code or 500, headers)


def _describe(exc: HTTPException) -> str:
    """The explanation for a routing error, pointing at the API description when it helps."""
    if isinstance(exc, NotFound):
        return f"no API route {request.path}; see /api/openapi.json"
    if isinstance(exc, MethodNotAllowed):
        return f"{request.method} is not allowed on {request.path}"
    return exc.description or exc.name


def internal_error(exc: Exception):
    """Anything unexpected inside an API view: logged with its traceback, a generic JSON 500 to the client."""
    if isinstance(exc, HTTPException):
        return http_error(exc)
    log.exception("unhandled error on %s", request.path)
    return error_response("internal error; the server log has the details", 500)


def guard_api_paths() -> None:
    """Before every request: an /api path no API route took is a 404, or a 405 if only the method is wrong.

    Needed because Dash answers every GET it does not know (/<path:path>) with its index page, and
    its GET-only rule would turn a POST to an unknown API path into a 405.
    """
    if request.blueprint == "api" or not is_api_path(request.path):
        return
    rule = _rule_for_get(request.path)
    if rule is not None and rule.endpoint.startswith("api."):
        raise MethodNotAllowed(valid_methods=sorted(rule.methods or ()))
    raise NotFound()


def _rule_for_get(path: str):
    """The rule a GET of `path` would reach, or None."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        return adapter.match(path, method="GET", return_rule=True)[0]
    except HTTPException:
        return None


def handle_errors_of(bp: Blueprint) -> Blueprint:
    """Install the per-blueprint handlers (QueryError -> 400, crash -> JSON 500); call at import time."""
    bp.register_error_handler(QueryError, bad_query)
    bp.register_error_handler(Exception, internal_error)
    return bp


def register_error_handlers(server: Flask) -> None:
    """Install the app-wide parts: the /api path guard and the handler for routing errors (no blueprint sees those)."""
    server.before_request(guard_api_paths)
    server.register_error_handler(HTTPException, http_error)
