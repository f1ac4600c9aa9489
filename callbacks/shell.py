"""The shell's callbacks: routing, filters <-> URL, refresh interval, theme and the update clock."""
from __future__ import annotations

from dash import ClientsideFunction, Input, Output, State, ctx, no_update

from callbacks.registry import callback, clientside_callback

from callbacks.common import filters_from_search
from callbacks.urlstate import controls_from_query, default_custom_window, query_from_controls, server_id_from_path
from layouts import ids
from layouts.overview import overview_layout
from layouts.server import not_found_layout, server_layout
from common.timeutil import utcnow

CONTROL_KEYS = ("countries", "partners", "range", "start_date", "end_date", "start_time", "end_time")


@callback(Output(ids.PAGE, "children"), Output(ids.COUNTRY, "disabled"), Output(ids.PARTNER, "disabled"),
          Input(ids.URL, "pathname"), State(ids.URL, "search"))
def route(pathname, search):
    """The page for the path; on a server's page the country and partner filters do not apply."""
    return page_for(pathname, search)


def page_for(pathname: str | None, search: str | None) -> tuple:
    """(page, country filter disabled, partner filter disabled) for a path."""
    if pathname in (None, "", "/"):
        return overview_layout(), False, False
    if server_id_from_path(pathname):
        return server_layout(search), True, True
    return not_found_layout(pathname), False, False


def sync_from_url(search: str | None) -> dict:
    """The outputs that bring the controls in line with the URL (the URL itself stays)."""
    values = controls_from_query(search)
    _, error = filters_from_search(search)
    return dict(values, search=no_update, custom_hidden=values["range"] != "custom", alert=error)


def sync_from_controls(current_search: str | None, values: dict, now) -> dict:
    """The outputs after a control changed: a new query string (and a prefilled custom window)."""
    out = {key: no_update for key in CONTROL_KEYS}
    if values["range"] == "custom" and not (values["start_date"] and values["end_date"]):
        window = default_custom_window(now)
        values = dict(values, **window)
        out.update(window)
    # The vantage points chosen in the URL (collector=) stay when another control changes.
    query = query_from_controls(*(values[k] for k in CONTROL_KEYS), controls_from_query(current_search)["collectors"])
    _, error = filters_from_search(query)
    return dict(out, search=query if query != (current_search or "") else no_update,
                custom_hidden=values["range"] != "custom", alert=error)


@callback(Output(ids.URL, "search"), *(Output(i, p) for i, p in (
    (ids.COUNTRY, "value"), (ids.PARTNER, "value"), (ids.RANGE, "value"), (ids.CUSTOM_DATES, "start_date"),
    (ids.CUSTOM_DATES, "end_date"), (ids.START_TIME, "value"), (ids.END_TIME, "value"))),
    Output(ids.CUSTOM_ROW, "hidden"), Output(ids.FILTER_ALERT, "children"), Output(ids.FILTER_ALERT, "is_open"),
    Input(ids.URL, "search"), Input(ids.COUNTRY, "value"), Input(ids.PARTNER, "value"), Input(ids.RANGE, "value"),
    Input(ids.CUSTOM_DATES, "start_date"), Input(ids.CUSTOM_DATES, "end_date"), Input(ids.START_TIME, "value"),
    Input(ids.END_TIME, "value"))
def sync_filters(search, countries, partners, range_name, start_date, end_date, start_time, end_time):
    """Keep the URL query string and the filter controls in step, whichever one changed."""
    if ctx.triggered_id in (None, ids.URL):
        out = sync_from_url(search)
    else:
        values = dict(zip(CONTROL_KEYS, (countries, partners, range_name, start_date, end_date, start_time,
                                         end_time)))
        out = sync_from_controls(search, values, utcnow())
    return (out["search"], *(out[k] for k in CONTROL_KEYS), out["custom_hidden"], out["alert"],
            bool(out["alert"]))


@callback(Output(ids.NAV_HOME, "href"), Input(ids.URL, "search"))
def home_link(search):
    """The logo leads to the overview with the current filters."""
    return f"/{search or ''}"


@callback(Output(ids.BACK_LINK, "href"), Input(ids.URL, "search"))
def back_link(search):
    """A server page's back link keeps the current filters."""
    return f"/{search or ''}"


@callback(Output(ids.REFRESH, "interval"), Output(ids.REFRESH, "disabled"),
          Input(ids.REFRESH_SELECT, "value"), Input(ids.PAUSE_SWITCH, "value"))
def refresh_settings(seconds, paused):
    """The auto-refresh period in ms (at least 5 s) and whether it is paused."""
    try:
        period = max(5, int(seconds))
    except (TypeError, ValueError):
        period = 30
    return period * 1000, bool(paused)


@callback(Output(ids.UPDATED_AT, "children"), Input(ids.REFRESH, "n_intervals"), Input(ids.URL, "search"))
def updated_at(_n, _search):
    """When the page last asked for fresh data."""
    return f"updated {utcnow():%H:%M:%S} UTC"


# The theme is a class on <html>, so it is set in the browser (assets/20_dashboard.js) without a round trip.
CLIENTSIDE_CALLBACKS: list = []
clientside_callback(CLIENTSIDE_CALLBACKS, ClientsideFunction(namespace="latencyMonitor", function_name="applyTheme"),
                    Output(ids.THEME_SINK, "data"), Input(ids.THEME_SWITCH, "value"))
