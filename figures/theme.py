"""Colours and the light/dark Plotly templates every figure uses, matching assets/10_dashboard.css."""
from __future__ import annotations

import hashlib

import plotly.graph_objects as go

# Latency classes (collector.measure.latency_class) and server states, shared with the status cards.
CLASS_COLORS = {"excellent": "#16a34a", "good": "#65a30d", "fair": "#ca8a04", "poor": "#ea580c",
                "critical": "#dc2626", "beyond": "#991b1b", "down": "#b91c1c"}
# Alert severities: amber and red, apart from the series colours and matching the dashboard's pills.
ALERT_COLORS = {"warning": "#f59e0b", "critical": "#dc2626"}
STATUS_COLORS = {"up": "#16a34a", "degraded": "#ea580c", "partial": "#f59e0b", "down": "#dc2626", "stale": "#6b7280",
                 "unknown": "#9ca3af"}
# Series colours, one per country or server picked by its name (series_colour), so a series keeps its colour
# across reloads, filters and added countries. Hues skip red, orange and green, which mean latency classes,
# states and alerts here; two tones per hue. Every one has at least 3:1 contrast on the light (#ffffff) and the
# dark (#121a2b) card surface and differs from every other by at least 0.09 in OKLab (tests/figures/test_figures_colour.py).
SERIES_COLORS = ("#0867ef", "#cc7b05", "#dd57d5", "#097e69", "#8e49e2", "#0899c9", "#d11e7e", "#819806",
                 "#8d6a06", "#7483fe", "#0077a6", "#05a08c", "#ba32b4", "#f74a9e")
# The colour of a figure's one main series when it is not named (a lone server's page, a histogram).
ACCENT_COLOR = SERIES_COLORS[0]
FONT_FAMILY = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'

_PALETTES = {
    False: {"text": "#1f2937", "muted": "#6b7280", "grid": "rgba(15, 23, 42, 0.08)", "line": "rgba(15, 23, 42, 0.25)",
            "hover": "#ffffff", "smoke": "15, 23, 42"},
    True: {"text": "#e5e7eb", "muted": "#9ca3af", "grid": "rgba(226, 232, 240, 0.08)",
           "line": "rgba(226, 232, 240, 0.25)", "hover": "#1f2937", "smoke": "226, 232, 240"},
}


def palette(dark: bool) -> dict[str, str]:
    """The text, grid and smoke colours of a theme."""
    return _PALETTES[bool(dark)]


def series_colour(name) -> str:
    """The colour of the series called `name` (a country, or a server id): a stable hash of the name, never its
    place in a list, so adding, removing or filtering other series changes nothing."""
    digest = hashlib.sha1(str(name).encode("utf-8")).digest()
    return SERIES_COLORS[int.from_bytes(digest[:8], "big") % len(SERIES_COLORS)]


def key_colors(keys) -> dict[str, str]:
    """series_colour of each key, as the figures' `colors` mapping."""
    return {str(key): series_colour(key) for key in keys}


def _axis(colors: dict) -> dict:
    return {"gridcolor": colors["grid"], "linecolor": colors["line"], "zerolinecolor": colors["grid"],
            "tickfont": {"color": colors["muted"]}, "title": {"font": {"color": colors["muted"]}}, "automargin": True}


def template(dark: bool) -> go.layout.Template:
    """A small template (the built-in ones embed every trace type's defaults in each figure)."""
    colors = palette(dark)
    layout = {
        "font": {"family": FONT_FAMILY, "color": colors["text"], "size": 12},
        "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "colorway": list(SERIES_COLORS), "xaxis": _axis(colors), "yaxis": _axis(colors),
        "hoverlabel": {"bgcolor": colors["hover"], "font": {"color": colors["text"]}},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0,
                   "bgcolor": "rgba(0,0,0,0)"},
        "margin": {"l": 8, "r": 8, "t": 36, "b": 8}, "hovermode": "x unified",
    }
    return go.layout.Template(layout=layout)
