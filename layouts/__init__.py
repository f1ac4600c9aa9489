"""Page layouts and component builders (no callbacks): the shell, the overview and a server's page."""
from __future__ import annotations

from dash import html

from layouts.shell import shell_layout


def build_layout(page=None, stamps: tuple = (None, None, None)) -> html.Div:
    """The root layout Dash serves, with the filter choices from the running app's config (and the requested
    page, a layouts.shell.Page, when known; the refresh stamps, when known)."""
    from queries.catalog import filter_choices
    from runtime import get_runtime
    choices = filter_choices(get_runtime().config)
    config = get_runtime().config
    return shell_layout(choices["countries"], choices["partners"], config.display_timezone, page, stamps)


def validation_layout() -> html.Div:
    """Every component any page can hold, so Dash checks each callback's ids without suppress_callback_exceptions."""
    from common.timeutil import utcnow
    from layouts.overview import overview_layout
    from layouts.reports import reports_layout
    from layouts.server import not_found_layout, server_layout
    return html.Div([shell_layout([], []), overview_layout(), server_layout(None), reports_layout(utcnow()),
                     not_found_layout("/")])
