"""The server page's SIP history: response time and code of the server's SIP checks in the time range."""
from __future__ import annotations

from dataclasses import replace

from dash import Input, Output

from callbacks.common import fetch, filters_from_search, view_key, window_of
from callbacks.registry import callback
from callbacks.urlstate import server_id_from_path
from figures.empty import message_figure
from figures.sip import sip_history_figure
from layouts import ids
from layouts.sip import SERVER_SIP_HISTORY
from queries.pingdata import series_bucket_seconds
from queries.sipseries import sip_series
from runtime import get_runtime

NO_SIP = "No SIP check is configured for this server."
NO_DATA = "No SIP checks of this server in this time range."


@callback(Output(SERVER_SIP_HISTORY, "figure"), Input(ids.URL, "pathname"), Input(ids.URL, "search"),
          Input(ids.REFRESH, "n_intervals"), Input(ids.THEME_SWITCH, "value"))
def refresh_sip_history(pathname, search, _n, dark):
    """The SIP response time and code history of the page's server."""
    rt, dark = get_runtime(), bool(dark)
    server_id = server_id_from_path(pathname)
    configured = next((s for s in rt.config.servers if s.id == server_id), None) if server_id else None
    if configured is None or configured.sip is None:
        return message_figure(NO_SIP, dark)
    filters, _ = filters_from_search(search)
    filters = replace(filters, countries=(), partners=(), servers=(server_id,))
    bucket = series_bucket_seconds(filters, rt.config.interval_seconds, rt.config.retention.as_dict())
    series, error = fetch("the SIP history", sip_series, rt.read_engine, filters, "server", bucket)
    if error:
        return message_figure(f"Could not load the SIP history. {error}", dark)
    if series.empty:
        return message_figure(NO_DATA, dark)
    return sip_history_figure(series, dark=dark, uirevision=view_key(filters), window=window_of(filters))
