"""The filter bar: countries, partners, time range (with a custom window in the display zone) and the CSV export."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids

RANGE_OPTIONS = [{"label": "1 h", "value": "1h"}, {"label": "24 h", "value": "24h"}, {"label": "7 d", "value": "7d"},
                 {"label": "30 d", "value": "30d"}, {"label": "Custom", "value": "custom"}]
DEFAULT_RANGE = "24h"


STATE_WORDS = (("down", "down"), ("degraded", "degraded"), ("stale", "stale"))


def state_label(name: str, state: str, counts: dict[str, int]) -> html.Span:
    """A country's or partner's option: a dot in the colour of its worst server, its name, and how many of its
    servers are down, degraded or stale (nothing when all are up)."""
    trouble = " · ".join(f"{counts[key]} {word}" for key, word in STATE_WORDS if counts.get(key))
    return html.Span([html.Span(className=f"lm-dot lm-dot-{state}", title=state), html.Span(name, className="lm-opt-name"),
                      html.Span(trouble, className="lm-opt-count") if trouble else None],
                     className="lm-opt", **{"data-state": state})


def state_options(entries: list[tuple[str, str, dict]]) -> list[dict]:
    """Dropdown options from (name, worst state, counts) entries; searchable by name."""
    return [{"label": state_label(name, state, counts), "value": name, "search": name}
            for name, state, counts in entries]


def _multi(id_: str, options: list[str], placeholder: str, icon: str, disabled: bool = False) -> html.Div:
    """A labelled multi-select dropdown (empty = all)."""
    return html.Div([
        html.I(className=f"bi {icon} lm-filter-icon", title=placeholder),
        dcc.Dropdown(id=id_, options=[{"label": o, "value": o} for o in options], value=[], multi=True,
                     placeholder=placeholder, className="lm-dropdown", disabled=disabled),
    ], className="lm-filter lm-filter-select")


def range_buttons() -> dbc.RadioItems:
    """The time range as a group of toggle buttons."""
    return dbc.RadioItems(id=ids.RANGE, options=RANGE_OPTIONS, value=DEFAULT_RANGE, className="btn-group lm-range",
                          inputClassName="btn-check", labelClassName="btn btn-outline-secondary btn-sm",
                          labelCheckedClassName="active")


def _clock_input(id_: str, label: str) -> dbc.Input:
    """A 24-hour HH:MM field. Text, not type=time: a browser shows that in its locale's 12-hour form."""
    return dbc.Input(id=id_, type="text", value="00:00", size="sm", className="lm-time", debounce=True,
                     inputMode="numeric", pattern=r"([01]?[0-9]|2[0-3]):[0-5][0-9]", maxLength=5, placeholder="HH:MM",
                     name=label)


def custom_window() -> html.Div:
    """Start and end date-time pickers, in the display zone (named in the badge), shown when the range is Custom."""
    return html.Div([
        html.Span("Dates", className="text-body-secondary"),
        dcc.DatePickerRange(id=ids.CUSTOM_DATES, display_format="YYYY-MM-DD", first_day_of_week=1,
                            minimum_nights=0, className="lm-dates"),
        html.Span("from", className="text-body-secondary"),
        _clock_input(ids.START_TIME, "start time"),
        html.Span("to", className="text-body-secondary"),
        _clock_input(ids.END_TIME, "end time"),
        html.Span("UTC", id=ids.CUSTOM_ZONE, className="badge text-bg-secondary"),
    ], id=ids.CUSTOM_ROW, className="lm-custom", hidden=True)


def export_button() -> dbc.Button:
    """Downloads the rows the filters select as CSV."""
    return dbc.Button([html.I(className="bi bi-download me-1"), "CSV"], id=ids.EXPORT_BUTTON, size="sm",
                      color="secondary", outline=True, title="Download the filtered rows as CSV")


def filter_bar(countries: list[str], partners: list[str], groups_disabled: bool = False) -> html.Section:
    """The filter bar shared by every page (country and partner off where they do not apply: a server's page)."""
    return html.Section([
        html.Div([
            _multi(ids.COUNTRY, countries, "All countries", "bi-globe2", groups_disabled),
            _multi(ids.PARTNER, partners, "All partners", "bi-building", groups_disabled),
            html.Div([html.I(className="bi bi-clock-history lm-filter-icon"), range_buttons()],
                     className="lm-filter"),
            custom_window(),
            html.Div(export_button(), className="lm-filter lm-export"),
        ], className="lm-filterbar"),
        dcc.Store(id=ids.FILTER_STATES),
        dbc.Alert(id=ids.FILTER_ALERT, color="warning", is_open=False, dismissable=True, className="mt-2 mb-0"),
        dbc.Alert(id=ids.EXPORT_ALERT, color="danger", is_open=False, dismissable=True, className="mt-2 mb-0"),
    ], className="lm-filters", **{"aria-label": "filters"})
