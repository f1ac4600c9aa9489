"""The app shell around every page: navigation bar, refresh and theme controls, filters, page slot."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from common import timezones as tzs
from layouts import ids
from layouts.filters import filter_bar


@dataclass(frozen=True)
class Page:
    """A page served inside the shell: its components, the path it shows and whether the country and partner
    filters are off (a server's page)."""

    content: Any = None
    path: str | None = None
    groups_disabled: bool = False

REFRESH_CHOICES = [{"label": "10 s", "value": "10"}, {"label": "30 s", "value": "30"},
                   {"label": "1 min", "value": "60"}, {"label": "5 min", "value": "300"}]
DEFAULT_REFRESH_SECONDS = 30


def _brand() -> dcc.Link:
    """Logo and name, linking home (keeping the filters is left to the browser's back button)."""
    return dcc.Link([html.I(className="bi bi-activity lm-logo"),
                     html.Span([html.Strong("Latency Monitor"), html.Small("SIP trunk partners")],
                               className="lm-brand-text")],
                    href="/", id=ids.NAV_HOME, className="lm-brand")


def zone_options(display_timezone: str = tzs.UTC_NAME, browser_zone: str | None = None) -> list[dict]:
    """The time zone choices: UTC, the browser's own zone, and the config's display_timezone if it names another."""
    local = f"Local ({browser_zone})" if browser_zone else "Local (browser)"
    options = [{"label": "UTC", "value": tzs.UTC_NAME}, {"label": local, "value": tzs.LOCAL}]
    if display_timezone not in (tzs.UTC_NAME, tzs.LOCAL):
        options.append({"label": display_timezone, "value": display_timezone})
    return options


def _zone_select(display_timezone: str) -> html.Div:
    """Which time zone every time on the page is in (kept in the URL as tz= and in local storage)."""
    return html.Div([html.I(className="bi bi-globe", title="time zone of every time shown"),
                     dbc.Select(id=ids.TZ_SELECT, options=zone_options(display_timezone), value=display_timezone,
                                size="sm", className="lm-tz", name="time zone")],
                    className="lm-control")


def _controls(display_timezone: str = tzs.UTC_NAME) -> html.Div:
    """Last update time, time zone, refresh interval, pause and theme switches."""
    return html.Div([
        dcc.Link([html.I(className="bi bi-clipboard-data me-1"), "Reports"], href="/reports", className="lm-nav-link"),
        html.Span(id=ids.UPDATED_AT, className="lm-updated"),
        _zone_select(display_timezone),
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


def navbar(display_timezone: str = tzs.UTC_NAME) -> html.Header:
    """The top bar."""
    return html.Header(html.Div([_brand(), _controls(display_timezone)], className="lm-navbar-inner"),
                       className="lm-navbar")


def shell_layout(countries: list[str], partners: list[str], display_timezone: str = tzs.UTC_NAME,
                 page: Page | None = None, stamps: tuple = (None, None, None)) -> html.Div:
    """The whole page around the routed content (already holding the requested page when given), with the
    refresh stamps (callbacks.stamps) as of the layout, so the first tick does not ask every listener again."""
    page = page or Page()
    return html.Div([
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Interval(id=ids.REFRESH, interval=DEFAULT_REFRESH_SECONDS * 1000),
        dcc.Store(id=ids.STAMP_SERIES, data=stamps[0]), dcc.Store(id=ids.STAMP_SPREAD, data=stamps[1]),
        dcc.Store(id=ids.STAMP_STATUS, data=stamps[2]), dcc.Store(id=ids.HEARTBEAT),
        # The graphs' wake-up (callbacks.stamps.graph_wakes) and the overview's view it is computed for: in the
        # shell, so the stamps callback that sets them has them on every page and the graphs wait for no
        # callback of the overview's at load.
        dcc.Store(id=ids.SERIES_WAKE), dcc.Store(id=ids.SPREAD_WAKE), dcc.Store(id=ids.WAKE_SEEN),
        dcc.Store(id=ids.VIEW_CHOICE),
        dcc.Store(id=ids.THEME_SINK), dcc.Store(id=ids.PROBE_VIEW, data="network"),
        dcc.Store(id=ids.TZ_SAVED, storage_type="local"), dcc.Store(id=ids.BROWSER_TZ),
        dcc.Store(id=ids.DISPLAY_TZ, data=tzs.zone_name(display_timezone)),
        dcc.Download(id=ids.EXPORT_DOWNLOAD),
        navbar(display_timezone),
        dcc.Store(id=ids.RENDERED_PATH, data=page.path),
        html.Main([filter_bar(countries, partners, page.groups_disabled),
                   html.Div(page.content, id=ids.PAGE, className="lm-page")],
                  className="lm-main"),
    ], className="lm-app")
