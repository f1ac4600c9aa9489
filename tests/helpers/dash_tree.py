"""Reading Dash component trees without a browser, and a status row as the status queries return it."""
from __future__ import annotations

import pandas as pd


def walk(component):
    """Every component in a tree."""
    yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if hasattr(child, "to_plotly_json"):
            yield from walk(child)


def data_text(value) -> list[str]:
    """Every string and number inside a data prop (lists and dicts of them), in order."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [str(value)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in data_text(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in data_text(v)]
    return []


def text_of(component) -> str:
    """All the text in a tree, including the data of the project's data components (layouts.components), which
    the browser draws as text."""
    from layouts.components import _DataComponent

    parts = []
    for c in walk(component):
        if isinstance(c, _DataComponent):
            parts += [t for prop in c.PROPS if prop != "id" for t in data_text(getattr(c, prop, None))]
        children = getattr(c, "children", None)
        if isinstance(children, (str, int, float)):
            parts.append(str(children))
        elif isinstance(children, (list, tuple)):
            parts += [str(x) for x in children if isinstance(x, (str, int, float))]
    return " ".join(parts)


def status_row(**overrides) -> dict:
    row = {"server_id": "10.0.0.1", "partner": "Safari Voice", "country": "Kenya", "ip": "10.0.0.1",
           "dn_ext": "sip.example", "status": "up", "latency_class": "good", "success": True, "avg_time": 62.5,
           "loss_percentage": 0.0, "jitter_time": 1.25, "mos": 4.38, "concerns": None, "age_seconds": 12.0,
           "timestamp": pd.Timestamp("2026-11-01 11:59:48")}
    row.update(overrides)
    return row


def with_trigger(prop_id: str, fn, *args):
    """Call a callback with dash's callback context saying prop_id triggered it (as the Dash docs show)."""
    from contextvars import copy_context

    from dash._callback_context import context_value
    from dash._utils import AttributeDict

    def run():
        context_value.set(AttributeDict(triggered_inputs=[{"prop_id": prop_id, "value": None}]))
        return fn(*args)
    return copy_context().run(run)
