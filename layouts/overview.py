"""The overview page: counts, server cards by country, the graphs, warnings and the log viewer."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids
from layouts.common import graph, panel
from layouts.components import AlertFeed, LogFeed, ServerTiles
from layouts.status import DEFAULT_ORDER, EMPTY_TILES, HEARTBEAT_SLOTS

LOG_LEVELS = [{"label": "All levels", "value": "DEBUG"}, {"label": "Info +", "value": "INFO"},
              {"label": "Warnings +", "value": "WARNING"}, {"label": "Errors", "value": "ERROR"}]


# What the latency, loss and jitter graphs show (issue 14): the network probe (ICMP/TCP), the SIP OPTIONS checks
# (response time, request loss, share of up checks), or both (SIP response dotted over the network latency).
PROBE_VIEWS = (("network", "Network"), ("sip", "SIP"), ("both", "Both"))


def _toggle(id_: str, options: list[tuple[str, str]], value: str) -> dbc.RadioItems:
    """A small button-group toggle."""
    return dbc.RadioItems(id=id_, options=[{"label": label, "value": v} for v, label in options], value=value,
                          className="btn-group", inputClassName="btn-check",
                          labelClassName="btn btn-outline-secondary btn-sm", labelCheckedClassName="active")


def graphs_area() -> html.Div:
    """Latency (with the country/server toggle), loss, jitter and the smoke view."""
    group = _toggle(ids.GROUP_TOGGLE, [("country", "Per country"), ("server", "Per server")], "country")
    probe = _toggle(ids.PROBE_TOGGLE, [(v, label) for v, label in PROBE_VIEWS], "network")
    smoke_tools = [dcc.Dropdown(id=ids.SMOKE_SERVERS, multi=True, placeholder="Choose servers",
                                className="lm-dropdown lm-smoke-select"),
                   _toggle(ids.SMOKE_MODE, [("bands", "Bands"), ("samples", "Samples")], "bands")]
    return html.Div([
        panel("Latency", graph(ids.LATENCY_GRAPH, "lm-graph lm-graph-tall"), "bi-graph-up", tools=[probe, group]),
        html.Div([panel("Packet loss", graph(ids.LOSS_GRAPH), "bi-reception-2"),
                  panel("Jitter", graph(ids.JITTER_GRAPH), "bi-soundwave")], className="lm-pair"),
        panel("RTT spread per round", graph(ids.SMOKE_GRAPH, "lm-graph-auto"), "bi-cloud-haze2", tools=smoke_tools),
        # SERIES_ZOOM: the window the user zoomed the three series graphs to (None: the whole window).
        dcc.Store(id=ids.SERIES_SIGNATURE), dcc.Store(id=ids.LOSS_SIGNATURE), dcc.Store(id=ids.JITTER_SIGNATURE),
        dcc.Store(id=ids.SERIES_ZOOM), dcc.Store(id=ids.SMOKE_SIGNATURE),
    ], className="lm-area-graphs")


def log_viewer() -> html.Section:
    """The latest log lines, filterable by level and text."""
    tools = [dbc.Select(id=ids.LOG_LEVEL, options=LOG_LEVELS, value="INFO", size="sm", className="lm-log-level"),
             dbc.Input(id=ids.LOG_SEARCH, type="search", placeholder="Search…", size="sm", debounce=True,
                       className="lm-log-search")]
    return panel("Log", html.Div(LogFeed(id=ids.LOG_FEED), id=ids.LOG_TABLE), "bi-journal-text",
                 tools=tools, class_name="lm-logs")


def order_toggle() -> dbc.RadioItems:
    """Worst first (the default) or alphabetical; the choice lives in the URL (?order=name)."""
    return _toggle(ids.ORDER_TOGGLE, [("trouble", "Worst first"), ("name", "A–Z")], DEFAULT_ORDER)


def servers_panel() -> html.Section:
    """The server tiles by country (one component, drawn by assets/25_components.js)."""
    # No tiles, items or lines yet (None): the components draw nothing until the first refresh has answered.
    tiles = ServerTiles(id=ids.TILES, groups=[], density="full", now=0, search="", slots=HEARTBEAT_SLOTS,
                        empty=EMPTY_TILES)
    return panel("Servers", html.Div(tiles, id=ids.CARDS), "bi-hdd-network", tools=order_toggle())


def kiosk_exit() -> html.Button:
    """The wall view's way back (also Escape); shown only there, on hover (assets/30_wall.css)."""
    return html.Button([html.I(className="bi bi-box-arrow-left me-1"), "Exit wall view"], id=ids.KIOSK_EXIT,
                       className="btn btn-sm btn-secondary lm-kiosk-exit", title="Leave the wall view (Esc)")


def overview_layout() -> html.Div:
    """The overview page's skeleton; callbacks fill every part."""
    alerts = AlertFeed(id=ids.ALERT_FEED, now=0, search="")
    return html.Div([
        html.Div(id=ids.DOWN_BANNER, className="lm-banner-slot"),
        html.Div(id=ids.NOTICE),
        html.Div(id=ids.COUNTS, className="lm-counts"),
        html.Div([
            html.Div(servers_panel(), className="lm-area-status"),
            graphs_area(),
            html.Div([panel("Alerts", html.Div([html.Div(id=ids.ACK_NOTICE), alerts], id=ids.WARNINGS), "bi-bell", class_name="lm-warnings"),
                      log_viewer()], className="lm-area-side"),
        ], className="lm-overview"),
        kiosk_exit(),
        dcc.Store(id=ids.OVERVIEW_STATE), dcc.Store(id=ids.OVERVIEW_STAMP), dcc.Store(id=ids.WALL_STATE),
        dcc.Store(id=ids.CLIENT_SINK),
    ], className="lm-overview-page")
