"""The OpenAPI document: valid, complete, and every response (including to odd query strings) matches it."""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from api.openapi import openapi_document
from common.timeutil import utcnow
from tests.helpers.alerts import seed_alerts
from tests.helpers.openapi import AWKWARD, DOCUMENTED, PARAMETERS, assert_matches_spec, validator

def test_the_document_is_valid_openapi(client):
    document = client.get("/api/openapi.json").get_json()
    validate(document)
    assert document == openapi_document()


def test_every_route_is_documented_and_every_documented_route_exists(app):
    rules = {r.rule for r in app.server.url_map.iter_rules()
             if r.endpoint.split(".")[0] in ("api", "ops") and "<" not in r.rule and r.rule != "/api/"}
    plain = {p for p in openapi_document()["paths"] if "{" not in p}  # Flask's <int:id> rules are left out above
    assert rules == plain == set(DOCUMENTED)


def test_every_documented_parameter_is_one_the_routes_read():
    documented = {p["name"] for item in openapi_document()["paths"].values() for p in item.get("get", {}).get("parameters", [])}
    assert documented == set(PARAMETERS)


@pytest.mark.parametrize("url", [
    "/api/ping-data", "/api/ping-data?group=server&range=7d", "/api/ping-data?format=csv",
    "/api/servers/status", "/api/alerts", "/api/alerts?state=all&range=7d", "/api/alerts?state=resolved",
    "/api/collectors", "/api/servers/status?collector=test", "/api/alerts?collector=test",
    "/api/logs?limit=1000", "/api/export-data?format=json", "/api/export-data",
    "/api/ping-data?probe=sip&group=server", "/api/export-data?probe=sip&format=json",
    "/api/openapi.json", "/healthz", "/metrics",
    "/api/openapi.json", "/healthz", "/metrics", "/api/sla?group=server", "/api/sla?group=country&range=30d",
    "/api/incidents", "/api/incidents?scope=partner&month=2026-11",
])
def test_happy_responses_match_the_spec(seeded, writer, client, url):
    writer.write_logs([{"timestamp": utcnow(), "level": "INFO", "module": None, "message": "m", "traceback": None,
                        "collector": "t"}])
    seed_alerts(writer, seeded["config"], utcnow().replace(microsecond=0) - timedelta(seconds=1))
    response = client.get(url)
    assert response.status_code == 200
    assert_matches_spec(url.split("?")[0], response)
    if url.startswith("/api/alerts"):  # the schema is checked against real alerts, not only an empty list
        assert response.get_json()["alerts"]


def test_a_schema_violation_would_be_caught():
    """The checker is not vacuous: a body with a wrong field type fails it."""
    with pytest.raises(Exception, match="is not of type"):
        validator("/api/logs", 200).validate({"logs": [{"id": "1", "timestamp": "2026-01-01T00:00:00Z",
                                                         "level": "INFO", "module": None, "message": "m"}]})


values = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=40),
                   st.datetimes().map(lambda d: d.isoformat()), st.integers().map(str))
names = st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=8))
query_strings = st.one_of(
    st.lists(st.tuples(names, values), max_size=6).map(urlencode),
    st.text(max_size=80),  # raw, unencoded: stray %, &, =, non-ASCII
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def seeded_with_alerts(seeded, writer):
    """The seeded history plus open and resolved alerts, so alert bodies are checked with content."""
    seed_alerts(writer, seeded["config"], utcnow().replace(microsecond=0) - timedelta(seconds=1))
    return seeded


@pytest.mark.parametrize("path", DOCUMENTED)
@FAST
@given(query=query_strings)
def test_odd_query_strings_never_break_a_route(seeded_with_alerts, client, path, query):
    # Straight into the WSGI environ, as a server would pass it: bytes as latin-1, nothing re-encoded.
    raw = query.encode("utf-8").decode("latin-1")
    response = client.get(path, environ_overrides={"QUERY_STRING": raw})
    event(f"status {response.status_code}")  # shown by --hypothesis-show-statistics: both 200s and 400s occur
    assert_matches_spec(path, response)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.text(max_size=30), method=st.sampled_from(["GET", "POST", "DELETE"]))
def test_odd_api_paths_are_json_errors(client, suffix, method):
    path = "/api/" + quote(suffix, safe="/")
    response = client.open(path, method=method)
    assert response.status_code < 500 and response.is_json
    if response.status_code != 200:
        assert set(response.get_json()) == {"error"}
