"""Responses checked against the OpenAPI document, and the paths and parameters it documents."""
from __future__ import annotations

import json
from functools import lru_cache

from api.openapi import openapi_document, response_validator


DOCUMENTED = ["/api/ping-data", "/api/servers/status", "/api/alerts", "/api/collectors", "/api/logs", "/api/export-data",
              "/api/openapi.json", "/healthz", "/metrics", "/api/sla", "/api/incidents", "/api/maintenance"]
PARAMETERS = ["country", "partner", "server", "range", "start", "end", "group", "format", "limit", "level",
              "module", "since", "search", "state", "probe", "month", "scope", "collector"]
AWKWARD = ["", " ", "open", "resolved", "all",
           "1h", "24h", "7d", "30d", "custom", "json", "csv", "server", "country", "0", "-1", "1000",
           "1001", "1e3", "NaN", "inf", "١٢", "DEBUG", "warn", "2026-01-01", "2026-01-01T00:00:00Z",
           "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30", "%00", "%", "\x00",
           "'; DROP TABLE ping_results;--", "Kenya", "127.0.0.1", "=1+1", "a" * 3000, ",,,", "Z", "2026-11", "partner", "0000-00"]


@lru_cache(maxsize=None)
def validator(path: str, status: int):
    return response_validator(path, status)


def assert_matches_spec(path: str, response) -> None:
    """The status is documented for the path, the media type for the status, and a JSON body fits its schema."""
    body = response.get_data(as_text=True)  # reads a streamed body to the end, so a late failure shows too
    assert response.status_code < 500, body[:300]
    paths = openapi_document()["paths"]
    if path not in paths:  # an unknown /api/ path: the shared error shape
        assert response.status_code == 404
        assert set(response.get_json()) == {"error"}
        return
    documented = paths[path]["get"]["responses"]
    assert str(response.status_code) in documented, (path, response.status_code, body[:300])
    assert response.mimetype in documented[str(response.status_code)]["content"]
    if response.mimetype == "application/json":
        validator(path, response.status_code).validate(json.loads(body))
