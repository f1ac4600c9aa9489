"""The Network / SIP / Both toggle of the series graphs (issue 14) in Chromium: SIP draws the SIP response time
per country with its own axis, Both draws it dotted beside the network latency, Network goes back."""
from __future__ import annotations

import pytest

from common.timeutil import utcnow
from layouts import ids
from tests.helpers.browser import trace_names
from tests.helpers.waiting import wait_for
from tests.seeding import seed_sip

pytest.importorskip("selenium")
COUNTRIES = ["Egypt", "Kenya", "Nigeria"]
Y_TITLE = ("var g = document.querySelector(arguments[0] + ' .js-plotly-plot');"
           "return g && g._fullLayout ? g._fullLayout.yaxis.title.text : null;")


def choose(dash_duo, label: str) -> None:
    """Click the probe toggle's button with this label."""
    [b for b in dash_duo.find_elements(f"#{ids.PROBE_TOGGLE} label") if b.text == label][0].click()


@pytest.fixture
def sip_app(config, writer):
    """The dashboard on 8 h of rounds with SIP checks, without the collector."""
    from app import create_app
    seed_sip(writer, config, utcnow().replace(microsecond=0))
    dash_app = create_app(config, start_collector=False, writer=writer)
    yield dash_app
    dash_app.close()


@pytest.mark.sqlite_only(reason="the dashboard's drawing is the same on both backends")
def test_the_toggle_switches_the_series_graphs_between_network_sip_and_both(dash_duo, sip_app):
    dash_duo.start_server(sip_app)
    wait_for(lambda: trace_names(dash_duo, ids.LATENCY_GRAPH) == COUNTRIES, what="network latency lines", timeout=30)
    assert dash_duo.driver.execute_script(Y_TITLE, f"#{ids.LATENCY_GRAPH}") == "latency (ms)"
    choose(dash_duo, "SIP")
    wait_for(lambda: dash_duo.driver.execute_script(Y_TITLE, f"#{ids.LATENCY_GRAPH}") == "SIP response (ms)",
             what="the SIP response axis")
    assert trace_names(dash_duo, ids.LATENCY_GRAPH) == COUNTRIES
    wait_for(lambda: dash_duo.driver.execute_script(Y_TITLE, f"#{ids.JITTER_GRAPH}") == "SIP checks up (%)",
             what="the share of up checks")
    choose(dash_duo, "Both")
    wait_for(lambda: trace_names(dash_duo, ids.LATENCY_GRAPH) == COUNTRIES + [f"SIP · {c}" for c in COUNTRIES],
             what="SIP lines beside the network ones")
    choose(dash_duo, "Network")
    wait_for(lambda: trace_names(dash_duo, ids.LATENCY_GRAPH) == COUNTRIES, what="network lines only")
