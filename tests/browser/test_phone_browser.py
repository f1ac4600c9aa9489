"""On a phone (390 x 844, emulated by Chromium's device metrics as a mobile viewport): no page scrolls sideways,
the Custom range stays reachable, the alerts come before the graphs, the rounds table reads as cards inside
its box, and the plotly mode bar does not sit on the legend."""
from __future__ import annotations

import pytest

from layouts import ids
from tests.browser.demo_data import DOWN_SERVER
from tests.helpers.browser import CARD, range_button
from tests.helpers.waiting import wait_for

ActionChains = pytest.importorskip("selenium.webdriver.common.action_chains").ActionChains
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
RECT = "var r = arguments[0].getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top, bottom: r.bottom};"


@pytest.fixture
def phone(dash_duo, demo_app):
    """dash_duo on the demo app in a 390 x 844 mobile viewport; call it with a path to open that page."""
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    dash_duo.start_server(demo_app)

    def open_page(path: str):
        dash_duo.driver.get(dash_duo.server_url + path)
        return dash_duo
    yield open_page
    dash_duo.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def page_width(dash_duo) -> dict:
    """The layout viewport's width and how wide the page is (scrollWidth > width: it scrolls sideways)."""
    return dash_duo.driver.execute_script(
        "return {width: document.documentElement.clientWidth, inner: window.innerWidth,"
        " scroll: document.documentElement.scrollWidth};")


def rect(dash_duo, element) -> dict:
    return dash_duo.driver.execute_script(RECT, element)


def assert_fits(dash_duo) -> None:
    """Nothing on the page is wider than the phone."""
    width = page_width(dash_duo)
    assert width["inner"] == 390 and width["scroll"] <= 390, width


def test_the_overview_fits_the_phone_and_the_alerts_come_before_the_graphs(phone):
    dash_duo = phone("/?range=24h")
    dash_duo.wait_for_element(CARD, timeout=20)
    wait_for(lambda: dash_duo.find_elements(f"#{ids.LATENCY_GRAPH} .main-svg"), what="the graphs")
    dash_duo.wait_for_element(f"#{ids.WARNINGS} .lm-warn", timeout=20)
    assert_fits(dash_duo)
    alerts = rect(dash_duo, dash_duo.find_element(f"#{ids.WARNINGS}"))
    latency = rect(dash_duo, dash_duo.find_element(f"#{ids.LATENCY_GRAPH}"))
    logs = rect(dash_duo, dash_duo.find_element(f"#{ids.LOG_TABLE}"))
    assert alerts["bottom"] < latency["top"] < logs["top"]
    assert logs["right"] <= 390  # the log viewer too
    # Every range button, Custom included, is on the screen and can be pressed.
    for label in ("1 h", "24 h", "7 d", "30 d", "Custom"):
        box = rect(dash_duo, range_button(dash_duo, label))
        assert 0 <= box["left"] and box["right"] <= 390, (label, box)
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_the_custom_range_opens_its_fields_on_the_screen(phone):
    dash_duo = phone("/?range=24h")
    dash_duo.wait_for_element(CARD, timeout=20)
    range_button(dash_duo, "Custom").click()
    wait_for(lambda: "range=custom" in dash_duo.driver.current_url, what="a custom range")
    for id_ in (ids.START_TIME, ids.END_TIME, ids.CUSTOM_ZONE):
        box = rect(dash_duo, dash_duo.find_element(f"#{id_}"))
        assert box["right"] <= 390 and box["bottom"] > box["top"], (id_, box)
    dash_duo.find_element(".dash-datepicker-start-date").click()
    calendar = dash_duo.wait_for_element(".dash-datepicker-content", timeout=10)
    box = rect(dash_duo, calendar)
    assert box["left"] >= 0 and box["right"] <= 390.5, box
    assert_fits(dash_duo)


def test_a_servers_page_fits_and_its_rounds_read_as_cards_inside_their_box(phone):
    dash_duo = phone(f"/server/{DOWN_SERVER}?range=24h")
    dash_duo.wait_for_element(f"#{ids.SERVER_ROUNDS} table", timeout=20)
    wait_for(lambda: dash_duo.find_elements(f"#{ids.SERVER_HISTORY} .main-svg"), what="the history")
    assert_fits(dash_duo)
    table = dash_duo.find_element(f"#{ids.SERVER_ROUNDS} table")
    box, panel = rect(dash_duo, table), rect(dash_duo, dash_duo.find_element(f"#{ids.SERVER_ROUNDS}"))
    assert box["right"] <= panel["right"] + 0.5  # no column cut off, nothing wider than its box
    assert not dash_duo.find_element(f"#{ids.SERVER_ROUNDS} thead").is_displayed()
    first_row = dash_duo.find_elements(f"#{ids.SERVER_ROUNDS} tbody tr")[0]
    cell = first_row.find_elements("css selector", "td")[1]
    label = dash_duo.driver.execute_script("return getComputedStyle(arguments[0], '::before').content;", cell)
    assert label.strip('"') == "Avg"  # each value under its column's name
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_the_plotly_mode_bar_does_not_cover_the_legend(phone):
    dash_duo = phone("/?range=24h")
    legend = dash_duo.wait_for_element(f"#{ids.LATENCY_GRAPH} .legend", timeout=20)
    graph = dash_duo.find_element(f"#{ids.LATENCY_GRAPH}")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", graph)
    ActionChains(dash_duo.driver).move_to_element(graph).perform()  # the pointer over it, as a tap leaves it
    bars = dash_duo.find_elements(f"#{ids.LATENCY_GRAPH} .modebar-container")
    shown = [b for b in bars if b.is_displayed()]
    if shown:  # if a mode bar shows, it must keep off the legend
        a, b = rect(dash_duo, shown[0]), rect(dash_duo, legend)
        assert a["right"] <= b["left"] or b["right"] <= a["left"] or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
    assert not shown  # and on a phone none shows at all
