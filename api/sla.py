"""GET /api/sla and GET /api/incidents (issue 15): SLA figures and incidents, filtered like the other routes."""
from __future__ import annotations

import dataclasses

import pandas as pd
from flask import request

from api.cache import cached_response, json_body
from api.params import choice, filters_from, single
from common.timeutil import iso_z, utcnow
from queries.export import iter_csv
from queries.filters import Filters
from queries.sla import EXTRA_FIELDS, GROUPS, ROW_FIELDS, incident_records, month_window, sla_rows
from api.routes import bp  # the "api" blueprint: /api path guard and error handlers apply
from runtime import get_runtime

INCIDENT_SCOPES = ("server", "partner")
INCIDENT_FIELDS = ("id", "server_id", "partner", "country", "started_at", "ended_at", "ongoing", "duration_seconds",
                   "down_rounds", "cause", "collector")


def sla_filters(args) -> Filters:
    """The usual filters; `month=YYYY-MM` (if given) sets the window to that UTC calendar month instead."""
    filters = filters_from(args)
    month = single(args, "month")
    if month is None:
        return filters
    start, end = month_window(month)
    return dataclasses.replace(filters, start=start, end=end, range="custom")


def _body(payload: dict, rows: list[dict], columns: tuple[str, ...], fmt: str) -> tuple[bytes, str]:
    """JSON (payload) or CSV of rows in `columns` order."""
    if fmt == "csv":
        return "".join(iter_csv([pd.DataFrame(rows, columns=list(columns))], list(columns))).encode(), "text/csv"
    return json_body(payload)


@bp.get("/api/sla")
def sla():
    """Availability and SLA figures per server, partner or country for a window or a month; JSON or CSV."""
    args = request.args
    filters, group = sla_filters(args), choice(args, "group", GROUPS, "partner")
    fmt = choice(args, "format", ("json", "csv"), "json")
    return cached_response(lambda: sla_body(filters, group, fmt))


def sla_body(filters: Filters, group: str, fmt: str) -> tuple[bytes, str]:
    """The /api/sla body as (bytes, mimetype)."""
    rt = get_runtime()
    rows = sla_rows(rt.read_engine, rt.config, filters, group, utcnow())
    payload = {"start": iso_z(filters.start), "end": iso_z(filters.end), "group": group, "rows": rows}
    return _body(payload, rows, ROW_FIELDS + EXTRA_FIELDS, fmt)


@bp.get("/api/incidents")
def incidents():
    """Incidents overlapping the window (or month), newest first: per server, or partner-wide (scope=partner)."""
    args = request.args
    filters, scope = sla_filters(args), choice(args, "scope", INCIDENT_SCOPES, "server")
    fmt = choice(args, "format", ("json", "csv"), "json")
    return cached_response(lambda: incidents_body(filters, scope, fmt))


def incidents_body(filters: Filters, scope: str, fmt: str) -> tuple[bytes, str]:
    """The /api/incidents body as (bytes, mimetype)."""
    rt = get_runtime()
    rows = [dict(r, started_at=iso_z(r["started_at"]), ended_at=iso_z(r["ended_at"]))
            for r in incident_records(rt.read_engine, rt.config, filters, utcnow(), scope)]
    payload = {"start": iso_z(filters.start), "end": iso_z(filters.end), "scope": scope, "incidents": rows}
    return _body(payload, rows, INCIDENT_FIELDS, fmt)
