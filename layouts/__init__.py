"""Page layouts (no callbacks)."""
from dash import html


def build_layout():
    """The root layout (placeholder until the dashboard issue lands)."""
    return html.Div("Latency monitor")
