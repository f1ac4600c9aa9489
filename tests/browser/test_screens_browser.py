"""Issue 16's "Done when" at every screen it names (390 x 844, 1600 x 1200, 1920 x 1080, 3840 x 2160): neither
the overview (with its log) nor a server's page scrolls sideways, and the worst server is the first tile, on the
first screen. (The wall at 1920 x 1080 and 3840 x 2160 with 200 servers: test_wall_browser.py.)"""
from __future__ import annotations

import pytest

from layouts import ids
from tests.browser.demo_data import DOWN_SERVER
from tests.helpers.waiting import wait_for

pytest.importorskip("selenium")
SCREENS = {"phone": (390, 844, True), "laptop": (1600, 1200, False), "1080p": (1920, 1080, False),
           "4k": (3840, 2160, False)}
WIDTHS = ("return {inner: window.innerWidth, scroll: document.documentElement.scrollWidth,"
          " body: document.body.scrollWidth};")
FIRST_TILE = ("var t = document.querySelector('#lm-cards [data-server]'); if (!t) return null;"
              "var r = t.getBoundingClientRect(); return {id: t.dataset.server, top: r.top, left: r.left,"
              " right: r.right, bottom: r.bottom};")


def use_screen(dash_duo, name: str) -> tuple[int, int]:
    """Make the viewport one of SCREENS (device metrics: the headless window has no chrome to subtract)."""
    width, height, mobile = SCREENS[name]
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    return width, height


def assert_no_sideways_scroll(dash_duo, width: int, where: str) -> None:
    """The page is no wider than the viewport."""
    seen = dash_duo.driver.execute_script(WIDTHS)
    assert seen["inner"] == width and seen["scroll"] <= width and seen["body"] <= width, (where, seen)


@pytest.mark.parametrize("name", list(SCREENS))
def test_nothing_scrolls_sideways_and_the_worst_server_is_first_on_screen(dash_duo, demo_app, name):
    width, height = use_screen(dash_duo, name)
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(f"#{ids.LOG_TABLE} .lm-log-entry", timeout=30)  # the log drawn too
    first = wait_for(lambda: dash_duo.driver.execute_script(FIRST_TILE), what="the first tile")
    assert first["id"] == DOWN_SERVER, first
    assert 0 <= first["top"] and first["right"] <= width, first
    # Whole on the first screen, the phone's too (its counts share one row, its filters two per line).
    assert first["bottom"] <= height, first
    wait_for(lambda: dash_duo.find_elements(f"#{ids.LATENCY_GRAPH} .main-svg"), what="the graphs")
    assert_no_sideways_scroll(dash_duo, width, "overview")
    dash_duo.driver.get(f"{dash_duo.server_url}/server/{DOWN_SERVER}?range=24h")
    dash_duo.wait_for_element(f"#{ids.SERVER_ROUNDS} table", timeout=20)
    wait_for(lambda: dash_duo.find_elements(f"#{ids.SERVER_HISTORY} .main-svg"), what="the server's history")
    assert_no_sideways_scroll(dash_duo, width, "server page")
    assert dash_duo.get_logs() == [], dash_duo.get_logs()
    dash_duo.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
