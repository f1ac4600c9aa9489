"""The app shell around every page: navigation bar, refresh and theme controls, filters, page slot."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids
from layouts.filters import filter_bar

REFRESH_CHOICES = [{"label": "10 s", "value": "10"}, {"label": "30 s", "value": "30"},
                   {"label": "1 min", "value": "60"}, {"label": "5 min", "value": "300"}]
DEFAULT_REFRESH_SECONDS = 30


def _brand() -> dcc.Link:
    """Logo and name, linking home (keeping the filters is left to the browser's back button)."""
    return dcc.Link([html.I(className="bi bi-activity lm-logo"),
                     html.Span([html.Strong("Latency Monitor"), html.Small("SIP trunk partners")],
                               className="lm-brand-text")],
                    href="/", id=ids.NAV_HOME, className="lm-brand")


def _controls() -> html.Div:
    """Last update time, refresh interval, pause and theme switches."""
    return html.Div([
        html.Span(id=ids.UPDATED_AT, className="lm-updated"),
        html.Button([html.I(className="bi bi-tv me-1"), "Wall"], id=ids.KIOSK_BUTTON, title="Wall view (?kiosk=1)",
                    className="btn btn-sm btn-outline-secondary lm-kiosk-button"),  # handled by assets/30_wall.js
        html.Div([html.I(className="bi bi-arrow-repeat", title="auto-refresh every"),
                  dbc.Select(id=ids.REFRESH_SELECT, options=REFRESH_CHOICES, value=str(DEFAULT_REFRESH_SECONDS),
                             size="sm", className="lm-refresh", persistence=True, persistence_type="local")],
                 className="lm-control"),
        dbc.Switch(id=ids.PAUSE_SWITCH, label="Pause", value=False, className="lm-control mb-0"),
        html.Div([html.I(className="bi bi-sun"),
                  dbc.Switch(id=ids.THEME_SWITCH, value=False, className="mb-0 ms-2", persistence=True,
                             persistence_type="local"),
                  html.I(className="bi bi-moon-stars")], className="lm-control lm-theme", title="dark theme"),
    ], className="lm-controls")


def navbar() -> html.Header:
    """The top bar."""
    return html.Header(html.Div([_brand(), _controls()], className="lm-navbar-inner"), className="lm-navbar")


def shell_layout(countries: list[str], partners: list[str]) -> html.Div:
    """The whole page around the routed content."""
    return html.Div([
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Interval(id=ids.REFRESH, interval=DEFAULT_REFRESH_SECONDS * 1000),
        dcc.Store(id=ids.THEME_SINK),
        dcc.Download(id=ids.EXPORT_DOWNLOAD),
        navbar(),
        html.Main([filter_bar(countries, partners), html.Div(id=ids.PAGE, className="lm-page")],
                  className="lm-main"),
    ], className="lm-app")
