"""The shell's callbacks: routing, filters and time zone <-> URL, refresh interval, theme and the update clock."""
from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from dash import ClientsideFunction, Input, Output, State, ctx, no_update
from flask import has_request_context, request

from callbacks.registry import callback, clientside_callback

from callbacks.common import epoch_seconds, fetch, filters_from_search, is_overview, query_args
from callbacks.filter_states import filter_options
from callbacks.stamps import heartbeat, stamps
from callbacks.urlstate import (TZ_PARAM, controls_from_query, default_custom_window, display_zone,
                                query_from_controls, server_id_from_path, tz_choice, tz_error, with_view_params)
from common import timezones as tzs
from layouts import build_layout, ids
from layouts.overview import overview_layout
from layouts.reports import reports_layout
from layouts.server import not_found_layout, server_layout
from layouts.shell import Page, zone_options
from queries.coverage import first_stored_at
from runtime import get_runtime
from common.timeutil import utcnow

CONTROL_KEYS = ("countries", "partners", "range", "start_date", "end_date", "start_time", "end_time")
# What sync_filters writes, in its Output order: the URL, the controls, the zone choice, the custom row, the
# filter alert, the display zone (every time on the page), the custom window's zone badge and the saved choice.
SYNC_OUTPUTS = (("search", ids.URL, "search"), ("countries", ids.COUNTRY, "value"), ("partners", ids.PARTNER, "value"),
                ("range", ids.RANGE, "value"), ("start_date", ids.CUSTOM_DATES, "start_date"),
                ("end_date", ids.CUSTOM_DATES, "end_date"), ("start_time", ids.START_TIME, "value"),
                ("end_time", ids.END_TIME, "value"), ("tz", ids.TZ_SELECT, "value"),
                ("custom_hidden", ids.CUSTOM_ROW, "hidden"), ("alert", ids.FILTER_ALERT, "children"),
                ("alert_open", ids.FILTER_ALERT, "is_open"), ("zone", ids.DISPLAY_TZ, "data"),
                ("zone_badge", ids.CUSTOM_ZONE, "children"), ("saved", ids.TZ_SAVED, "data"),
                ("visible_month", ids.CUSTOM_DATES, "initial_visible_month"))


def visible_month(end_date: str | None, zone: str | None) -> str:
    """The month the date picker's calendar opens on: the custom window's end (today for the default last 24 h,
    which may start in the month before), else today in the zone."""
    return end_date or tzs.to_display(utcnow(), zone).strftime("%Y-%m-%d")


@callback(Output(ids.PAGE, "children"), Output(ids.COUNTRY, "disabled"), Output(ids.PARTNER, "disabled"),
          Output(ids.RENDERED_PATH, "data"), Input(ids.URL, "pathname"), State(ids.URL, "search"),
          State(ids.RENDERED_PATH, "data"))
def route(pathname, search, rendered=None):
    """The page for the path; on a server's page the country and partner filters do not apply. Nothing when the
    page is already there (served_layout put it into the first layout)."""
    if rendered is not None and pathname == rendered:
        return no_update, no_update, no_update, no_update
    return (*page_for(pathname, search), pathname)


def served_layout():
    """The root layout with the requested page already inside: the renderer asks for the layout from the page
    itself, so the request's Referer names the path, and the page's callbacks start at once instead of after
    the router's round trip (about 200 ms of a first load). Without a Referer, the router renders it."""
    pathname, search = requested_page()
    now_stamps = stamps(get_runtime(), search, epoch_seconds(utcnow())) if has_request_context() else (None,) * 3
    if pathname is None:
        return build_layout(stamps=now_stamps)
    content, groups_disabled, _ = page_for(pathname, search)
    return build_layout(Page(content, pathname, groups_disabled), now_stamps)


def requested_page() -> tuple[str | None, str]:
    """(path, query string) of the page a layout request comes from; (None, "") outside one or without a
    same-host Referer."""
    if not has_request_context() or not request.referrer:
        return None, ""
    parts = urlsplit(request.referrer)
    if parts.netloc != request.host:
        return None, ""
    return parts.path or "/", f"?{parts.query}" if parts.query else ""


