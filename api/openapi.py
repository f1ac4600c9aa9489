"""The OpenAPI 3.1 description of every route, built as data so it stays next to the code it describes."""
from __future__ import annotations

import copy
from functools import lru_cache

from sqlalchemy import Boolean, DateTime, Float, Integer

from collector.alerts import SEVERITIES
from settings import THRESHOLD_NAMES
from queries.alerts import KINDS as ALERT_KINDS
from queries.alerts import STATES as ALERT_STATES
from queries.filters import MAX_CUSTOM_DAYS, MAX_VALUES, RANGE_CHOICES
from queries.logs import LEVELS
from queries.pingdata import GROUPS, MAX_POINTS
from queries.status import STATUSES
from storage.schema import ping_results

TIMESTAMP = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
             "description": "ISO 8601 in UTC, e.g. 2026-11-01T12:00:00Z"}
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def nullable(schema: dict) -> dict:
    """The schema, also allowing null."""
    return {**schema, "type": [schema["type"], "null"]}


def obj(properties: dict, required: list[str] | None = None) -> dict:
    """A closed object schema; every property is required unless `required` says otherwise."""
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "required": list(properties) if required is None else required}


def array(items: dict) -> dict:
    """An array schema."""
    return {"type": "array", "items": items}


def query(name: str, schema: dict, description: str, repeatable: bool = False) -> dict:
    """A query parameter; repeatable ones are arrays in form style (?country=A&country=B)."""
    param = {"name": name, "in": "query", "required": False, "description": description,
             "schema": array(schema) if repeatable else schema}
    if repeatable:
        param.update(style="form", explode=True)
    return param


def content(schema: dict, media_type: str = "application/json") -> dict:
    """A response content map with one media type."""
    return {media_type: {"schema": schema}}


def responses(ok: dict, description: str, *, bad_request: bool = True) -> dict:
    """A 200 with `ok` content, plus the 400 error when the route takes validated parameters."""
    out = {"200": {"description": description, "content": ok}}
    if bad_request:
        out["400"] = {"description": "A bad query parameter; the message names it and what was expected.",
                      "content": content(ERROR_REF)}
    return out


def filter_parameters() -> list[dict]:
    """The row filters /api/ping-data, /api/export-data and /api/alerts share."""
    def many(name: str, a: str, b: str) -> str:
        return (f"Repeat it ({name}={a}&{name}={b}) or separate with commas; at most {MAX_VALUES} values. "
                "Default: all.")

    return [
        query("country", {"type": "string"}, f"A country as configured. {many('country', 'Kenya', 'Egypt')}", True),
        query("partner", {"type": "string"}, "A partner as configured. "
                                             f"{many('partner', 'Lagos%20Link', 'Nile%20Telecom')}", True),
        query("server", {"type": "string"}, "A server id as /api/servers/status lists it: the IP or host name, or "
                                            f"host:port for tcp probes. {many('server', '127.0.0.1', '127.0.0.4')}",
              True),
        collector_parameter(),
        query("range", {"type": "string", "enum": list(RANGE_CHOICES), "default": "24h"},
              "The window ending now, or custom with start and end. Without range, start or end implies custom; "
              "with a named range, start and end are ignored."),
        query("start", {"type": "string"}, "Start of a custom range, included: ISO 8601 with an offset (+03:00, "
                                           "URL-encoded as %2B03:00) or Z; a time without an offset is UTC."),
        query("end", {"type": "string"}, "End of a custom range, excluded; after start, and at most "
                                         f"{MAX_CUSTOM_DAYS} days after it."),
    ]


def collector_parameter() -> dict:
    """collector= (repeatable): the vantage points whose rows a route reads."""
    return query("collector", {"type": "string"}, "A collector (vantage point) name as /api/collectors lists it: "
                 "only its rows. Repeat it for several, whose figures are then summed exactly. Default: all.", True)


def vantage_schema() -> dict:
    """One collector's view of a server in /api/servers/status."""
    number = {"type": "number"}
    return obj({"collector": {"type": "string"}, "status": {"type": "string", "enum": list(STATUSES)},
                "latency_ms": nullable(number), "loss_pct": nullable(number), "jitter_ms": nullable(number),
                "last_check": nullable(TIMESTAMP)})


