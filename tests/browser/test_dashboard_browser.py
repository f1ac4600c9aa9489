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
from tests.helpers.browser import CARD, query_of, range_button, span_seconds, trace_names, x_range
from tests.helpers.waiting import wait_for

# Without dash[testing] (selenium) the conftest marks every test skipped; importorskip keeps collection quiet.
By = pytest.importorskip("selenium.webdriver.common.by").By
def choose_country(dash_duo, country: str) -> None:
    """Pick a country in the countries dropdown the way a user does: open it, type, press Enter."""
    dropdown = dash_duo.find_element(f"#{ids.COUNTRY}")
    dropdown.click()
    search = wait_for(lambda: dash_duo.driver.switch_to.active_element, what="dropdown search")
    search.send_keys(country)
    option = wait_for(lambda: [o for o in dash_duo.driver.find_elements(By.CSS_SELECTOR, "[role=option]")
                                         if o.text.strip() == country], what=f"option {country}")
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
    names = wait_for(lambda: trace_names(dash_duo, ids.LATENCY_GRAPH), what="latency traces")
    assert set(names) == countries
    assert wait_for(lambda: trace_names(dash_duo, ids.JITTER_GRAPH), what="jitter traces")
    assert dash_duo.find_element(f"#{ids.COUNTS}-down .lm-count-n").text == "1"
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_country_filter_and_range_change_graphs_and_url(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    wait_for(lambda: len(trace_names(dash_duo, ids.LATENCY_GRAPH)) == 6, what="six countries")
    day_range = x_range(dash_duo, ids.LATENCY_GRAPH)
    choose_country(dash_duo, "Kenya")
    wait_for(lambda: trace_names(dash_duo, ids.LATENCY_GRAPH) == ["Kenya"], what="Kenya only")
    assert len(dash_duo.find_elements(CARD)) == 2
    assert abs(span_seconds(day_range) - 86400) < 600
    range_button(dash_duo, "7 d").click()
    wait_for(lambda: abs(span_seconds(x_range(dash_duo, ids.LATENCY_GRAPH)) - 7 * 86400) < 600,
             what="a 7-day axis")
    assert query_of(dash_duo) == {"country": ["Kenya"], "range": ["7d"]}


def test_loading_a_filtered_url_restores_the_filters(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    dash_duo.driver.get(dash_duo.server_url + "/?country=Nigeria&country=Egypt&range=1h")
    wait_for(lambda: sorted(trace_names(dash_duo, ids.LATENCY_GRAPH)) == ["Egypt", "Nigeria"],
             what="Egypt and Nigeria only")
    shown = dash_duo.find_element(f"#{ids.COUNTRY}").text
    assert "Nigeria" in shown and "Egypt" in shown
    active = dash_duo.find_element(f"#{ids.RANGE} label.active").text
    assert active.replace(" ", "") == "1h"
    assert len(dash_duo.find_elements(CARD)) == 3


def test_export_downloads_the_filtered_rows(dash_duo, demo_app, demo):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    dash_duo.driver.get(dash_duo.server_url + "/?country=Ghana&range=1h")
    wait_for(lambda: trace_names(dash_duo, ids.LATENCY_GRAPH) == ["Ghana"], what="Ghana only")
    dash_duo.find_element(f"#{ids.EXPORT_BUTTON}").click()
    folder = Path(dash_duo.download_path)
    files = wait_for(lambda: [p for p in folder.glob("*.csv")], what="a downloaded CSV")
    rows = list(csv.DictReader(io.StringIO(files[0].read_text(encoding="utf-8"))))
    assert rows and {r["country"] for r in rows} == {"Ghana"}
    assert 11 <= len(rows) <= 13  # one round per 5 minutes over the last hour


def test_open_alerts_show_on_cards_in_the_alerts_panel_and_on_the_latency_graph(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(f"{CARD} [data-server='{DOWN_SERVER}'] .lm-alert-critical", timeout=20)
    assert dash_duo.find_element(f"{CARD} [data-server='{DOWN_SERVER}'] .lm-alert").text.strip() == "down"
    assert dash_duo.find_element(f"{CARD} [data-server='{STALE_SERVER}'] .lm-alert-warning").text.strip() == "stale"
    # Other critical alerts may be open beside it, listed first: the demo's data follow the time of day (Lagos
    # Link's primary loses a quarter of its packets at 09:00-11:00 UTC), so look for this alert's own item.
    down = f"Down on Lagos Link Nigeria ({DOWN_SERVER})"
    wait_for(lambda: [e for e in dash_duo.find_elements(f"#{ids.WARNINGS} .lm-warn-critical") if down in e.text],
             what=f"a critical item '{down}' in the alerts panel")
    assert dash_duo.find_elements(f"#{ids.WARNINGS} .lm-warn-resolved")  # the day's history follows
    # The open 'down' alert marks Nigeria's line (a halo), and nothing shades the whole chart.
    halos = wait_for(lambda: dash_duo.driver.execute_script(
        "var g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
        "return g && g.data ? g.data.filter(t => t.name === arguments[1] && t.mode === 'lines').flatMap(t => t.meta) : [];",
        f"#{ids.LATENCY_GRAPH}", ALERT_TRACE), what="alert halos on the latency graph")
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
    wait_for(lambda: "mean latency" in trace_names(dash_duo, ids.SERVER_HISTORY), what="history")
    dash_duo.wait_for_element(f"#{ids.SERVER_ROUNDS} table", timeout=20)
    assert dash_duo.get_logs() == [], dash_duo.get_logs()
