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
from storage.schema import RAW_COLUMNS, sip_results
from queries.sipseries import SIP_EXPORT_COLUMNS

PROBE_PARAMETER_TEXT = ("network: the network probe's rows (ICMP or TCP); sip: the SIP OPTIONS checks of the "
                        "servers that have one.")

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
                "last_check": nullable(TIMESTAMP),
                # Its own latest SIP check's status (null without a SIP check); status already counts it.
                "sip_status": {"type": ["string", "null"], "enum": ["up", "maintenance", "down", None]}})


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


def sip_series_schema() -> dict:
    """One series of /api/ping-data?probe=sip: mean response time, request loss, highest code, share of up checks."""
    properties = {"key": {"type": "string"}, "country": {"type": "string"}, "server": {"type": "string"},
                  "partner": {"type": "string"}, "ip": {"type": "string"}, "timestamps": array(TIMESTAMP),
                  "response_ms": point_array("number"), "loss_pct": point_array("number"),
                  "code": point_array("number"), "up_pct": point_array("number"),
                  "rounds": array({"type": "integer", "minimum": 0})}
    required = ["key", "country", "timestamps", "response_ms", "loss_pct", "code", "up_pct", "rounds"]
    return obj(properties, required)


def sip_check_schema() -> dict:
    """A server's latest SIP OPTIONS check in /api/servers/status (merged over the vantage points like the status:
    partial when some see SIP down and others do not; the figures are the newest check agreeing with it)."""
    text, number = {"type": "string"}, {"type": "number"}
    def choice(*values: str) -> dict:
        return {"type": ["string", "null"], "enum": [*values, None]}

    return obj({"status": choice("up", "maintenance", "down", "partial"),
                "code": nullable({"type": "integer"}), "reason": nullable(text), "response_ms": nullable(number),
                "transport": choice("udp", "tcp", "tls"),
                "server_header": nullable(text), "checked_at": nullable(TIMESTAMP),
                "tls_days_left": nullable(number),
                "failure": choice("timeout", "refused", "tls", "code", "error"),
                "loss_pct": nullable(number), "tls_verified": nullable({"type": "boolean"}),
                "down_for_calls": {"type": "boolean"}})


def ping_data_schema() -> dict:
    """The JSON body of /api/ping-data."""
    return obj({"start": TIMESTAMP, "end": TIMESTAMP, "bucket_seconds": {"type": "integer", "minimum": 1},
                "group": {"type": "string", "enum": list(GROUPS)},
                "probe": {"type": "string", "enum": ["network", "sip"]},
                "series": array({"anyOf": [{"$ref": "#/components/schemas/Series"},
                                           {"$ref": "#/components/schemas/SipSeries"}]})})


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
                "acknowledgement": {"oneOf": [{"type": "null"}, obj({
                    "by": text, "at": TIMESTAMP, "comment": text, "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "escalated_since": {"type": "boolean"}})]},
                "path_snapshot": nullable(text), "collector": nullable(text)})


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
        "down_for_calls": {"type": "boolean"},
        "sip": {"anyOf": [{"$ref": "#/components/schemas/SipCheck"}, {"type": "null"}]},
        "maintenance": array({"type": "string"}),
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
    """The JSON body of /api/export-data: the window and one object per stored row (ping_results, or with
    probe=sip a sip_results row with its server's labels)."""
    row = obj({c.name: column_schema(c) for c in RAW_COLUMNS})
    labels = {c.name: c for c in RAW_COLUMNS}
    sip_row = obj({name: column_schema(sip_results.c[name] if name in sip_results.c else labels[name])
                   for name in SIP_EXPORT_COLUMNS})
    return obj({"start": TIMESTAMP, "end": TIMESTAMP, "probe": {"type": "string", "enum": ["sip"]},
                "rows": array({"anyOf": [row, sip_row]})}, ["start", "end", "rows"])


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
        query("probe", {"type": "string", "enum": ["network", "sip"], "default": "network"},
              PROBE_PARAMETER_TEXT + " SIP series carry response_ms, loss_pct (requests unanswered), code (the "
              "highest final code in the bucket) and up_pct instead of latency, jitter and MOS; they are read from "
              "raw rows, so they reach back retention.raw_days."),
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
        query("probe", {"type": "string", "enum": ["network", "sip"], "default": "network"},
              PROBE_PARAMETER_TEXT + " With sip, one row per server per round from sip_results (file name "
              "sip-latency-....csv)."),
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
                                   "(no reply, or the network answers but the SIP check is down: down_for_calls "
                                   "true), stale (no result for stale_after_seconds, or an open stale alert), "
                                   "unknown (never measured). quality is the latency class of the latest round, null "
                                   "when down or unknown. warnings: the latest round's concerns, then one "
                                   "'kind: message' per open alert; open_alerts lists those alerts, oldest first. sip: the "
                                   "latest SIP OPTIONS check (response_ms its mean response time), null for a server "
                                   "without one; a SIP check in maintenance (503 with Retry-After) makes an up "
                                   "server degraded. "
                                   "With several collectors, status is merged: down only when every collector that "
                                   "measured the server recently sees it down, partial when some do; otherwise the "
                                   "worst state they report. vantage_points gives each collector's own view.",
                    "parameters": [collector_parameter()],
                    "responses": responses(content(body), "Every configured server, in config order.")}}


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


