"""A server's page: header, history, RTT distribution, recent rounds, its warnings and log lines."""
from __future__ import annotations

from dash import dcc, html

from common import format as fmt
from layouts import ids
from layouts.alerts import alert_badges
from layouts.common import graph, panel
from layouts.sip import sip_panel
from layouts.reports import server_incidents_panel
from layouts.status import STATE_LABELS, card_state


def server_layout(search: str | None) -> html.Div:
    """The server page's skeleton (the server comes from the URL path); callbacks fill every part."""
    return html.Div([
        dcc.Link([html.I(className="bi bi-arrow-left me-1"), "All servers"], href=f"/{search or ''}",
                 id=ids.BACK_LINK, className="lm-back"),
        html.Div(id=ids.SERVER_HEADER),
        html.Div([
            panel("History", graph(ids.SERVER_HISTORY, "lm-graph lm-graph-history"), "bi-graph-up"),
            panel("RTT distribution", graph(ids.SERVER_DISTRIBUTION, "lm-graph lm-graph-history"), "bi-bar-chart"),
            sip_panel(),  # issue 14: SIP response time and code (callbacks/sip.py)
        ], className="lm-server-graphs"),
        html.Div([
            panel("Warnings in range", html.Div(id=ids.SERVER_CONCERNS), "bi-bell"),
            panel("Recent rounds", html.Div(id=ids.SERVER_ROUNDS), "bi-table"),
        ], className="lm-server-tables"),
        server_incidents_panel(),
        panel("Log lines about this server", html.Div(id=ids.SERVER_LOGS), "bi-journal-text"),
        dcc.Store(id=ids.SERVER_SIGNATURE),
    ], className="lm-server")


def not_found_layout(path: str) -> html.Div:
    """A page for an unknown path."""
    return html.Div([html.H2("Page not found"), html.P(f"Nothing lives at {path}."),
                     dcc.Link("Back to the overview", href="/")], className="lm-notfound")


def _fact(label: str, value) -> html.Div:
    return html.Div([html.Span(label, className="lm-metric-label"), html.Span(value, className="lm-metric-value")],
                    className="lm-fact")


def server_header(server: dict, row: dict | None) -> html.Div:
    """Who the server is and how it is doing now: state badge, open alerts, last latency, loss, jitter, MOS, age."""
    row = row or {}
    state = card_state(row) if row else "unknown"
    port = f":{server['port']}" if server.get("port") and server.get("probe") == "tcp" else ""
    return html.Div([
        html.Div([
            html.H1([server["partner"],
                     html.Span(STATE_LABELS.get(state, state), className=f"lm-badge lm-badge-{state}")],
                    className="lm-server-title"),
            html.Div([html.Span(server["country"]), html.Span(f"{server['ip']}{port}", className="lm-ip"),
                      html.Span(server.get("dn_ext") or "", className="lm-dn"),
                      html.Span(f"probe: {row.get('probe') or server.get('probe')}")], className="lm-server-sub"),
            alert_badges(row.get("open_alerts")),
        ]),
        html.Div([_fact("latency", fmt.ms(row.get("avg_time"))), _fact("loss", fmt.pct(row.get("loss_percentage"))),
                  _fact("jitter", fmt.ms(row.get("jitter_time"))), _fact("MOS", fmt.mos(row.get("mos"))),
                  _fact("checked", fmt.age(row.get("age_seconds")))], className="lm-server-facts"),
    ], className=f"lm-server-header lm-state-{state}")
