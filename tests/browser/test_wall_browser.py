"""The wall view (issue 16 "On the wall") in Chromium at 1920 x 1080 and 3840 x 2160: no chrome, type and Plotly
text scaled to the screen, every tile on the screen without scrolling (200 servers too), alerts in a side
column, a full-width banner while a server is down, the Wall button and Esc, cycling between countries, and
the page's own "data is N s old" warning when it stops updating (requests failing, browser offline)."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from common.timeutil import utcnow
from collector.probes.base import ProbeResult
from layouts import ids
from settings import validate_config
from storage import open_writer
from tests.browser.demo_data import DOWN_SERVER
from tests.helpers.waiting import wait_for
from tests.seeding import seed_history

pytest.importorskip("selenium")
SCREENS = {"1080p": (1920, 1080), "4k": (3840, 2160)}
COUNTRIES = ["Kenya", "Nigeria", "Egypt", "South Africa", "Ghana", "Morocco", "Tanzania", "Uganda", "Ethiopia",
             "Senegal", "India", "Philippines", "Brazil", "Mexico", "United States", "Germany", "Poland", "Turkey",
             "United Arab Emirates", "Indonesia"]
PARTNERS = ["Link", "Voice", "Carrier", "Telecom", "Connect", "Networks"]
# Where every tile is, whether the page scrolls, and what the wall hides.
LAYOUT = """
if (!document.getElementById('lm-warnings') || !document.getElementById('lm-cards')) { return null; }
var tiles = Array.from(document.querySelectorAll('#lm-cards a.lm-server-card')).map(a => a.getBoundingClientRect());
var doc = document.scrollingElement;
function shown(sel) { var e = document.querySelector(sel); return !!(e && e.getClientRects().length); }
return {tiles: tiles.length, right: Math.max(...tiles.map(r => r.right)), bottom: Math.max(...tiles.map(r => r.bottom)),
        left: Math.min(...tiles.map(r => r.left)), width: innerWidth, height: innerHeight,
        scroll_w: doc.scrollWidth, scroll_h: doc.scrollHeight, kiosk: document.documentElement.classList.contains('lm-kiosk'),
        navbar: shown('.lm-navbar'), filters: shown('.lm-filters'), root_px: parseFloat(getComputedStyle(document.documentElement).fontSize),
        alerts_left: document.getElementById('lm-warnings').getBoundingClientRect().left,
        density: (document.querySelector('#lm-cards .lm-tiles') || {}).dataset.density,
        fitted: document.getElementById('lm-cards').getAttribute('data-fitted')};
"""
TICK_FONT = ("var t = document.querySelector('#lm-latency-graph .xtick text');"
             "return t ? parseFloat(t.style.fontSize || getComputedStyle(t).fontSize) : null;")


def screen(dash_duo, name: str) -> tuple[int, int]:
    """Make the page's viewport exactly one of SCREENS (the window's own size includes no chrome in headless)."""
    width, height = SCREENS[name]
    dash_duo.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                    {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return width, height


def layout(dash_duo) -> dict:
    """LAYOUT's reading ({} before the overview is on the page)."""
    return dash_duo.driver.execute_script(LAYOUT) or {}


def fitted(dash_duo, count: int) -> dict:
    """The wall's layout once every tile is drawn and the fit has settled (two equal readings)."""
    last = {}

    def settled():
        nonlocal last
        now = layout(dash_duo)
        ok = bool(now) and now["tiles"] == count and now["fitted"] and now == last
        last = now
        return now if ok else None
    return wait_for(settled, timeout=40, what=f"{count} tiles fitted to the wall")


def assert_fits_the_screen(view: dict, width: int, height: int) -> None:
    """Every tile inside the viewport, nothing scrolls, no chrome, the alerts to the right of the tiles."""
    assert view["kiosk"] and not view["navbar"] and not view["filters"]
    assert view["right"] <= width and view["bottom"] <= height, view
    assert view["scroll_w"] <= width and view["scroll_h"] <= height, view
    assert view["alerts_left"] >= view["right"] - 1, view


def query_of(dash_duo) -> dict:
    return parse_qs(urlparse(dash_duo.driver.current_url).query)


