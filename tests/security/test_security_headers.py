"""Security headers on every response, a CSP that lists exactly Dash's inline scripts, and the OpenAPI scheme."""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest

from api.openapi import openapi_document
from security.headers import STATIC_HEADERS
from tests.helpers.auth import TOKEN, USERS, client_factory, login

make_client = pytest.fixture(client_factory, name="make_client")

# plotly trace types drawn with WebGL: regl compiles them with new Function(), which the policy forbids.
# (plotly.express would also switch scatter/line to WebGL past 1000 points unless render_mode="svg".)
WEBGL = ("scattergl", "splom", "parcoords", "scatter3d", "surface", "mesh3d", "cone", "streamtube", "volume",
         "isosurface", "scattermapbox", "scattermap", "densitymapbox", "densitymap", "choroplethmapbox",
         "choroplethmap")
WEBGL_TRACES = re.compile(rf"\bgo\.({'|'.join(WEBGL)})\b|type[\"']?\s*[=:]\s*[\"']({'|'.join(WEBGL)})[\"']|"
                          r"\bpx\.\w+\(", re.IGNORECASE)
ROUTES = ("/", "/server/127.0.0.1", "/api/servers/status", "/api/no-such-route", "/healthz", "/metrics",
          "/assets/10_dashboard.css", "/_dash-layout", "/_favicon.ico", "/no/such/page.txt")


def directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header split into its directives."""
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def inline_scripts(page: str) -> list[str]:
    """The bodies of the executable inline <script> elements of an HTML page (JSON data blocks excluded)."""
    page = re.sub(r"<!--.*?-->", "", page, flags=re.S)  # Dash's <!--[if IE]><script> never runs
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
    return [body for attrs, body in scripts if "src=" not in attrs and "application/json" not in attrs and body]


def sha256_source(script: str) -> str:
    """The CSP source expression that allows exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def assert_security_headers(response) -> None:
    """Every header this project promises, with its value."""
    for name, value in STATIC_HEADERS.items():
        assert response.headers.get(name) == value, name
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"]


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_has_the_headers_without_auth(client, path):
    assert_security_headers(client.get(path))


@pytest.mark.parametrize("path", ROUTES + ("/login", "/login/static/login.css"))
def test_every_route_has_the_headers_with_auth(make_client, path):
    client = make_client(api_token=TOKEN, users=USERS)
    assert_security_headers(client.get(path))  # 200, 302, 401 and 404 alike
    login(client)
    assert_security_headers(client.get(path))


def test_errors_and_redirects_have_the_headers_too(make_client):
    client = make_client(users=USERS)
    assert_security_headers(client.post("/login", data={}))  # 400: no CSRF token
    assert_security_headers(client.get("/"))  # 302 to the login page


def test_script_src_lists_exactly_the_inline_scripts_of_the_dashboard_page(client):
    response = client.get("/")
    scripts = inline_scripts(response.get_data(as_text=True))
    assert scripts, "the Dash index page has its renderer inline"
    allowed = [s for s in directives(response.headers["Content-Security-Policy"])["script-src"]
               if s.startswith("'sha256-")]
    assert sorted(allowed) == sorted({sha256_source(s) for s in scripts})


def test_the_login_page_has_no_inline_script_or_style(make_client):
    page = make_client(users=USERS).get("/login").get_data(as_text=True)
    assert "<script" not in page and "<style" not in page and "style=" not in page


def test_the_openapi_document_declares_the_bearer_scheme_on_every_route_but_healthz():
    document = openapi_document()
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, item in document["paths"].items():
        for method, operation in item.items():  # the ack and maintenance writes too
            if path == "/healthz":
                assert "security" not in operation and "401" not in operation["responses"]
            else:
                assert {"bearerAuth": []} in operation["security"] and "401" in operation["responses"], (path, method)


def test_no_figure_uses_a_webgl_trace_that_the_policy_would_break():
    figures = Path(__file__).resolve().parents[2] / "figures"
    found = {p.name: WEBGL_TRACES.findall(p.read_text()) for p in figures.glob("*.py")}
    assert {name: hits for name, hits in found.items() if hits} == {}
