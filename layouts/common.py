"""Building blocks shared by the pages: a titled panel and a graph with the app's settings."""
from __future__ import annotations

from dash import dcc, html

# The mode bar shows on hover only (assets/10_dashboard.css): on a wall screen it is noise over the legend.
GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["lasso2d", "select2d"],
                "toImageButtonOptions": {"format": "png", "scale": 2}}


def panel(title: str, body, icon: str = "", tools=None, class_name: str = "") -> html.Section:
    """A card-like section with a header (title and optional tools on the right) and a body."""
    title_row = html.H2([html.I(className=f"bi {icon} me-2") if icon else None, title], className="lm-panel-title")
    tools_box = html.Div(tools, className="lm-panel-tools") if tools is not None else None
    header = html.Div([title_row, tools_box], className="lm-panel-head")
    return html.Section([header, html.Div(body, className="lm-panel-body")], className=f"lm-panel {class_name}".strip())


def graph(id_: str, class_name: str = "lm-graph") -> html.Div:
    """A responsive graph filling a box whose height comes from the CSS class, so it scales with the screen
    (a responsive dcc.Graph sets its own height to 100%, so the height must live on a wrapper)."""
    return html.Div(dcc.Graph(id=id_, config=GRAPH_CONFIG, style={"height": "100%"},
                              figure={"data": [], "layout": {}}), className=class_name)