@pytest.mark.parametrize("name", ["1080p", "4k"])
def test_the_wall_fits_the_screen_with_large_type_and_a_down_banner(dash_duo, demo_app, name):
    width, height = screen(dash_duo, name)
    dash_duo.start_server(demo_app)
    dash_duo.driver.get(dash_duo.server_url + "/?kiosk=1")
    view = fitted(dash_duo, 9)
    assert_fits_the_screen(view, width, height)
    assert view["root_px"] == pytest.approx(16 * width / 1920, abs=0.6)  # 16 px at 1080p, 32 px at 4K
    assert view["density"] == "full"  # nine servers: full cards, scaled up to fill the wall
    banner = dash_duo.wait_for_element(".lm-down-banner", timeout=20)
    assert "1 SERVER DOWN" in banner.text and "Lagos Link (Nigeria)" in banner.text
    assert banner.size["width"] >= 0.95 * width
    side = dash_duo.find_element(f"#{ids.WARNINGS}")
    assert f"Down on Lagos Link Nigeria ({DOWN_SERVER})" in side.text
    # Plotly's text follows the page's type: 12 px at 16 px type, twice that on the 4K wall.
    font = wait_for(lambda: dash_duo.driver.execute_script(TICK_FONT), what="latency axis labels")
    assert font == pytest.approx(12 * view["root_px"] / 16, abs=0.6)
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_plotly_text_scales_at_4k_without_the_wall_view_too(dash_duo, demo_app):
    screen(dash_duo, "4k")
    dash_duo.start_server(demo_app)
    font = wait_for(lambda: dash_duo.driver.execute_script(TICK_FONT), what="latency axis labels")
    root = dash_duo.driver.execute_script("return parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert root > 16 and font == pytest.approx(12 * root / 16, abs=0.6) and font >= 16


@pytest.fixture
def many(tmp_path):
    """200 servers in 20 countries with 30 rounds each: a few down, some slow, the rest fine."""
    servers = [{"partner": f"{COUNTRIES[i % 20].split()[0]} {PARTNERS[i // 20 % 6]}", "country": COUNTRIES[i % 20],
                "ip": f"10.{i // 250}.{i % 250}.{i % 7 + 1}", "dn_ext": f"sip{i}.example"} for i in range(200)]
    config = validate_config({"database_path": str(tmp_path / "many.db"), "servers": servers, "ping_count": 4,
                              "ping_timeout": 1, "interval_seconds": 60, "stale_after_seconds": 600,
                              "log_file": None, "latency_thresholds": {"excellent": 50, "good": 100, "fair": 150,
                                                                       "poor": 300, "critical": 500}},
                             source=str(tmp_path / "config.json"))

    def profile(k: int, _round: int) -> ProbeResult:
        if k in (17, 93, 151):
            return ProbeResult(transmitted=4, received=0, samples_ms=[None] * 4)
        return ProbeResult(transmitted=4, received=4, samples_ms=[20.0 + (k * 7) % 260] * 4)
    writer = open_writer(config.database_target())
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=30, interval_seconds=60, profile=profile)
    from app import create_app
    app = create_app(config, start_collector=False)
    yield app
    app.close()
    writer.engine.dispose()


@pytest.mark.parametrize("name", ["1080p", "4k"])
def test_two_hundred_servers_fit_the_wall_as_compact_tiles(dash_duo, many, name):
    width, height = screen(dash_duo, name)
    dash_duo.start_server(many)
    dash_duo.driver.get(dash_duo.server_url + "/?kiosk=1")
    view = fitted(dash_duo, 200)
    assert_fits_the_screen(view, width, height)
    assert view["density"] == "compact"
    first = dash_duo.driver.execute_script("return document.querySelector('#lm-cards [data-server]').dataset.state")
    assert first == "down"  # worst first on the wall too
    tile_px = dash_duo.driver.execute_script(
        "return parseFloat(getComputedStyle(document.querySelector('#lm-cards .lm-tile-value')).fontSize)")
    assert tile_px >= 8 * width / 1920  # still readable: the fit uses the space the screen has
    assert "3 SERVERS DOWN" in dash_duo.find_element(".lm-down-banner").text
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_the_wall_button_esc_and_cycling_between_countries(dash_duo, demo_app):
    screen(dash_duo, "1080p")
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(f"#{ids.CARDS} a.{ids.CARD_CLASS}", timeout=30)
    dash_duo.find_element(f"#{ids.KIOSK_BUTTON}").click()
    wait_for(lambda: layout(dash_duo)["kiosk"], what="the wall view")
    assert query_of(dash_duo)["kiosk"] == ["1"] and not layout(dash_duo)["navbar"]
    dash_duo.driver.find_element("tag name", "body").send_keys("\ue00c")  # Escape
    wait_for(lambda: not layout(dash_duo)["kiosk"], what="back to the desk view")
    assert "kiosk" not in query_of(dash_duo) and layout(dash_duo)["navbar"]

    dash_duo.driver.get(dash_duo.server_url + "/?kiosk=1&cycle=5")
    fitted(dash_duo, 9)
    # Worst first: Nigeria (a server down) is the cycle's first country after "all of them".
    wait_for(lambda: query_of(dash_duo).get("country") == ["Nigeria"], timeout=15,
             what="the cycle's first country")
    wait_for(lambda: layout(dash_duo)["tiles"] == 2, what="Nigeria's two servers")
    label = dash_duo.find_element("#lm-cycle-label").text
    assert label.startswith("Nigeria · next in")
    assert query_of(dash_duo)["kiosk"] == ["1"] and query_of(dash_duo)["cycle"] == ["5"]
    assert "1 SERVER DOWN" in dash_duo.find_element(".lm-down-banner").text
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_the_page_says_how_old_its_data_is_when_it_stops_updating(dash_duo, demo_app):
    screen(dash_duo, "1080p")
    dash_duo.start_server(demo_app)
    dash_duo.driver.get(dash_duo.server_url + "/?kiosk=1")
    fitted(dash_duo, 9)
    warning = "return (e => e && !e.hidden ? e.textContent : null)(document.getElementById('lm-age-warning'))"
    assert dash_duo.driver.execute_script(warning) is None  # updating: no warning
    driver = dash_duo.driver
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*_dash-update-component*"]})  # the app is gone
    # Two minutes pass for the page's clock (the last good update stays where it was).
    driver.execute_script("window.latencyWall.state.skewMs = 120000")
    text = wait_for(lambda: driver.execute_script(warning), what="the age warning")
    assert text.startswith("Data is 12") and "s old" in text and "not answering" in text
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                "downloadThroughput": -1, "uploadThroughput": -1})
    wait_for(lambda: "browser is offline" in (driver.execute_script(warning) or ""), what="offline")
    # Back online: the next successful refresh clears it.
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                                "downloadThroughput": -1, "uploadThroughput": -1})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    driver.execute_script("history.pushState({}, '', '/?kiosk=1&range=24h');"
                          "window.dispatchEvent(new CustomEvent('_dashprivate_pushstate'))")
    wait_for(lambda: driver.execute_script(warning) is None, timeout=30, what="the warning gone")