def sla_window_parameters() -> list[dict]:
    """The usual filters plus month, for /api/sla and /api/incidents."""
    return filter_parameters() + [query("month", {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
                                        "A UTC calendar month as YYYY-MM (e.g. 2026-11); replaces range, start and "
                                        "end.")]


def sla_row_schema() -> dict:
    """One row of /api/sla (seconds are time-weighted; null where there is nothing to average)."""
    seconds, maybe = {"type": "number", "minimum": 0}, nullable({"type": "number"})
    props = {"key": {"type": "string"}, "availability_percent": maybe, "up_seconds": seconds,
             "down_seconds": seconds, "degraded_seconds": seconds, "maintenance_seconds": seconds,
             "unmeasured_seconds": seconds, "incidents": {"type": "integer", "minimum": 0}, "mttr_seconds": maybe,
             "mtbf_seconds": maybe, "longest_incident_seconds": maybe, "sla_target_percent": {"type": "number"},
             "error_budget_seconds": seconds, "error_budget_left_seconds": {"type": "number"},
             "met": nullable({"type": "boolean"}), "any_server_down_seconds": seconds}
    return obj(props)


def sla_path() -> dict:
    """GET /api/sla."""
    params = [query("group", {"type": "string", "enum": ["server", "partner", "country"], "default": "partner"},
                    "One row per server, per partner (down while all its servers are down) or per country (down "
                    "while all its partners are)."),
              query("format", {"type": "string", "enum": ["json", "csv"], "default": "json"}, "Response format.")]
    body = obj({"start": TIMESTAMP, "end": TIMESTAMP, "group": {"type": "string"},
                "rows": array({"$ref": "#/components/schemas/SlaRow"})})
    csv_body = content({"type": "string", "description": "One row per key, the JSON row's fields as columns."},
                       "text/csv")
    return {"get": {"summary": "Availability and SLA per server, partner or country",
                    "description": "Time-weighted: each round stands for interval_seconds. availability_percent = "
                                   "up / (up + down); degraded rounds count as up (and in degraded_seconds); "
                                   "maintenance (rounds and outages inside maintenance windows) and unmeasured time are left out. incidents, mttr_seconds and "
                                   "longest_incident_seconds count incidents that began in the window; mtbf_seconds "
                                   "= up_seconds / incidents. error_budget_seconds = (1 - target/100) x (up + "
                                   "down); met is null without measured time. From the hourly availability rollups "
                                   "and the incident records (partial hours at the edges from the raw rows), kept "
                                   "per vantage point: a server measured by several collectors is down only while "
                                   "every one of them that measured it saw it down; collector= gives one's own.",
                    "parameters": params + sla_window_parameters(),
                    "responses": responses({**content(body), **csv_body}, "The rows, sorted by key.")}}


def incident_schema() -> dict:
    """One incident of /api/incidents; id, server_id and down_rounds are null for a partner-wide incident; id,
    down_rounds and collector for a server seen down from all its vantage points (the overlap of theirs)."""
    text = {"type": "string"}
    return obj({"id": nullable({"type": "integer"}), "server_id": nullable(text), "partner": text, "country": text,
                "started_at": TIMESTAMP, "ended_at": nullable(TIMESTAMP), "ongoing": {"type": "boolean"},
                "duration_seconds": {"type": "number"}, "down_rounds": nullable({"type": "integer"}),
                "cause": text, "collector": nullable(text)})


def incidents_path() -> dict:
    """GET /api/incidents."""
    params = [query("scope", {"type": "string", "enum": ["server", "partner"], "default": "server"},
                    "server: every span of down of a server, first down round to first up round (as its one vantage "
                    "point saw it; measured by several collectors, the spans when all of them saw it down); partner: "
                    "the spans when all of a partner's servers were down together."),
              query("format", {"type": "string", "enum": ["json", "csv"], "default": "json"}, "Response format.")]
    body = obj({"start": TIMESTAMP, "end": TIMESTAMP, "scope": {"type": "string"},
                "incidents": array({"$ref": "#/components/schemas/Incident"})})
    return {"get": {"summary": "Incidents overlapping the window, newest first",
                    "parameters": params + sla_window_parameters(),
                    "responses": responses({**content(body), **content({"type": "string"}, "text/csv")},
                                           "The incidents; an open one has ended_at null and lasts until now.")}}


WRITE_ERRORS = {
    "403": {"description": "The caller is not an operator (a viewer user or token; with no auth configured, a "
                           "client that is not on loopback; a session write without X-CSRF-Token).",
            "content": content(ERROR_REF)}}
WINDOW = {"type": "object", "description": "A maintenance window: exactly one of server, partner, country; either "
                                           "start and end (ISO 8601 UTC) or weekly {day, start HH:MM, "
                                           "duration_minutes, time_zone (IANA)}; comment; id, created_by, source "
                                           "(config or api) and active in answers."}


def ack_path() -> dict:
    """POST /api/alerts/{id}/ack."""
    body = {"required": True, "content": content(obj({"comment": {"type": "string"}}))}
    return {"post": {"summary": "Acknowledge an open alert with a comment (operator)",
                     "description": "The alert stays open and shows who acknowledged it, when and why; its "
                                    "notifications stop until it escalates past the acknowledged severity.",
                     "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                     "requestBody": body, "responses": {
                         "200": {"description": "The acknowledged alert",
                                 "content": content(obj({"alert": {"$ref": "#/components/schemas/Alert"}}))},
                         "400": {"description": "No comment", "content": content(ERROR_REF)},
                         "404": {"description": "No such alert", "content": content(ERROR_REF)},
                         "409": {"description": "The alert is resolved", "content": content(ERROR_REF)},
                         **WRITE_ERRORS}}}