def page_for(pathname: str | None, search: str | None) -> tuple:
    """(page, country filter disabled, partner filter disabled) for a path."""
    if is_overview(pathname):
        return overview_layout(), False, False
    if pathname.rstrip("/") == "/reports":
        return reports_layout(utcnow()), False, False
    if server_id_from_path(pathname):
        return server_layout(search), True, True
    return not_found_layout(pathname), False, False


def default_choice() -> str:
    """The zone choice a page opens in when neither the URL nor local storage names one (config display_timezone)."""
    return tz_choice(get_runtime().config.display_timezone) or tzs.UTC_NAME


def with_tz(search: str | None, choice: str, default: str) -> str:
    """The query string with tz= set to the choice (left out when it is the default)."""
    args = query_args(search)
    args.poplist(TZ_PARAM)
    if choice != default:
        args.add(TZ_PARAM, choice)
    return "?" + urlencode(list(args.items(multi=True)))


def _alert(search: str | None) -> str | None:
    """Why the URL's filters or time zone are not used as given, or None."""
    _, error = filters_from_search(search)
    return error or tz_error(search)


# Until the database holds this much, a page whose URL names no range opens on FRESH_RANGE, which shows it.
FRESH_SECONDS = 3600
FRESH_RANGE = "1h"


def fresh_search(search: str | None, engine, now) -> str | None:
    """On a fresh install (less than FRESH_SECONDS stored, or nothing yet), the query string with range=1h for a
    URL that names no range, so the first minutes fill the graphs instead of their right-most pixel; else None."""
    args = query_args(search)
    if any(args.get(key) for key in ("range", "start", "end")):
        return None
    first, error = fetch("the oldest stored round", first_stored_at, engine)
    if error or (first is not None and (now - first).total_seconds() >= FRESH_SECONDS):
        return None
    args.add("range", FRESH_RANGE)
    return "?" + urlencode(list(args.items(multi=True)))


def sync_from_url(search: str | None, browser_zone: str | None, saved, default: str, shown_zone=None) -> dict:
    """The outputs that bring the controls in line with the URL; a URL without tz= gets the saved choice."""
    named = controls_from_query(search)["tz"]
    choice = named or tz_choice(saved) or default
    zone = display_zone(choice, browser_zone)
    values = controls_from_query(search, zone)
    adopt = named is None and choice != default  # the choice kept in local storage goes into the URL
    alert = _alert(search)
    return dict(values, tz=choice, search=with_tz(search, choice, default) if adopt else no_update,
                custom_hidden=values["range"] != "custom", alert=alert, alert_open=bool(alert),
                zone=zone if zone != shown_zone else no_update, zone_badge=tzs.short_label(zone, utcnow()),
                saved=no_update, visible_month=visible_month(values["end_date"], zone))


def sync_from_controls(current_search: str | None, values: dict, now, zone: str | None = None,
                       tz: str | None = None, default: str = tzs.UTC_NAME) -> dict:
    """The outputs after a filter control changed: a new query string (and a prefilled custom window)."""
    out = {key: no_update for key in (*CONTROL_KEYS, "tz", "zone", "zone_badge", "saved", "visible_month")}
    if values["range"] == "custom" and not (values["start_date"] and values["end_date"]):
        window = default_custom_window(now, zone)
        values = dict(values, **window)
        out.update(window, visible_month=window["end_date"])
    # The vantage points chosen in the URL (collector=) stay when another control changes.
    query = with_view_params(query_from_controls(*(values[k] for k in CONTROL_KEYS), tz=tz, zone=zone,
                                                 default_tz=default,
                                                 collectors=controls_from_query(current_search)["collectors"]),
                             current_search)
    alert = _alert(query)
    return dict(out, search=query if query != (current_search or "") else no_update,
                custom_hidden=values["range"] != "custom", alert=alert, alert_open=bool(alert))


def sync_from_zone(current_search: str | None, choice, browser_zone: str | None, default: str, shown_zone) -> dict:
    """The outputs after the time zone choice changed: tz= in the URL, the custom window shown in the new zone
    (the same instants: the URL keeps them in UTC), and the choice saved in local storage."""
    choice = tz_choice(choice) or default
    query = with_tz(current_search, choice, default)
    out = sync_from_url(query, browser_zone, None, default, shown_zone)
    return dict(out, search=query if query != (current_search or "") else no_update, tz=no_update, saved=choice)