def collectors_path() -> dict:
    """GET /api/collectors."""
    item = obj({"name": {"type": "string"}, "location": {"type": "string"}, "version": nullable({"type": "string"}),
                "status": {"type": "string", "enum": ["up", "stale"]}, "started_at": nullable(TIMESTAMP),
                "last_round_at": nullable(TIMESTAMP), "servers_probed": nullable({"type": "integer"}),
                "last_error": nullable({"type": "string"}), "rounds_waiting": {"type": "integer"}})
    body = obj({"collectors": array(item)})
    return {"get": {"summary": "The collectors (vantage points) writing this database",
                    "description": "status: up while the collector's last round is newer than stale_after_seconds, "
                                   "else stale. rounds_waiting: rounds in its local spool when it last reported.",
                    "responses": responses(content(body), "Every collector, by name.", bad_request=False)}}


def point_array(item_type: str) -> dict:
    """A series' value array: one entry per timestamp, null where there is no value."""
    return array({"type": [item_type, "null"]})


def series_schema() -> dict:
    """One series of /api/ping-data; server, partner and ip only with group=server."""
    properties = {"key": {"type": "string"}, "country": {"type": "string"}, "server": {"type": "string"},
                  "partner": {"type": "string"}, "ip": {"type": "string"}, "timestamps": array(TIMESTAMP),
                  "latency_ms": point_array("number"), "loss_pct": point_array("number"),
                  "jitter_ms": point_array("number"), "mos": point_array("number"),
                  "rounds": array({"type": "integer", "minimum": 0})}
    required = ["key", "country", "timestamps", "latency_ms", "loss_pct", "jitter_ms", "mos", "rounds"]
    return obj(properties, required)


def ping_data_schema() -> dict:
    """The JSON body of /api/ping-data."""
    return obj({"start": TIMESTAMP, "end": TIMESTAMP, "bucket_seconds": {"type": "integer", "minimum": 1},
                "group": {"type": "string", "enum": list(GROUPS)},
                "series": array({"$ref": "#/components/schemas/Series"})})


def open_alert_schema() -> dict:
    """One entry of a server's open_alerts in /api/servers/status."""
    return obj({"id": {"type": "integer"}, "kind": {"type": "string", "enum": list(ALERT_KINDS)},
                "severity": {"type": "string", "enum": list(SEVERITIES)}, "started_at": TIMESTAMP})


def alert_schema() -> dict:
    """One alert of /api/alerts; server, partner and country are null for a host-wide (connectivity) alert."""
    text = {"type": "string"}
    return obj({"id": {"type": "integer"}, "server": nullable(text), "partner": nullable(text),
                "country": nullable(text), "kind": {"type": "string", "enum": list(ALERT_KINDS)},
                "severity": {"type": "string", "enum": list(SEVERITIES)},
                "state": {"type": "string", "enum": ["open", "resolved"]}, "started_at": TIMESTAMP,
                "resolved_at": nullable(TIMESTAMP), "peak": nullable({"type": "number"}), "message": text,
                "collector": nullable(text)})


def server_schema() -> dict:
    """One server of /api/servers/status."""
    number = {"type": "number"}
    return obj({
        "id": {"type": "string"}, "partner": {"type": "string"}, "country": {"type": "string"},
        "ip": {"type": "string"}, "dn_ext": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "quality": {"type": ["string", "null"], "enum": [*THRESHOLD_NAMES, None]},
        "latency_ms": nullable(number), "loss_pct": nullable(number), "jitter_ms": nullable(number),
        "mos": nullable(number), "r_factor": nullable(number), "last_check": nullable(TIMESTAMP),
        "stale": {"type": "boolean"}, "warnings": array({"type": "string"}),
        "open_alerts": array({"$ref": "#/components/schemas/OpenAlert"}),
        "vantage_points": array(vantage_schema()),
    })


def log_schema() -> dict:
    """One line of /api/logs."""
    return obj({"id": {"type": "integer"}, "timestamp": TIMESTAMP,
                "level": {"type": "string", "enum": list(LEVELS)}, "module": {"type": ["string", "null"]},
                "message": {"type": "string"}})


def column_schema(column) -> dict:
    """The JSON type of a stored ping_results column (every one may be null in an old database)."""
    for sql_type, schema in ((Boolean, {"type": "boolean"}), (Integer, {"type": "integer"}),
                             (Float, {"type": "number"}), (DateTime, TIMESTAMP)):
        if isinstance(column.type, sql_type):
            return nullable(schema)
    return nullable({"type": "string"})


def export_schema() -> dict:
    """The JSON body of /api/export-data: the window and one object per stored row."""
    row = obj({c.name: column_schema(c) for c in ping_results.columns})
    return obj({"start": TIMESTAMP, "end": TIMESTAMP, "rows": array(row)})


