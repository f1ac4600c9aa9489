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


def tick(driver, mark: str) -> None:
    """One auto-refresh after the page's series stamps were changed to `mark` (so the tick finds them moved
    with the data unchanged); the status stamp is left, so the status side is not asked."""
    driver.execute_script("for (const id of arguments[0]) {"
                          "  window.dash_clientside.set_props(id, {data: ['test', arguments[1]]}); }"
                          "window.dash_clientside.set_props(arguments[2], {n_intervals: Date.now() % 1e6});",
                          [ids.STAMP_SERIES, ids.STAMP_SPREAD], mark, ids.REFRESH)


def test_a_tick_wakes_the_graphs_in_its_own_answer_and_only_when_their_drawing_changed(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    driver = dash_duo.driver
    wait_for(lambda: driver.execute_script(
        "var g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "return g && g.data && g.data.length > 0;", ids.SMOKE_GRAPH), what="the RTT spread drawn")
    dash_duo.find_element(f"#{ids.PAUSE_SWITCH}").click()  # only the test's ticks from here
    wait_for(lambda: driver.execute_script("return !!document.getElementById(arguments[0]).checked",
                                           ids.PAUSE_SWITCH), what="paused")
    asked = lambda: driver.execute_script("return window.__asked")  # noqa: E731
    driver.execute_script(RECORD)
    tick(driver, "first")  # the page has seen no wake-up yet: the graphs are asked once
    wait_for(lambda: all(any(g in r for r in asked()) for g in (ids.LATENCY_GRAPH, ids.LOSS_GRAPH,
                                                                 ids.JITTER_GRAPH, ids.SMOKE_GRAPH)),
             what="the graphs woken")
    first = asked()
    assert ids.SERIES_WAKE in first[0] and ids.STAMP_SERIES in first[0], first  # woken by the tick's own answer
    assert not any(f"{ids.TILES}.tiles" in r for r in first), first  # the status stamp did not move
    driver.execute_script(RECORD)
    tick(driver, "second")  # the series stamps moved again, the data did not: nothing but the tick is asked
    wait_for(lambda: len(asked()) >= 1, what="the tick asked")
    driver.execute_script("return new Promise(r => setTimeout(r, 1500))")
    assert all(ids.STAMP_SERIES in r for r in asked()), asked()  # only ticks: no graph, tiles or dropdowns
    assert dash_duo.get_logs() == [], dash_duo.get_logs()
