"""Where Chromium and chromedriver are, and reading what a dash_duo page has drawn."""
from __future__ import annotations

import os
import shutil
from datetime import datetime
from urllib.parse import parse_qs, urlparse

from figures.alerts import ALERT_TRACE
from layouts import ids

# DASH_TEST_CHROMEPATH is dash.testing's own variable for the browser binary; Debian's paths are the fallback.
CHROMIUM = (os.environ.get("DASH_TEST_CHROMEPATH") or shutil.which("chromium") or shutil.which("chromium-browser")
            or "/usr/bin/chromium")
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def browser_runnable() -> bool:
    """Whether both the Chromium binary and chromedriver are executable here."""
    return os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)


CARD = f"a.{ids.CARD_CLASS}"


def trace_names(dash_duo, graph_id: str) -> list[str]:
    """The names of the data traces a graph has drawn (not the marks where alerts began)."""
    return dash_duo.driver.execute_script(
        "var g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return g && g.data ? g.data.map(t => t.name).filter(n => n !== arguments[1]) : [];",
        f"#{graph_id}", ALERT_TRACE)


def x_range(dash_duo, graph_id: str) -> list[str]:
    """The x axis range a graph shows."""
    return dash_duo.driver.execute_script(
        "var g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return g && g._fullLayout ? g._fullLayout.xaxis.range : null;", f"#{graph_id}")


def span_seconds(axis_range: list[str]) -> float:
    """How many seconds a date axis range spans."""
    start, end = (datetime.fromisoformat(v[:19].replace(" ", "T")) for v in axis_range)
    return (end - start).total_seconds()


def range_button(dash_duo, label: str):
    """The time range button with this label."""
    return [b for b in dash_duo.find_elements(f"#{ids.RANGE} label") if b.text == label][0]


def query_of(dash_duo) -> dict:
    """The current URL's query parameters."""
    return parse_qs(urlparse(dash_duo.driver.current_url).query)