def health_schema() -> dict:
    """The body of /healthz."""
    return obj({"status": {"type": "string", "enum": ["ok", "starting", "overdue", "error"]},
                "reason": {"type": "string"}, "checked_at": TIMESTAMP, "last_round_finished_at": nullable(TIMESTAMP),
                "seconds_since_last_round": nullable({"type": "number"}), "overdue_after_seconds": {"type": "number"},
                "collector": collector_schema(), "config": config_state_schema()})


def config_state_schema() -> dict:
    """/healthz's view of the config file: ok, or error with the problems of an edit that was not applied."""
    return obj({"status": {"type": "string", "enum": ["ok", "error"]}, "error": nullable({"type": "string"})})


def collector_schema() -> dict:
    """/healthz's view of the collector in this process (all null when it runs elsewhere or not at all)."""
    return obj({"running": nullable({"type": "boolean"}), "last_round_at": nullable(TIMESTAMP),
                "last_error": nullable({"type": "string"}),
                "rounds_waiting": nullable({"type": "integer"})})


def ping_data_path() -> dict:
    """GET /api/ping-data."""
    params = filter_parameters() + [
        query("group", {"type": "string", "enum": list(GROUPS), "default": "country"},
              "One series per country or per server."),
        query("format", {"type": "string", "enum": ["json", "csv"], "default": "json"}, "Response format."),
    ]
    ok = {**content({"$ref": "#/components/schemas/PingData"}),
          **content({"type": "string", "description": "Long form: one row per series and timestamp."}, "text/csv")}
    return {"get": {"summary": "Latency, loss and jitter over time",
                    "description": "Buckets grow with the range (bucket_seconds) so a series has at most "
                                   f"{MAX_POINTS} points. A bucket with rounds but no reply has null latency and "
                                   "jitter. Empty "
                                   "buckets are left out, except that one null point (rounds 0) is inserted where "
                                   "consecutive points are more than twice max(bucket, collector interval) apart, "
                                   "so line charts break at outages.",
                    "parameters": params, "responses": responses(ok, "The series; one per key that has data.")}}


def export_path() -> dict:
    """GET /api/export-data."""
    params = filter_parameters() + [
        query("format", {"type": "string", "enum": ["csv", "json"], "default": "csv"}, "Download format."),
    ]
    ok = {**content({"type": "string", "description": "Header row with every stored column, then one row per "
                                                      "server per round, oldest first. Text cells that a "
                                                      "spreadsheet would run as a formula start with '."},
                    "text/csv"), **content({"$ref": "#/components/schemas/Export"})}
    out = responses(ok, "The selected rows as an attachment, streamed.")
    out["200"]["headers"] = {"Content-Disposition": {"schema": {"type": "string"},
                                                     "description": 'attachment; filename="latency-....csv"'}}
    return {"get": {"summary": "Raw rows for download", "parameters": params, "responses": out}}


def status_path() -> dict:
    """GET /api/servers/status."""
    body = obj({"generated_at": TIMESTAMP, "servers": array({"$ref": "#/components/schemas/Server"})})
    return {"get": {"summary": "Current status of every configured server",
                    "description": "status: up (answered, no concerns), degraded (answered with a warning), down "
                                   "(no reply), stale (no result for stale_after_seconds, or an open stale alert), "
                                   "unknown (never measured). quality is the latency class of the latest round, null "
                                   "when down or unknown. warnings: the latest round's concerns, then one "
                                   "'kind: message' per open alert; open_alerts lists those alerts, oldest first. "
                                   "With several collectors, status is merged: down only when every collector that "
                                   "measured the server recently sees it down, partial when some do; otherwise the "
                                   "worst state they report. vantage_points gives each collector's own view.",
                    "parameters": [collector_parameter()],
                    "responses": responses(content(body), "Every configured server, in config order.",
                                           bad_request=False)}}


def alerts_path() -> dict:
    """GET /api/alerts."""
    params = [query("state", {"type": "string", "enum": list(ALERT_STATES), "default": "open"},
                    "open: every alert open now (the time window does not apply); resolved: alerts resolved whose "
                    "life overlaps the window; all: both, each alert overlapping the window (an open one lasts "
                    "until now).")] + filter_parameters()
    body = obj({"alerts": array({"$ref": "#/components/schemas/Alert"})})
    return {"get": {"summary": "Alerts: open, resolved or all, newest first",
                    "description": "At most 1000 alerts, newest start first. Country, partner and server filters "
                                   "keep host-wide alerts (server null, kind connectivity), which concern every "
                                   "partner.",
                    "parameters": params, "responses": responses(content(body), "The matching alerts.")}}