@callback(*(Output(i, p) for _, i, p in SYNC_OUTPUTS),
          Input(ids.URL, "search"), Input(ids.COUNTRY, "value"), Input(ids.PARTNER, "value"), Input(ids.RANGE, "value"),
          Input(ids.CUSTOM_DATES, "start_date"), Input(ids.CUSTOM_DATES, "end_date"), Input(ids.START_TIME, "value"),
          Input(ids.END_TIME, "value"), Input(ids.TZ_SELECT, "value"), Input(ids.BROWSER_TZ, "data"),
          Input(ids.TZ_SAVED, "data"), State(ids.DISPLAY_TZ, "data"))
def sync_filters(search, countries, partners, range_name, start_date, end_date, start_time, end_time,
                 tz=None, browser_zone=None, saved=None, shown_zone=None):
    """Keep the URL query string, the filter controls and the time zone in step, whichever one changed."""
    default, trigger = default_choice(), ctx.triggered_id
    if trigger == ids.TZ_SELECT:
        out = sync_from_zone(search, tz, browser_zone, default, shown_zone)
    elif trigger in (None, ids.URL, ids.BROWSER_TZ, ids.TZ_SAVED):
        fresh = fresh_search(search, get_runtime().read_engine, utcnow())
        out = sync_from_url(fresh or search, browser_zone, saved, default, shown_zone)
        if fresh and out["search"] is no_update:
            out["search"] = fresh
        if out["tz"] == tz:
            out["tz"] = no_update
    else:
        values = dict(zip(CONTROL_KEYS, (countries, partners, range_name, start_date, end_date, start_time,
                                         end_time)))
        choice = tz_choice(tz) or default
        out = sync_from_controls(search, values, utcnow(), display_zone(choice, browser_zone), choice, default)
    return tuple(out[key] for key, _, _ in SYNC_OUTPUTS)


# Sent at each page load; an auto-refresh whose status stamp moved sends them with the stamps
# (callbacks.stamps), so a new round asks no callback of its own for the dots.
@callback(Output(ids.COUNTRY, "options"), Output(ids.PARTNER, "options"), Output(ids.FILTER_STATES, "data"),
          Input(ids.URL, "pathname"), State(ids.FILTER_STATES, "data"))
def refresh_filter_options(_path, previous):
    """The countries and partners of the running config, each with its state (a coloured dot, how many servers
    are down or degraded); unchanged entries send nothing, so an open dropdown is left alone."""
    return filter_options(get_runtime(), utcnow(), previous)


@callback(Output(ids.TZ_SELECT, "options"), Input(ids.BROWSER_TZ, "data"), Input(ids.URL, "search"))
def zone_choices(browser_zone, search):
    """UTC, the browser's zone (named once known), the config's zone, and a zone a shared link names."""
    options = zone_options(get_runtime().config.display_timezone, browser_zone)
    named = controls_from_query(search)["tz"]
    if named and named not in {o["value"] for o in options}:
        options.append({"label": named, "value": named})
    return options


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


@callback(Output(ids.UPDATED_AT, "children"), Input(ids.URL, "search"), Input(ids.DISPLAY_TZ, "data"))
def updated_at(_search, zone=None):
    """When the page last asked for fresh data, in the display zone, which it names (at load and when the zone
    changes; each auto-refresh's heartbeat rewrites it in the browser, callbacks.stamps)."""
    return heartbeat(utcnow(), zone, None)["text"]


# The theme is a class on <html>, so it is set in the browser (assets/20_dashboard.js) without a round trip.
CLIENTSIDE_CALLBACKS: list = []
clientside_callback(CLIENTSIDE_CALLBACKS, ClientsideFunction(namespace="latencyMonitor", function_name="applyTheme"),
                    Output(ids.THEME_SINK, "data"), Input(ids.THEME_SWITCH, "value"))
# The browser's own zone, for the "Local" choice (assets/21_timezone.js); asked once the page has a URL.
clientside_callback(CLIENTSIDE_CALLBACKS, ClientsideFunction(namespace="latencyMonitorTime", function_name="browserZone"),
                    Output(ids.BROWSER_TZ, "data"), Input(ids.URL, "pathname"))
