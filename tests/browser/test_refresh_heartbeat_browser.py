"""An auto-refresh's heartbeat in Chromium (callbacks/stamps.py): it moves the "updated" clock, the open alerts'
ages and the age warning's last good refresh in the browser, without asking the server for the status side."""
from __future__ import annotations

import pytest

from layouts import ids
from tests.helpers.waiting import wait_for

pytest.importorskip("selenium")
AGES = f"return Array.from(document.querySelectorAll('#{ids.ALERT_FEED} .lm-warn-age')).map(e => e.textContent);"
# Record every callback request the page sends from now on (what each asks for).
RECORD = """
window.__asked = [];
var real = window.fetch;
window.fetch = function (url, init) {
    if (String(url).indexOf('_dash-update-component') >= 0 && init && init.body) {
        window.__asked.push(JSON.parse(init.body).output);
    }
    return real.apply(this, arguments);
};
"""


def beat(driver, at: float, text: str) -> None:
    """Set the heartbeat store as refresh_stamps' answer would (dash_clientside.set_props runs its listeners)."""
    driver.execute_script("window.dash_clientside.set_props(arguments[0], {data: arguments[1]});", ids.HEARTBEAT,
                          {"at": at, "interval_ms": 30000, "text": text})


def test_a_heartbeat_moves_the_clock_and_the_alert_ages_without_a_request(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    driver = dash_duo.driver
    ages = wait_for(lambda: [a for a in driver.execute_script(AGES) if a.startswith("open")], what="open alerts")
    now = driver.execute_script(f"return document.getElementById('{ids.ALERT_FEED}') && "
                                f"window.latencyWall.state.lastOk") / 1000
    dash_duo.find_element(f"#{ids.PAUSE_SWITCH}").click()  # no real tick in between: the beats are the test's
    wait_for(lambda: driver.execute_script("return !!document.getElementById(arguments[0]).checked",
                                           ids.PAUSE_SWITCH), what="paused")
    driver.execute_script(RECORD)
    beat(driver, now + 3 * 86400, "updated 23:59:59 UTC")  # three days later by the server's clock
    wait_for(lambda: dash_duo.find_element(f"#{ids.UPDATED_AT}").text == "updated 23:59:59 UTC", what="the clock")
    later = wait_for(lambda: [a for a in driver.execute_script(AGES) if a.startswith("open")] != ages and
                     [a for a in driver.execute_script(AGES) if a.startswith("open")], what="the ages moved")
    assert all(a.endswith(" d") for a in later), later  # every open alert is now days old
    stamp = driver.execute_script("return window.latencyWall.state.lastOk")
    assert stamp >= now * 1000  # the heartbeat counts as a refresh that answered
    # All of it in the browser: nothing asked for the clock, the ages or the status side (the page's own late
    # loads, the RTT spread drawn after the latency graph, may still be under way).
    asked = " ".join(driver.execute_script("return window.__asked"))
    for part in (ids.UPDATED_AT, ids.ALERT_FEED, ids.TILES, ids.OVERVIEW_STAMP, ids.STAMP_SERIES):
        assert part not in asked, asked
    assert dash_duo.get_logs() == [], dash_duo.get_logs()