def logs_path() -> dict:
    """GET /api/logs."""
    params = [
        query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}, "Most lines to return."),
        query("level", {"type": "string"}, "Minimum severity, case-insensitive: "
                                           f"{', '.join(l.lower() for l in LEVELS)} (warn = warning)."),
        query("module", {"type": "string"}, "Logger name prefix: collector matches collector.service and "
                                            "collector.probes.ping; % and _ match themselves."),
        query("since", {"type": "string"}, "Only lines at or after this ISO 8601 time."),
        query("search", {"type": "string"}, "Only lines whose message contains this text."),
    ]
    body = obj({"logs": array({"$ref": "#/components/schemas/LogLine"})})
    return {"get": {"summary": "Recent log lines, newest first", "parameters": params,
                    "responses": responses(content(body), "The matching lines.")}}


def plain_path(summary: str, ok: dict, extra: dict | None = None) -> dict:
    """A parameterless GET."""
    out = {"200": {"description": summary, "content": ok}, **(extra or {})}
    return {"get": {"summary": summary, "responses": out}}


def paths() -> dict:
    """Every route."""
    health = content({"$ref": "#/components/schemas/Health"})
    return {
        "/api/ping-data": ping_data_path(),
        "/api/servers/status": status_path(),
        "/api/alerts": alerts_path(),
        "/api/collectors": collectors_path(),
        "/api/logs": logs_path(),
        "/api/export-data": export_path(),
        "/api/openapi.json": plain_path("This document", content({"type": "object"})),
        "/healthz": plain_path("The collector finishes rounds on time (or is still starting)", health,
                               {"503": {"description": "status overdue: no round finished for longer than "
                                                       "2 x interval_seconds + ping_timeout x ping_count; or "
                                                       "status error: the collector in this process cannot "
                                                       "store rounds, or the database cannot be read.",
                                        "content": health}}),
        "/metrics": plain_path("Prometheus exposition; text format 0.0.4 unless the Accept header asks for "
                               "OpenMetrics or text 1.0.0", {**content({"type": "string"}, "text/plain"),
                                                            **content({"type": "string"},
                                                                      "application/openmetrics-text")}),
    }


# Optional: with no auth configured every route is open ({}); with auth.api_token a bearer token, and with
# auth.users a dashboard login session, opens every route but /healthz (security/auth.py).
SECURITY = [{"bearerAuth": []}, {"sessionCookie": []}, {}]
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "auth.api_token (or LATENCY_MONITOR_API_TOKEN): Authorization: Bearer <token>."},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "latency_monitor_session",
                      "description": "The session of a user logged in at /login (when auth.users is configured)."},
}


def with_auth(all_paths: dict) -> dict:
    """Every route but /healthz: the security requirement and the 401 a request without credentials gets."""
    unauthorized = {"description": "Authentication is configured and the request has neither a valid bearer token "
                                   "nor a login session.", "content": content(ERROR_REF),
                    "headers": {"WWW-Authenticate": {"schema": {"type": "string"},
                                                     "description": 'Bearer realm="latency-monitor"'}}}
    for path, item in all_paths.items():
        if path != "/healthz":
            item["get"].update(security=SECURITY, responses={**item["get"]["responses"], "401": unauthorized})
    return all_paths


@lru_cache(maxsize=1)
def _document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Latency Monitor API", "version": "1.0.0",
                 "description": "Latency, loss and jitter of the SIP trunk partners' servers. Field names carry "
                                "their units; times are ISO 8601 in UTC with a Z. Every error is "
                                '{"error": "..."} naming the parameter and what was expected.'},
        "paths": with_auth(paths()),
        "security": [{}],  # /healthz is always open; the other routes say what they accept
        "components": {"securitySchemes": SECURITY_SCHEMES,
                       "schemas": {"Error": obj({"error": {"type": "string"}}), "Series": series_schema(),
                                   "PingData": ping_data_schema(), "Server": server_schema(),
                                   "OpenAlert": open_alert_schema(), "Alert": alert_schema(),
                                   "LogLine": log_schema(), "Export": export_schema(), "Health": health_schema()}},
    }


def openapi_document() -> dict:
    """The OpenAPI document (built once per process; callers get their own copy)."""
    return copy.deepcopy(_document())


def response_validator(path: str, status: int | str, media_type: str = "application/json"):
    """A jsonschema validator for one documented response body, e.g. for contract tests."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    base = "urn:latency-monitor:openapi"
    steps = ["paths", path, "get", "responses", str(status), "content", media_type, "schema"]
    pointer = "/".join(step.replace("~", "~0").replace("/", "~1") for step in steps)
    registry = Registry().with_resource(base, Resource.from_contents(openapi_document(),
                                                                     default_specification=DRAFT202012))
    return Draft202012Validator({"$ref": f"{base}#/{pointer}"}, registry=registry)
