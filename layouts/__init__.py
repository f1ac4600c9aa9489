"""Page layouts and component builders (no callbacks): the shell, the overview and a server's page."""
from __future__ import annotations

from dash import html

from layouts.shell import shell_layout


def build_layout() -> html.Div:
    """The root layout Dash serves, with the filter choices from the running app's config."""
    from queries.catalog import filter_choices
    from runtime import get_runtime
    choices = filter_choices(get_runtime().config)
    return shell_layout(choices["countries"], choices["partners"])
