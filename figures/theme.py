"""Colours and the light/dark Plotly templates every figure uses, matching assets/10_dashboard.css."""
from __future__ import annotations

import plotly.graph_objects as go

# Latency classes (collector.measure.latency_class) and server states, shared with the status cards.
CLASS_COLORS = {"excellent": "#16a34a", "good": "#65a30d", "fair": "#ca8a04", "poor": "#ea580c",
                "critical": "#dc2626", "beyond": "#991b1b", "down": "#b91c1c"}
# Alert severities: amber and red, apart from the series colours and matching the dashboard's pills.
ALERT_COLORS = {"warning": "#f59e0b", "critical": "#dc2626"}
STATUS_COLORS = {"up": "#16a34a", "degraded": "#ea580c", "down": "#dc2626", "stale": "#6b7280",
                 "unknown": "#9ca3af"}
# Series colours: distinct from the green-to-red bands behind them and readable on both themes.
SERIES_COLORS = ("#3b82f6", "#a855f7", "#06b6d4", "#ec4899", "#f59e0b", "#6366f1", "#14b8a6", "#f43f5e",
                 "#84cc16", "#0ea5e9", "#d946ef", "#78716c")
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


def series_color(index: int) -> str:
    """The colour of the index-th series (cycling)."""
    return SERIES_COLORS[index % len(SERIES_COLORS)]


def key_colors(keys) -> dict[str, str]:
    """A colour per key by its place in the full list, so a series keeps its colour whatever is filtered."""
    return {str(key): series_color(i) for i, key in enumerate(keys)}


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
