"""The dashboard in a real browser: cards, graphs, filters in the URL, CSV export, server pages."""
from __future__ import annotations

import csv
import io
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from figures.alerts import ALERT_TRACE
from layouts import ids
from tests.browser.demo_data import DEMO_SERVERS, DOWN_SERVER, STALE_SERVER

# Without dash[testing] (selenium) the conftest marks every test skipped; importorskip keeps collection quiet.
By = pytest.importorskip("selenium.webdriver.common.by").By
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


def wait_for(dash_duo, predicate, timeout: float = 20, message: str = "condition"):
    """Poll until predicate() is truthy; returns its value."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {message}")


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


def choose_country(dash_duo, country: str) -> None:
    """Pick a country in the countries dropdown the way a user does: open it, type, press Enter."""
    dropdown = dash_duo.find_element(f"#{ids.COUNTRY}")
    dropdown.click()
    search = wait_for(dash_duo, lambda: dash_duo.driver.switch_to.active_element, message="dropdown search")
    search.send_keys(country)
    option = wait_for(dash_duo, lambda: [o for o in dash_duo.driver.find_elements(By.CSS_SELECTOR, "[role=option]")
                                         if o.text.strip() == country], message=f"option {country}")
    option[0].click()
    dash_duo.driver.find_element(By.TAG_NAME, "body").send_keys("\ue00c")  # Escape closes the menu


def test_page_loads_with_a_card_per_server_and_graphs(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    cards = dash_duo.find_elements(CARD)
    assert len(cards) == len(DEMO_SERVERS)
    countries = {s["country"] for s in DEMO_SERVERS}
    groups = dash_duo.find_elements(".lm-group")
    assert {g.get_attribute("data-country") for g in groups} == countries
    names = wait_for(dash_duo, lambda: trace_names(dash_duo, ids.LATENCY_GRAPH), message="latency traces")
    assert set(names) == countries
    assert wait_for(dash_duo, lambda: trace_names(dash_duo, ids.JITTER_GRAPH), message="jitter traces")
    assert dash_duo.find_element(f"#{ids.COUNTS}-down .lm-count-n").text == "1"
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_country_filter_and_range_change_graphs_and_url(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    wait_for(dash_duo, lambda: len(trace_names(dash_duo, ids.LATENCY_GRAPH)) == 6, message="six countries")
    day_range = x_range(dash_duo, ids.LATENCY_GRAPH)
    choose_country(dash_duo, "Kenya")
    wait_for(dash_duo, lambda: trace_names(dash_duo, ids.LATENCY_GRAPH) == ["Kenya"], message="Kenya only")
    assert len(dash_duo.find_elements(CARD)) == 2
    assert abs(span_seconds(day_range) - 86400) < 600
    range_button(dash_duo, "7 d").click()
    wait_for(dash_duo, lambda: abs(span_seconds(x_range(dash_duo, ids.LATENCY_GRAPH)) - 7 * 86400) < 600,
             message="a 7-day axis")
    assert query_of(dash_duo) == {"country": ["Kenya"], "range": ["7d"]}


def test_loading_a_filtered_url_restores_the_filters(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    dash_duo.driver.get(dash_duo.server_url + "/?country=Nigeria&country=Egypt&range=1h")
    wait_for(dash_duo, lambda: sorted(trace_names(dash_duo, ids.LATENCY_GRAPH)) == ["Egypt", "Nigeria"],
             message="Egypt and Nigeria only")
    shown = dash_duo.find_element(f"#{ids.COUNTRY}").text
    assert "Nigeria" in shown and "Egypt" in shown
    active = dash_duo.find_element(f"#{ids.RANGE} label.active").text
    assert active.replace(" ", "") == "1h"
    assert len(dash_duo.find_elements(CARD)) == 3


def test_export_downloads_the_filtered_rows(dash_duo, demo_app, demo):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    dash_duo.driver.get(dash_duo.server_url + "/?country=Ghana&range=1h")
    wait_for(dash_duo, lambda: trace_names(dash_duo, ids.LATENCY_GRAPH) == ["Ghana"], message="Ghana only")
    dash_duo.find_element(f"#{ids.EXPORT_BUTTON}").click()
    folder = Path(dash_duo.download_path)
    files = wait_for(dash_duo, lambda: [p for p in folder.glob("*.csv")], message="a downloaded CSV")
    rows = list(csv.DictReader(io.StringIO(files[0].read_text(encoding="utf-8"))))
    assert rows and {r["country"] for r in rows} == {"Ghana"}
    assert 11 <= len(rows) <= 13  # one round per 5 minutes over the last hour


def test_open_alerts_show_on_cards_in_the_alerts_panel_and_on_the_latency_graph(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(f"{CARD} [data-server='{DOWN_SERVER}'] .lm-alert-critical", timeout=20)
    assert dash_duo.find_element(f"{CARD} [data-server='{DOWN_SERVER}'] .lm-alert").text.strip() == "down"
    assert dash_duo.find_element(f"{CARD} [data-server='{STALE_SERVER}'] .lm-alert-warning").text.strip() == "stale"
    panel = dash_duo.wait_for_element(f"#{ids.WARNINGS} .lm-warn-critical", timeout=20)
    assert f"Down on Lagos Link Nigeria ({DOWN_SERVER})" in panel.text
    assert dash_duo.find_elements(f"#{ids.WARNINGS} .lm-warn-resolved")  # the day's history follows
    # The open 'down' alert marks Nigeria's line (a halo), and nothing shades the whole chart.
    halos = wait_for(dash_duo, lambda: dash_duo.driver.execute_script(
        "var g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return g && g.data ? g.data.filter(t => t.name === arguments[1] && t.mode === 'lines').map(t => t.meta) : [];",
        f"#{ids.LATENCY_GRAPH}", ALERT_TRACE), message="alert halos on the latency graph")
    assert "Nigeria" in halos
    assert dash_duo.driver.execute_script(
        "var g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return (g.layout.shapes || []).filter(s => s.xref === 'x').length;", f"#{ids.LATENCY_GRAPH}") == 0
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_a_server_card_opens_its_page(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    dash_duo.find_element(f"{CARD} [data-server='10.60.0.8']").click()
    dash_duo.wait_for_contains_text(f"#{ids.SERVER_HEADER}", "Accra Tel", timeout=20)
    assert urlparse(dash_duo.driver.current_url).path == "/server/10.60.0.8"
    wait_for(dash_duo, lambda: "mean latency" in trace_names(dash_duo, ids.SERVER_HISTORY), message="history")
    dash_duo.wait_for_element(f"#{ids.SERVER_ROUNDS} table", timeout=20)
    assert dash_duo.get_logs() == [], dash_duo.get_logs()
