"""Thin dashboard callbacks: read inputs, call shared queries and figure builders, return.

Each module declares its callbacks with callbacks.registry.callback; register_callbacks(app) gives an app
all of them through app.callback (see callbacks/registry.py for why not dash.callback).
"""
from __future__ import annotations

import sys

import dash

from callbacks.registry import callback_modules, register_module


def register_callbacks(app: dash.Dash) -> int:
    """Register every callback of every module in this package on app; returns how many."""
    return sum(register_module(app, module) for module in callback_modules(sys.modules[__name__]))
