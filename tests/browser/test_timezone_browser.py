"""The display time zone in a real browser (1600 px): a link's tz= is shown on every axis and the clock; "Local"
follows the browser's own zone (emulated as America/New_York), goes into the URL and is remembered in local
storage for the next page without tz=; tables and the export's file name follow; times are 24-hour and the
date picker opens on the current month."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from common.timeutil import utcnow
from layouts import ids
from tests.browser.demo_data import DOWN_SERVER
from tests.helpers.browser import CARD, query_of, range_button, x_range
from tests.helpers.waiting import wait_for

Select = pytest.importorskip("selenium.webdriver.support.ui").Select
GRAPH = "document.querySelector(arguments[0] + ' .js-plotly-plot')"
BROWSER_ZONE = "America/New_York"


def axis_note(dash_duo, graph_id: str) -> str:
    """The note under a graph's time axis."""
    return dash_duo.driver.execute_script(
        f"var g = {GRAPH}; return g && g.layout && g.layout.xaxis && g.layout.xaxis.title ? "
        "g.layout.xaxis.title.text : '';", f"#{graph_id}") or ""


def smoke_notes(dash_duo) -> str:
    """The notes under the smoke view's time axes (it may have one per server)."""
    return axis_note(dash_duo, ids.SMOKE_GRAPH) or dash_duo.driver.execute_script(
        f"var g = {GRAPH}; var a = g && g._fullLayout; if (!a) return '';"
        "var k = Object.keys(a).filter(k => k.startsWith('xaxis'));"
        "return k.map(n => (a[n].title || {}).text || '').join(' ');", f"#{ids.SMOKE_GRAPH}") or ""


def axis_end(dash_duo, graph_id: str) -> datetime:
    """Where a graph's time axis ends, as drawn (wall-clock time of the display zone)."""
    return datetime.fromisoformat(x_range(dash_duo, graph_id)[1][:19].replace(" ", "T"))


def wall_clock(zone: str) -> datetime:
    """Now as a naive wall-clock time of the zone."""
    return datetime.now(ZoneInfo(zone)).replace(tzinfo=None)


@pytest.fixture
def in_new_york(dash_duo):
    """The browser's own zone is America/New_York (Chromium's time zone emulation)."""
    dash_duo.driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": BROWSER_ZONE})
    yield
    dash_duo.driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})


