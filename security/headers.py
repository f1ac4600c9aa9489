"""Security headers on every response, with a Content-Security-Policy the dashboard works under.

The policy was found by loading the dashboard in headless Chromium, taking one source away at a
time and reading the console for violations (tests/browser/test_security_csp_browser.py checks it on every run):

- script-src 'self' plus the sha256 of each inline script Dash writes into its index page (the
  `new DashRenderer()` line, and any inline clientside callback); Dash computes them itself
  (Dash.csp_hashes). So no 'unsafe-inline' for scripts (injected <script> and on*= handlers stay
  blocked) and no 'unsafe-eval': React, Dash's renderer and plotly.js's SVG traces never eval.
  plotly.js's WebGL traces (go.Scattergl and the 3d/map/splom/parcoords kinds) do: regl compiles
  their draw calls with new Function(), and under this policy such a graph shows "WebGL is not
  supported". The smoke view's samples therefore use an SVG go.Scatter (figures/smoke.py), and a
  test keeps WebGL trace types out of figures/; a graph that truly needs one must add 'unsafe-eval'.
- style-src 'self' 'unsafe-inline': dcc components (dropdown, date picker) and plotly.js insert <style>
  elements and style attributes at run time, with contents no hash can list in advance; without it the
  console shows dozens of violations and graphs lose their layout. Inline *styles* cannot run code.
- img-src 'self' data: blob:: Bootstrap draws select arrows and switches as data: SVGs, plotly draws
  heatmaps as data: PNGs, and its "download plot as png" button renders through a blob: URL.
- font-src 'self': Bootstrap Icons come from assets/fonts. connect-src 'self': callbacks go to
  /_dash-update-component on this origin and nowhere else.
- object-src 'none', base-uri 'none', form-action 'self', frame-ancestors 'none' (no framing, so no
  clickjacking): the usual hardening of a strict policy; nothing on the page needs more.
"""
from __future__ import annotations

import logging
import threading

from flask import Flask, Response

log = logging.getLogger(__name__)

BASE_DIRECTIVES: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],  # + Dash's inline-script hashes, added on first use
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Referrer-Policy": "same-origin",  # dashboard URLs carry filters; other sites need not see them
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


def render_policy(directives: dict[str, list[str]]) -> str:
    """The Content-Security-Policy header value of a directive map."""
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def dash_app_of(server: Flask):
    """The Dash app that registered its routes on `server`, or None (found through its bound view methods)."""
    import dash
    for view in server.view_functions.values():
        owner = getattr(view, "__self__", None)
        if isinstance(owner, dash.Dash):
            return owner
    return None


class ContentSecurityPolicy:
    """The policy of one server, built on first use: Dash's inline scripts are all known only by then."""

    def __init__(self, server: Flask):
        self.server = server
        self._value: str | None = None
        self._lock = threading.Lock()

    def value(self) -> str:
        """The header value (computed once per process)."""
        with self._lock:
            if self._value is None:
                self._value = render_policy(self.directives())
            return self._value

    def directives(self) -> dict[str, list[str]]:
        """The base directives plus the hashes of the Dash index page's inline scripts."""
        directives = {name: list(sources) for name, sources in BASE_DIRECTIVES.items()}
        app = dash_app_of(self.server)
        if app is None:
            log.warning("no Dash app on this server: the policy allows no inline script")
        else:
            directives["script-src"] += app.csp_hashes()
        return directives


def install_headers(server: Flask) -> ContentSecurityPolicy:
    """Add the security headers to every response of `server` (errors and static files too)."""
    policy = ContentSecurityPolicy(server)

    def add_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy.value())
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    server.after_request(add_headers)
    return policy
