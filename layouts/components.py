"""Dash components of the project's own for lists of many items: server tiles, the alerts and log feeds, tables.

Each is ONE Dash component holding its items as plain data, drawn in the browser by assets/25_components.js
(React, text only: no HTML from data). Dash's renderer wraps and notifies every component of the layout, so
200 cards of twenty html components each cost a minute of main thread per load (issue 12); as data, a server
is a few DOM nodes and a refresh can patch one item (dash.Patch) instead of sending the page again.
"""
from __future__ import annotations

from dash.development.base_component import Component

NAMESPACE = "lm_components"  # window.lm_components in assets/25_components.js


class _DataComponent(Component):
    """A component whose props are plain data (no child components), declared by PROPS."""

    _children_props: list = []
    _base_nodes = ["children"]
    _namespace = NAMESPACE
    PROPS: tuple = ("id",)

    def __init__(self, **kwargs):
        self._prop_names = list(self.PROPS)
        self._valid_wildcard_attributes = []
        self.available_properties = list(self.PROPS)
        self.available_wildcard_properties = []
        unknown = sorted(set(kwargs) - set(self.PROPS))
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected props {unknown}; allowed: {list(self.PROPS)}")
        super().__init__(**{k: v for k, v in kwargs.items() if v is not None})


class ServerTiles(_DataComponent):
    """Servers grouped by country. tiles: tile dicts in display order (layouts.status.tile_data); groups:
    [country, note, count] over them in order; density 'full' or 'compact'; now: epoch seconds the ages count
    to; search: the query string links keep; slots: heartbeat bars per strip; empty: text shown with no tiles."""

    _type = "ServerTiles"
    PROPS = ("id", "tiles", "groups", "density", "now", "search", "slots", "empty")


class AlertFeed(_DataComponent):
    """Open alerts, then those resolved in the range (layouts.status.alert_items); more: a note under them;
    ack: set by the browser when an Acknowledge button is pressed, {alert, comment, at} (callbacks/ack.py)."""

    _type = "AlertFeed"
    PROPS = ("id", "items", "now", "search", "more", "ack")


class RoundsTable(_DataComponent):
    """A table of text cells: columns [label, ...], rows [[cell, ...], ...], flagged: row indexes to highlight."""

    _type = "RoundsTable"
    PROPS = ("id", "columns", "rows", "flagged", "empty")


class LogFeed(_DataComponent):
    """Log lines, newest first: [id, level, time text, module, message] each."""

    _type = "LogFeed"
    PROPS = ("id", "lines")