def test_a_link_with_tz_shows_that_zone_on_every_axis_and_the_clock(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    dash_duo.driver.get(dash_duo.server_url + "/?range=24h&tz=Asia/Kolkata")
    for graph in (ids.LATENCY_GRAPH, ids.LOSS_GRAPH, ids.JITTER_GRAPH):
        wait_for(lambda: "UTC+05:30" in axis_note(dash_duo, graph), what=f"{graph} in +05:30")
    # Waited for until it names the zone, not read once: the RTT spread is asked for after the latency graph,
    # so it may still be Plotly's empty plot (whose axis title is the "Click to enter X axis title" placeholder).
    wait_for(lambda: "UTC+05:30" in smoke_notes(dash_duo), what="the smoke view's note in +05:30")
    assert abs((axis_end(dash_duo, ids.LATENCY_GRAPH) - wall_clock("Asia/Kolkata")).total_seconds()) < 600
    assert dash_duo.find_element(f"#{ids.UPDATED_AT}").text.endswith("UTC+05:30")
    assert Select(dash_duo.find_element(f"#{ids.TZ_SELECT}")).first_selected_option.text == "Asia/Kolkata"
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_local_follows_the_browser_goes_into_the_url_and_is_remembered(dash_duo, demo_app, in_new_york, demo):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    wait_for(lambda: "times UTC" in axis_note(dash_duo, ids.LATENCY_GRAPH), what="UTC by default")
    select = Select(dash_duo.find_element(f"#{ids.TZ_SELECT}"))
    assert wait_for(lambda: [o.text for o in select.options if BROWSER_ZONE in o.text],
                    what="the browser's zone named") == [f"Local ({BROWSER_ZONE})"]
    select.select_by_value("local")
    wait_for(lambda: query_of(dash_duo).get("tz") == ["local"], what="tz=local in the URL")
    offset = "UTC-05:00" if datetime.now(ZoneInfo(BROWSER_ZONE)).utcoffset() == timedelta(hours=-5) else "UTC-04:00"
    wait_for(lambda: offset in axis_note(dash_duo, ids.LATENCY_GRAPH), what="the axis in New York")
    assert abs((axis_end(dash_duo, ids.LATENCY_GRAPH) - wall_clock(BROWSER_ZONE)).total_seconds()) < 600
    # A page opened without tz= takes the remembered choice, and says so in its URL.
    dash_duo.driver.get(dash_duo.server_url + f"/server/{DOWN_SERVER}?range=24h")
    wait_for(lambda: query_of(dash_duo).get("tz") == ["local"], what="the saved choice")
    header = dash_duo.wait_for_element(f"#{ids.SERVER_ROUNDS} th", timeout=20)
    assert header.text == f"Time ({offset})"
    first = dash_duo.find_element(f"#{ids.SERVER_ROUNDS} tbody td").text
    newest = datetime.fromisoformat(first)
    assert abs((newest - wall_clock(BROWSER_ZONE)).total_seconds()) < 3600  # the newest round, in New York
    # The export's file is named in that zone too.
    dash_duo.find_element(f"#{ids.EXPORT_BUTTON}").click()
    files = wait_for(lambda: list(Path(dash_duo.download_path).glob("*.csv")), what="the CSV")
    assert files[0].name.endswith(f"{offset[3:].replace(':', '')}.csv"), files[0].name
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_times_are_24_hour_and_the_calendar_opens_on_this_month(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    range_button(dash_duo, "Custom").click()
    wait_for(lambda: query_of(dash_duo).get("range") == ["custom"], what="a custom range")
    end_time = dash_duo.find_element(f"#{ids.END_TIME}")
    assert end_time.get_attribute("type") == "text"  # type=time shows the locale's 12-hour clock
    expected = (utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)).strftime("%H:%M")
    assert end_time.get_attribute("value") == expected  # 24-hour HH:MM, in UTC
    assert dash_duo.find_element(f"#{ids.CUSTOM_ZONE}").text == "UTC"
    end_time.clear()
    end_time.send_keys("23:45\n")
    wait_for(lambda: (query_of(dash_duo).get("end") or [""])[0].endswith("T23:45:00Z"), what="23:45")
    dash_duo.find_element(".dash-datepicker-start-date").click()
    calendar = dash_duo.wait_for_element(".dash-datepicker-content", timeout=10)
    this_month = utcnow().strftime("%B %Y")
    first_month = dash_duo.find_element(".dash-datepicker-content [class*=month-header]").text.split("\n")[0]
    assert first_month == this_month, calendar.text[:80]
    # A window starting in an earlier month (as the last 24 h does on the 1st) still opens on this month.
    now = utcnow().replace(microsecond=0)
    start = (now.replace(day=1) - timedelta(days=3)).replace(hour=12, minute=0, second=0)
    dash_duo.driver.get(dash_duo.server_url + f"/?range=custom&start={start:%Y-%m-%dT%H:%M:%SZ}"
                        f"&end={now:%Y-%m-%dT%H:%M:%SZ}")
    dash_duo.wait_for_element(CARD, timeout=20)
    wait_for(lambda: dash_duo.find_element(".dash-datepicker-start-date").get_attribute("value"),
             what="the custom dates")
    dash_duo.find_element(".dash-datepicker-start-date").click()
    dash_duo.wait_for_element(".dash-datepicker-content", timeout=10)
    first_month = dash_duo.find_element(".dash-datepicker-content [class*=month-header]").text.split("\n")[0]
    assert first_month == this_month != start.strftime("%B %Y")


def test_a_zoom_drawn_in_the_zone_redraws_exactly_that_stretch(dash_duo, demo_app):
    from tests.browser.test_zoom_browser import assert_zoomed, relayout
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    dash_duo.driver.get(dash_duo.server_url + "/?range=7d&tz=Asia/Kolkata")
    wait_for(lambda: "UTC+05:30" in axis_note(dash_duo, ids.LATENCY_GRAPH), what="the week in +05:30")
    # Two hours a day ago, as the axis shows them (Kolkata wall clock); the app must query them in UTC.
    end = (wall_clock("Asia/Kolkata") - timedelta(days=1)).replace(microsecond=0)
    start = end - timedelta(hours=2)
    relayout(dash_duo, ids.LATENCY_GRAPH, {"xaxis.range": [str(start), str(end)]})
    for graph in (ids.LATENCY_GRAPH, ids.LOSS_GRAPH, ids.JITTER_GRAPH):
        wait_for(lambda: axis_note(dash_duo, graph).startswith("5-min"), what=f"{graph} refined")
        assert_zoomed(dash_duo, graph, start, end)  # the points drawn lie inside the stretch zoomed to
