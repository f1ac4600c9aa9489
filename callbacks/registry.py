"""Callbacks declared where they are written, registered on each app by the factory, through Dash's public API.

`@callback(...)` takes the same arguments as `dash.callback`, but only records them on the function; the
factory calls register_callbacks(app), which passes each recorded declaration to `app.callback` (and each
clientside one to `app.clientside_callback`). So any number of apps in one process (tests build many) get
every callback, and a module added to this package needs no list edited anywhere.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import Any, Callable

import dash

DECLARATIONS = "__dash_callbacks__"  # attribute holding a function's recorded (args, kwargs) pairs
CLIENTSIDE = "CLIENTSIDE_CALLBACKS"  # module-level list of (clientside function, *dependencies)


def callback(*args: Any, **kwargs: Any) -> Callable[[Callable], Callable]:
    """Declare a server-side callback; the function stays a plain function that tests can call."""
    def record(fn: Callable) -> Callable:
        fn.__dict__.setdefault(DECLARATIONS, []).append((args, kwargs))
        return fn
    return record


def clientside_callback(module_list: list, function: Any, *args: Any, **kwargs: Any) -> None:
    """Declare a clientside callback in a module's CLIENTSIDE_CALLBACKS list."""
    module_list.append((function, args, kwargs))


def callback_modules(package: ModuleType) -> list[ModuleType]:
    """Every module of the callbacks package, imported, in name order."""
    names = sorted(info.name for info in pkgutil.iter_modules(package.__path__))
    return [importlib.import_module(f"{package.__name__}.{name}") for name in names]


def register_module(app: dash.Dash, module: ModuleType) -> int:
    """Register one module's declared callbacks on app; returns how many."""
    count = 0
    for fn in vars(module).values():
        if callable(fn) and getattr(fn, "__module__", None) == module.__name__:
            for args, kwargs in fn.__dict__.get(DECLARATIONS, ()):
                app.callback(*args, **kwargs)(fn)
                count += 1
    for function, args, kwargs in getattr(module, CLIENTSIDE, ()):
        app.clientside_callback(function, *args, **kwargs)
        count += 1
    return count
