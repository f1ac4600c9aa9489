"""Thin dashboard callbacks: read inputs, call shared queries and figure builders, return.

The modules declare their callbacks with `dash.callback`, which files them in Dash's process-wide
registry; the first app to serve a request takes them all from there, so a second app in the same
process (tests build many) would get none. This package therefore lifts the entries its modules add
out of that registry once, at import, and register_callbacks() gives them to each app it is called for.
"""
from __future__ import annotations

import importlib

import dash
from dash import _callback

MODULES = ("callbacks.shell", "callbacks.overview", "callbacks.graphs", "callbacks.zoom", "callbacks.smoke",
           "callbacks.server", "callbacks.export")


def _capture() -> tuple[dict, list]:
    """Import the callback modules and take the registry entries they add (the package imports first,
    so nothing can have consumed them yet)."""
    known, count = set(_callback.GLOBAL_CALLBACK_MAP), len(_callback.GLOBAL_CALLBACK_LIST)
    for name in MODULES:
        importlib.import_module(name)
    added = [key for key in _callback.GLOBAL_CALLBACK_MAP if key not in known]
    entries = {key: _callback.GLOBAL_CALLBACK_MAP.pop(key) for key in added}
    specs = _callback.GLOBAL_CALLBACK_LIST[count:]
    del _callback.GLOBAL_CALLBACK_LIST[count:]
    return entries, specs


_ENTRIES, _SPECS = _capture()


def register_callbacks(app: dash.Dash) -> None:
    """Give an app every dashboard callback (safe for any number of apps in one process)."""
    for key, entry in _ENTRIES.items():
        if key in app.callback_map:
            raise dash.exceptions.DuplicateCallback(f"callback {key} is already registered on this app")
        app.callback_map[key] = entry
    # Dash keeps the specs it sends the browser in a private list; app.callback() appends to the same one.
    app._callback_list.extend(dict(spec) for spec in _SPECS)  # noqa: SLF001
