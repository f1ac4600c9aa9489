"""The REST routes under /api/, sharing the read-side queries (queries/) with the dashboard."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from api.cache import cached_response, json_body
from api.errors import handle_errors_of
from api.openapi import openapi_document
from api.params import bounded_int, choice, filters_from, optional_time, single
from queries.alerts import STATES as ALERT_STATES
from queries.alerts import alert_records, list_alerts
from queries.export import iter_csv, iter_json
from queries.filters import Filters
from queries.logs import log_records, recent_logs
from queries.export import export_filename
from queries.pingdata import EXPORT_COLUMNS, GROUPS, export_chunks, ping_series, series_bucket_seconds
from queries.series import POINT_FIELDS, gap_seconds_for, series_frame, series_payload
from queries.sipseries import SIP_EXPORT_COLUMNS, SIP_POINT_FIELDS, sip_export_chunks, sip_series
from queries.collectors import list_collectors
from queries.querystring import repeated_values
from queries.status import status_records, status_rows
from runtime import get_runtime
from common.timeutil import iso_z, utcnow

bp = handle_errors_of(Blueprint("api", __name__))
EXPORT_CHUNK_ROWS = 5000
LOG_LIMIT = (1, 1000)
STATUS_CACHE_SECONDS = 5
PROBES = ("network", "sip")  # ?probe=: the network probe's rows (ping_results) or the SIP checks (sip_results)


@bp.get("/api/ping-data")
def ping_data():
    """Latency, loss and jitter per country or server, bucketed; JSON or CSV."""
    args = request.args
    filters = filters_from(args)
    group = choice(args, "group", GROUPS, "country")
    fmt = choice(args, "format", ("json", "csv"), "json")
    probe = choice(args, "probe", PROBES, "network")
    return cached_response(lambda: ping_data_body(filters, group, fmt, probe))


def ping_data_body(filters: Filters, group: str, fmt: str, probe: str = "network") -> tuple[bytes, str]:
    """The /api/ping-data body for these filters as (bytes, mimetype)."""
    rt = get_runtime()
    size = series_bucket_seconds(filters, rt.config.interval_seconds, rt.config.retention.as_dict())
    if probe == "sip":
        frame, fields = sip_series(rt.read_engine, filters, group, size), SIP_POINT_FIELDS
    else:
        frame, fields = ping_series(rt.read_engine, filters, group, size), POINT_FIELDS
    series = series_payload(frame, group, size, gap_seconds_for(size, rt.config.interval_seconds), fields)
    if fmt == "csv":
        return "".join(iter_csv([series_frame(series, group, fields)])).encode(), "text/csv"
    return json_body({"start": iso_z(filters.start), "end": iso_z(filters.end), "bucket_seconds": size,
                      "group": group, "probe": probe, "series": series})


@bp.get("/api/export-data")
def export_data():
    """Every stored column of the selected rows, streamed as a CSV or JSON download."""
    filters = filters_from(request.args)
    fmt = choice(request.args, "format", ("csv", "json"), "csv")
    probe = choice(request.args, "probe", PROBES, "network")
    # A generator body: Flask sends each piece as it is produced, and the query only runs while sending.
    read, columns = (sip_export_chunks, SIP_EXPORT_COLUMNS) if probe == "sip" else (export_chunks, EXPORT_COLUMNS)
    chunks = read(get_runtime().read_engine, filters, EXPORT_CHUNK_ROWS)
    head = {"start": iso_z(filters.start), "end": iso_z(filters.end), **({"probe": probe} if probe == "sip" else {})}
    body = iter_csv(chunks, columns) if fmt == "csv" else iter_json(chunks, head)
    mimetype = "text/csv" if fmt == "csv" else "application/json"
    disposition = f'attachment; filename="{"sip-" if probe == "sip" else ""}{export_filename(filters, fmt)}"'
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": disposition})


@bp.get("/api/servers/status")
def servers_status():
    """Current status of every configured server (unknown until it has a stored round)."""
    # Ages (and so stale states) move with the clock: a cached status is at most STATUS_CACHE_SECONDS old.
    return cached_response(status_body, time_bucket_seconds=STATUS_CACHE_SECONDS)


def status_body() -> tuple[bytes, str]:
    """The /api/servers/status body as (bytes, mimetype)."""
    rt, now = get_runtime(), utcnow()
    rows = status_rows(rt.read_engine, rt.config, now, tuple(repeated_values(request.args, "collector")))
    return json_body({"generated_at": iso_z(now), "servers": status_records(rows, rt.config)})


@bp.get("/api/collectors")
def collectors():
    """Every collector (vantage point) writing this database: up or stale, location, last round, version."""
    rt = get_runtime()
    return jsonify({"collectors": list_collectors(rt.read_engine, rt.config.stale_after_seconds)})


@bp.get("/api/alerts")
def alerts():
    """Open, resolved or all alerts, newest first; the window never hides an open alert."""
    args = request.args
    state, filters = choice(args, "state", ALERT_STATES, "open"), filters_from(args)
    return cached_response(lambda: json_body({"alerts": alert_records(list_alerts(get_runtime().read_engine, state,
                                                                                    filters))}))


@bp.get("/api/logs")
def logs():
    """Recent log lines, newest first, by minimum level, module prefix, time and text."""
    args = request.args
    limit = bounded_int(args, "limit", 10, *LOG_LIMIT)
    level, module, search = single(args, "level"), single(args, "module"), single(args, "search")
    since = optional_time(args, "since")
    frame = recent_logs(get_runtime().read_engine, limit, level, module, since, search)
    return jsonify({"logs": log_records(frame)})


@bp.get("/api/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of every route."""
    return jsonify(openapi_document())

