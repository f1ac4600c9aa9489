"""A server page's callbacks: header, history and distribution, recent rounds, warnings and log lines."""
from __future__ import annotations

import math
from dataclasses import replace

from dash import Input, Output, State, no_update

from callbacks.registry import callback

from callbacks.common import fetch, filters_from_search, shared_status, signature, view_key, window_of
from callbacks.graphs import versions
from callbacks.urlstate import server_id_from_path
from figures.distribution import rtt_histogram
from figures.empty import message_figure
from figures.server import server_history_figure
from layouts import ids
from common.format import records
from layouts.panels import concern_list, error_notice, log_list, notice, rounds_table
from layouts.server import server_header
from queries.alerts import list_alerts
from queries.catalog import find_server
from queries.history import distribution_summary, round_samples, row_count, rtt_values
from queries.logs import recent_logs
from queries.pingdata import ping_series, series_bucket_seconds, server_rounds
from queries.series import gap_seconds_for
from queries.warnings import concern_history, concern_summary
from runtime import get_runtime
from common.timeutil import utcnow

NO_DATA = "No measurements of this server in this time range."
# The RTT distribution parses each round's JSON samples; beyond this many rounds (a week of one a minute)
# it reads an even sample of them instead, so a 30-day page costs what a week does.
DISTRIBUTION_ROUNDS = 10_000


def _server(pathname):
    """(server id, configured server dict or None) for the page's path."""
    server_id = server_id_from_path(pathname)
    return server_id, find_server(get_runtime().config, server_id) if server_id else None


@callback(Output(ids.SERVER_HEADER, "children"), Input(ids.URL, "pathname"), Input(ids.REFRESH, "n_intervals"))
def refresh_header(pathname, _n):
    """Who the server is and its latest state."""
    server_id, server = _server(pathname)
    if server is None:
        return notice(f"No configured server has the id {server_id!r}.", color="warning")
    rt = get_runtime()
    status, error = fetch("the server status", shared_status, rt, utcnow())
    if error:
        return [server_header(server, None), error_notice("the server status", error)]
    rows = records(status[status["server_id"] == server_id])
    return server_header(server, rows[0] if rows else None)


def server_figures(series, rounds, config, filters, bucket: int, dark: bool, alerts=None, every: int = 1,
                   tz: str | None = None) -> tuple:
    """(history, distribution) figures of one server; the history shades when its alerts were open, its times in
    the display zone tz. `every`: the distribution was drawn from every n-th round."""
    key = view_key(filters, tz)
    if series.empty:
        return message_figure(NO_DATA, dark), message_figure(NO_DATA, dark)
    history = server_history_figure(series, config.thresholds, bucket_seconds=bucket, limits=config.alert_conditions.as_dict(),
                                    gap_seconds=gap_seconds_for(bucket, config.interval_seconds),
                                    window=window_of(filters), dark=dark, uirevision=key, alerts=alerts,
                                    server_id=str(series["key"].iloc[0]) if "key" in series else None, tz=tz)
    values = rtt_values(rounds)
    return history, rtt_histogram(values, distribution_summary(values), config.thresholds, dark=dark, uirevision=key,
                                  every=every)


def distribution_stride(rounds_in_window: int) -> int:
    """Read every n-th round for the RTT distribution, so it never parses more than DISTRIBUTION_ROUNDS."""
    return max(1, math.ceil(rounds_in_window / DISTRIBUTION_ROUNDS))


def _load_server_data(rt, filters, server_id: str, bucket: int, every: int = 1):
    """(series, rounds, alerts, error) for a server's figures; the samples of every n-th round."""
    series, error = fetch("the history", ping_series, rt.read_engine, filters, "server", bucket)
    if error:
        return None, None, None, error
    rounds, error = fetch("the samples", round_samples, rt.read_engine, filters, [server_id], every)
    if error:
        return None, None, None, error
    alerts, error = fetch("the alerts", list_alerts, rt.read_engine, "all", filters)
    return series, rounds, alerts, error


def history_failed(error: str, dark: bool) -> tuple:
    """The server graphs' outputs when a query failed."""
    failed = message_figure(f"Could not load the history. {error}", dark)
    return failed, failed, None


@callback(Output(ids.SERVER_HISTORY, "figure"), Output(ids.SERVER_DISTRIBUTION, "figure"),
          Output(ids.SERVER_SIGNATURE, "data"),
          Input(ids.URL, "pathname"), Input(ids.URL, "search"), Input(ids.REFRESH, "n_intervals"),
          Input(ids.THEME_SWITCH, "value"), State(ids.SERVER_SIGNATURE, "data"), Input(ids.DISPLAY_TZ, "data"))
def refresh_server_graphs(pathname, search, _n, dark, previous, tz=None):
    """History and RTT distribution of the server in the time range; unchanged data sends nothing."""
    rt, dark = get_runtime(), bool(dark)
    server_id, server = _server(pathname)
    if server is None:
        return message_figure("Unknown server.", dark), message_figure("Unknown server.", dark), None
    filters, _ = filters_from_search(search)
    filters = replace(filters, countries=(), partners=(), servers=(server_id,))
    version, error = fetch("the history", versions, rt.read_engine, filters)
    if error:
        return history_failed(error, dark)
    sig = signature(version, view_key(filters), dark, tz)
    if sig == previous:
        return no_update, no_update, no_update
    bucket = series_bucket_seconds(filters, rt.config.interval_seconds, rt.config.retention.as_dict())
    rounds_in_window, error = fetch("the history", row_count, rt.read_engine, filters)
    if error:
        return history_failed(error, dark)
    every = distribution_stride(rounds_in_window)
    series, rounds, alerts, error = _load_server_data(rt, filters, server_id, bucket, every)
    if error:
        return history_failed(error, dark)
    return (*server_figures(series, rounds, rt.config, filters, bucket, dark, alerts, every, tz), sig)


@callback(Output(ids.SERVER_ROUNDS, "children"), Output(ids.SERVER_CONCERNS, "children"),
          Output(ids.SERVER_LOGS, "children"),
          Input(ids.URL, "pathname"), Input(ids.URL, "search"), Input(ids.REFRESH, "n_intervals"),
          Input(ids.DISPLAY_TZ, "data"))
def refresh_server_tables(pathname, search, _n, tz=None):
    """Recent rounds, the warnings in the range and the log lines stored as being about the server."""
    server_id, server = _server(pathname)
    if server is None:
        return None, None, None
    rt = get_runtime()
    filters, _ = filters_from_search(search)
    filters = replace(filters, countries=(), partners=(), servers=(server_id,))
    rounds, r_err = fetch("the rounds", server_rounds, rt.read_engine, server_id, filters, 100)
    history, c_err = fetch("the warnings", concern_history, rt.read_engine, server_id, filters)
    logs, l_err = fetch("the log", recent_logs, rt.read_engine, limit=50, server_id=server_id)
    return (error_notice("the rounds", r_err) if r_err else rounds_table(rounds, tz=tz),
            error_notice("the warnings", c_err) if c_err else concern_list(concern_summary(history), tz),
            error_notice("the log", l_err) if l_err else log_list(logs, tz))
