"""Bad input: random paths, query strings and headers (Authorization included), with auth off and on.

Every answer must be 200, 400, 401 or 404 — never a 5xx — and 405 only where docs/api.md documents it
(a method other than GET on a route that exists, with an Allow header). About 2,000 requests per run.
"""
from __future__ import annotations

from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from settings import validate_config
from settings.auth import SECRET_KEY_ENV, TOKEN_ENV
from storage import open_writer
from common.timeutil import utcnow
from tests.conftest import make_config_dict
from tests.seeding import seed_history
from tests.helpers.auth import TOKEN, USERS
from tests.helpers.openapi import AWKWARD, DOCUMENTED, PARAMETERS

ALLOWED = {200, 400, 401, 404}
SEGMENTS = ["ping-data", "servers", "status", "logs", "export-data", "openapi.json", "alerts", "..", ".", "",
            "%2e%2e", "api", "healthz", "metrics", "server", "%00", "x" * 300, "127.0.0.1", "null"]
# Header values a client might send; the test client accepts latin-1 without line breaks.
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="\x7f"),
                      max_size=60)
AUTHORIZATION = st.one_of(st.sampled_from([f"Bearer {TOKEN}", "Bearer wrong-token-0000000", "Bearer", "Bearer ",
                                           "Basic b3BzOnB3", "bearer " + TOKEN, f"Bearer {TOKEN} extra", ""]),
                          HEADER_TEXT.map(lambda t: "Bearer " + t), HEADER_TEXT)
HEADERS = st.fixed_dictionaries({}, optional={
    "Authorization": AUTHORIZATION, "Accept": st.one_of(st.sampled_from(
        ["application/json", "text/csv", "application/openmetrics-text; version=1.0.0", "*/*", ""]), HEADER_TEXT),
    "Cookie": st.one_of(st.just("latency_monitor_session=garbage"), HEADER_TEXT),
    "X-Forwarded-For": HEADER_TEXT, "Content-Type": HEADER_TEXT, "If-None-Match": HEADER_TEXT,
    "Range": st.sampled_from(["bytes=0-10", "bytes=-1", "bytes=x"])})
PATHS = st.one_of(st.sampled_from(DOCUMENTED),
                  st.lists(st.one_of(st.sampled_from(SEGMENTS), st.text(max_size=12)), min_size=1, max_size=4)
                  .map(lambda parts: "/api/" + "/".join(quote(p, safe="%.") for p in parts)))
VALUES = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=30), st.integers().map(str))
QUERIES = st.one_of(st.lists(st.tuples(st.one_of(st.sampled_from(PARAMETERS), st.text(max_size=8)), VALUES),
                             max_size=5).map(urlencode),
                    st.text(max_size=60))
FUZZ = settings(max_examples=900, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module", params=["auth-off", "auth-on"])
def fuzz_client(request, tmp_path_factory):
    """A client of the app on two days of history, without and with a token and logins configured."""
    import os
    for name in (TOKEN_ENV, SECRET_KEY_ENV):  # the config alone decides, whatever the environment says
        os.environ.pop(name, None)
    folder = tmp_path_factory.mktemp(request.param)
    auth = {"api_token": TOKEN, "users": USERS} if request.param == "auth-on" else {}
    config = validate_config(make_config_dict(folder, **({"auth": auth} if auth else {})),
                             source=str(folder / "config.json"))
    writer = open_writer(config.database_target())
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=96, interval_seconds=1800)
    from app import create_app
    app = create_app(config, start_collector=False)
    yield app.server.test_client(), bool(auth)
    app.close()
    writer.engine.dispose()


def expected_auth(path: str, headers: dict, auth_on: bool, status: int) -> None:
    """With auth on, a request without the right token is a 401 on /api and /metrics; with it, never."""
    guarded = path.startswith("/api") or path == "/metrics"
    if not auth_on or not guarded:
        assert status != 401, (path, headers)
        return
    # RFC 7235: the scheme is case-insensitive; surrounding blanks do not count.
    scheme, _, token = headers.get("Authorization", "").strip().partition(" ")
    bearer = scheme.lower() == "bearer"
    if bearer and token.strip() == TOKEN:
        assert status != 401, (path, headers)
    elif bearer or "Cookie" not in headers:  # a wrong token, or no credentials at all
        assert status == 401, (path, headers, status)


@FUZZ
@given(path=PATHS, query=QUERIES, headers=HEADERS)
def test_random_get_requests_get_only_documented_statuses(fuzz_client, path, query, headers):
    client, auth_on = fuzz_client
    raw = query.encode("utf-8").decode("latin-1")  # as a server passes the query string: bytes as latin-1
    response = client.get(path, headers=headers, environ_overrides={"QUERY_STRING": raw})
    body = response.get_data()  # a streamed body is read to the end, so a late failure shows too
    event(f"status {response.status_code}")
    # A 304 only answers an If-None-Match that matches (RFC 9110: "*" matches any current representation).
    allowed = ALLOWED | ({304} if "If-None-Match" in headers else set())
    assert response.status_code in allowed, (path, query, headers, response.status_code, body[:300])
    expected_auth(path, headers, auth_on, response.status_code)
    if response.status_code == 304:
        assert body == b"" and response.headers.get("ETag")
    elif response.status_code != 200 and path.startswith("/api"):
        assert set(response.get_json()) == {"error"}


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=PATHS, method=st.sampled_from(["POST", "PUT", "DELETE", "PATCH"]),
       authorization=st.sampled_from([None, f"Bearer {TOKEN}", "Bearer nope"]))
def test_other_methods_get_405_only_on_routes_that_exist(fuzz_client, path, method, authorization):
    client, auth_on = fuzz_client
    headers = {"Authorization": authorization} if authorization else {}
    response = client.open(path, method=method, headers=headers)
    event(f"{method} {response.status_code}")
    writes = client.application.url_map.bind("localhost").allowed_methods(path)
    assert response.status_code in ALLOWED | {403, 405}, (method, path, response.status_code)
    if response.status_code == 403:  # docs/api.md: a real write by a caller without the operator role
        assert auth_on and method in writes and authorization == f"Bearer {TOKEN}", (method, path, authorization)
    elif response.status_code == 405:  # documented in docs/api.md: a route that exists, with its Allow header
        assert path in DOCUMENTED and "GET" in response.headers["Allow"], (method, path)
    elif path in DOCUMENTED and not (auth_on and authorization != f"Bearer {TOKEN}") \
            and method not in writes:
        raise AssertionError(f"{method} {path} gave {response.status_code}, not 405")
