"""Operational routes outside /api/: /healthz for load balancers and /metrics for Prometheus."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from sqlalchemy.exc import SQLAlchemyError

from api.errors import handle_errors_of
from api.health import database_down_report, health_report
from queries.rounds import last_round
from runtime import collector_state, config_state, get_runtime
from common.timeutil import utcnow

bp = handle_errors_of(Blueprint("ops", __name__))
API_STATE_KEY = "latency_monitor_api"


@dataclass
class ApiState:
    """Per-app state of the API: when it started (for /healthz) and its own metrics registry."""

    started_at: datetime
    registry: CollectorRegistry


def api_state() -> ApiState:
    """The ApiState of the app handling the current request."""
    return current_app.extensions[API_STATE_KEY]


@bp.get("/healthz")
def healthz():
    """200 while the collector finishes and stores rounds on time, 503 (with the reason) when not."""
    rt, now = get_runtime(), utcnow()
    try:
        found = last_round(rt.read_engine)
    except SQLAlchemyError as exc:
        body, status = database_down_report(now, rt.config, exc, collector_state(rt))
    else:
        finished = found["finished_at"] if found else None
        body, status = health_report(finished, api_state().started_at, now, rt.config, collector_state(rt))
    # An invalid edit is reported, but the app keeps serving the running config, so the status stays.
    return jsonify(dict(body, config=config_state(rt))), status


@bp.get("/metrics")
def metrics():
    """Prometheus exposition of the per-server and per-round gauges, in the format the scraper asks for."""
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return Response(encode(api_state().registry), content_type=content_type)
