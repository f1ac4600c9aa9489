"""The country and partner dropdowns' entries with their states (a coloured dot, how many servers are down or
degraded), as the page load (callbacks.shell) and each auto-refresh whose status stamp moved (callbacks.stamps)
send them."""
from __future__ import annotations

import pandas as pd
from dash import no_update

from callbacks.common import fetch, shared_status, signature
from layouts.filters import state_options
from queries.catalog import servers_frame

# A country's or partner's state is its worst server's; the order to compare them in.
STATE_ORDER = ("down", "degraded", "stale", "up", "unknown")


def entry_states(status: pd.DataFrame, column: str) -> list[tuple[str, str, dict]]:
    """(name, worst state, counts per state) of each country or partner (`column`) in a server_status frame,
    by name."""
    out = []
    for name, rows in status.groupby(column, sort=True):
        counts = {state: int(n) for state, n in rows["status"].value_counts().items()}
        worst = next((state for state in STATE_ORDER if counts.get(state)), "unknown")
        out.append((str(name), worst, counts))
    return out


def filter_states(rt, now) -> tuple[list, list]:
    """The country and partner entries of the configured servers with their states (unknown if the status
    cannot be read: the names must still be offered)."""
    status, error = fetch("the server status", shared_status, rt, now)
    if error:
        status = servers_frame(rt.config).assign(status="unknown")
    return entry_states(status, "country"), entry_states(status, "partner")


def filter_options(rt, now, previous) -> tuple:
    """(country options, partner options, signature) of the running config, or three no_update when the
    browser holds them already (signature `previous`), so an open dropdown is left alone."""
    countries, partners = filter_states(rt, now)
    sig = signature(countries, partners)
    if sig == previous:
        return no_update, no_update, no_update
    return state_options(countries), state_options(partners), sig
