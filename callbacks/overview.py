"""The overview's status callbacks: counts and cards (with open alerts), the startup notice and the alerts panel
(the log viewer's is in callbacks/logs.py)."""
from __future__ import annotations

import pandas as pd
from dash import Input, Output

from callbacks.registry import callback

from callbacks.common import fetch, filters_from_search
from layouts import ids
from layouts.panels import error_notice, notice, warnings_list
from layouts.status import counts_bar, country_groups, empty_cards_note, startup_message, status_counts
from queries.catalog import matching
from queries.status import recent_rounds, server_status
from queries.warnings import current_warnings
from runtime import collector_problem, config_problem, get_runtime
from common.timeutil import utcnow

HEARTBEAT_ROUNDS = 30


def first_round_seconds(config) -> float:
    """About how long a round takes: one packet a second, then the reply timeout, plus a margin."""
    return float(config.ping_count) + float(config.ping_timeout) + 2.0


def startup_notice(status: pd.DataFrame, runtime, now):
    """An invalid config edit or a collector problem (cannot store rounds, thread died), else the 'collector is
    starting' notice, else None."""
    problems = [notice(p, color="danger", icon="bi-exclamation-octagon-fill")
                for p in (config_problem(runtime), collector_problem(runtime)) if p]
    if problems:
        return problems[0] if len(problems) == 1 else problems
    if not len(runtime.config.servers):
        return notice("No servers are configured: add them to the config file's servers list.", color="warning")
    if status["timestamp"].notna().any():
        return None
    collector = runtime.collector
    here = bool(collector and collector.is_alive())
    text = startup_message(here, runtime.config.interval_seconds, first_round_seconds(runtime.config), now)
    return notice(text, icon="bi-hourglass-split")


@callback(Output(ids.COUNTS, "children"), Output(ids.CARDS, "children"), Output(ids.NOTICE, "children"),
          Input(ids.URL, "search"), Input(ids.REFRESH, "n_intervals"))
def refresh_status(search, _n):
    """Counts and a card per server matching the filters, plus the startup notice on a fresh database."""
    rt, now = get_runtime(), utcnow()
    filters, _ = filters_from_search(search, now)
    status, error = fetch("the server status", server_status, rt.read_engine, rt.config, now)
    if error:
        return None, None, error_notice("the server status", error)
    shown = matching(status, filters.countries, filters.partners)
    # One query for every shown server's last rounds; if it fails the strips show their slots as missing.
    beats, _ = fetch("recent rounds", recent_rounds, rt.read_engine, list(shown["server_id"]), HEARTBEAT_ROUNDS)
    cards = country_groups(shown, beats or {}, search, HEARTBEAT_ROUNDS) if not shown.empty else empty_cards_note()
    return counts_bar(status_counts(shown), len(shown)), cards, startup_notice(status, rt, now)


@callback(Output(ids.WARNINGS, "children"), Input(ids.URL, "search"), Input(ids.REFRESH, "n_intervals"))
def refresh_warnings(search, _n):
    """Open alerts of the servers matching the filters, then those resolved in the time range."""
    rt, now = get_runtime(), utcnow()
    filters, _ = filters_from_search(search, now)
    warnings, error = fetch("the warnings", current_warnings, rt.read_engine, rt.config, now, filters)
    if error:
        return error_notice("the warnings", error)
    return warnings_list(warnings, now, search)
