"""Bad requests: every bad query string is a 400 naming the parameter; unknown paths and methods are JSON too."""
from __future__ import annotations

import pytest

from queries.filters import MAX_VALUES

ROUTES = ["/api/ping-data", "/api/servers/status", "/api/logs", "/api/export-data", "/api/openapi.json",
          "/healthz", "/metrics"]
FILTERED = ["/api/ping-data", "/api/export-data"]

# (query string, the parameter the error must name, a word of what was expected)
FILTER_ERRORS = [
    ("range=2h", "range", "1h, 24h, 7d, 30d, custom"),
    ("range=1h&range=7d", "range", "only once"),
    ("range=custom", "start", "required"),
    ("range=custom&start=2026-01-01T00:00:00Z", "end", "required"),
    ("range=custom&start=yesterday&end=2026-01-02T00:00:00Z", "start", "ISO 8601"),
    ("range=custom&start=2026-01-01T00:00:00Z&end=2026-13-01", "end", "ISO 8601"),
    ("start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "start", "before end"),
    ("start=2026-01-01T00:00:00Z&end=2026-01-01T00:00:00Z", "start", "before end"),
    ("start=2024-01-01T00:00:00Z&end=2025-02-05T00:00:00Z", "end", "400 days"),
    ("start=0001-01-01T00:00:00%2B05:00&end=2026-01-01", "start", "ISO 8601"),
    ("country=" + ",".join(f"c{i}" for i in range(MAX_VALUES + 1)), "country", f"at most {MAX_VALUES}"),
    # PostgreSQL text cannot hold a NUL: refused up front on both backends instead of a 500 on one of them.
    ("country=Kenya%00", "country", "NUL"), ("partner=%00", "partner", "NUL"), ("server=a%00b", "server", "NUL"),
]
ROUTE_ERRORS = [
    ("/api/ping-data", "group=partner", "group", "country, server"),
    ("/api/ping-data", "format=xml", "format", "json, csv"),
    ("/api/export-data", "format=xlsx", "format", "csv, json"),
    ("/api/logs", "limit=0", "limit", "from 1 to 1000"),
    ("/api/logs", "limit=1001", "limit", "from 1 to 1000"),
    ("/api/logs", "limit=ten", "limit", "whole number"),
    ("/api/logs", "limit=-1", "limit", "whole number"),
    ("/api/logs", "limit=1.5", "limit", "whole number"),
    ("/api/logs", "limit=99999999999999999999", "limit", "whole number"),
    ("/api/logs", "level=loud", "level", "debug, info, warning, error, critical"),
    ("/api/logs", "since=last tuesday", "since", "ISO 8601"),
    ("/api/logs", "module=coll%00", "module", "NUL"),
    ("/api/logs", "search=%00", "search", "NUL"),
]


def assert_error(response, status: int, *words: str) -> None:
    assert response.status_code == status
    assert response.is_json and set(response.get_json()) == {"error"}
    for word in words:
        assert word in response.get_json()["error"]


@pytest.mark.parametrize("path", FILTERED)
@pytest.mark.parametrize("query, param, expected", FILTER_ERRORS)
def test_bad_filters_are_400_naming_the_parameter(client, path, query, param, expected):
    response = client.get(f"{path}?{query}")
    assert_error(response, 400, expected)
    assert response.get_json()["error"].startswith(f"{param}:")


@pytest.mark.parametrize("path, query, param, expected", ROUTE_ERRORS)
def test_bad_route_parameters_are_400_naming_the_parameter(client, path, query, param, expected):
    response = client.get(f"{path}?{query}")
    assert_error(response, 400, expected)
    assert response.get_json()["error"].startswith(f"{param}:")


def test_a_400_day_custom_range_is_allowed(client):
    assert client.get("/api/ping-data?start=2024-01-01T00:00:00Z&end=2025-02-04T00:00:00Z").status_code == 200


@pytest.mark.parametrize("path", ["/api/nope", "/api", "/api/", "/api//", "/api//logs", "/api/servers",
                                  "/api/ping-data/extra", "/api/logs/1"])
def test_unknown_api_paths_are_json_404(client, path):
    assert_error(client.get(path), 404, path)
    assert_error(client.post(path), 404, path)


@pytest.mark.parametrize("path", ROUTES)
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_wrong_methods_are_json_405_with_allow(client, path, method):
    response = getattr(client, method)(path)
    assert_error(response, 405, method.upper())
    assert "GET" in response.headers["Allow"]


def test_every_route_uses_the_one_error_shape(client):
    """Each route's own failure mode, and the routing errors, all answer {"error": "..."}."""
    failures = {"/api/ping-data": "range=0", "/api/export-data": "format=0", "/api/logs": "limit=0"}
    for path in ROUTES:
        if path in failures:
            assert_error(client.get(f"{path}?{failures[path]}"), 400)
        assert_error(client.delete(path), 405)
    assert_error(client.get("/api/missing"), 404)


def test_a_crash_inside_a_route_is_a_json_500_without_details(client, monkeypatch):
    import api.routes

    def explode(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api.routes, "status_rows", explode)
    response = client.get("/api/servers/status")
    assert_error(response, 500)
    assert "secret" not in response.get_json()["error"]


def test_dash_pages_keep_their_html(client):
    assert client.get("/").mimetype == "text/html"