def maintenance_path() -> dict:
    """GET and POST /api/maintenance."""
    listed = obj({"windows": array(WINDOW)})
    return {"get": {"summary": "Maintenance windows of the config file and of the API",
                    "responses": responses(content(listed), "Every window.", bad_request=False)},
            "post": {"summary": "Add a maintenance window (operator)", "requestBody": {
                "required": True, "content": content(WINDOW)}, "responses": {
                "201": {"description": "The stored window", "content": content(obj({"window": WINDOW}))},
                "400": {"description": "A bad window; the message names the key", "content": content(ERROR_REF)},
                **WRITE_ERRORS}}}


def maintenance_item_path() -> dict:
    """DELETE /api/maintenance/{id}."""
    return {"delete": {"summary": "Remove a window made through the API (operator)",
                       "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                       "responses": {"204": {"description": "Removed"},
                                     "404": {"description": "No such window", "content": content(ERROR_REF)},
                                     **WRITE_ERRORS}}}


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
        "/api/sla": sla_path(),
        "/api/incidents": incidents_path(),
        "/api/alerts/{id}/ack": ack_path(),
        "/api/maintenance": maintenance_path(),
        "/api/maintenance/{id}": maintenance_item_path(),
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
            for operation in item.values():
                operation.update(security=SECURITY, responses={**operation["responses"], "401": unauthorized})
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
                                   "SipSeries": sip_series_schema(), "SipCheck": sip_check_schema(),
                                   "OpenAlert": open_alert_schema(), "Alert": alert_schema(),
                                   "LogLine": log_schema(), "Export": export_schema(), "Health": health_schema(),
                                   "SlaRow": sla_row_schema(), "Incident": incident_schema()}},
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
