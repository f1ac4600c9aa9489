"""The series graphs' Network / SIP / Both choice (issue 14): SIP response, request loss and share of up checks
in the SIP view, SIP response dotted over the network latency in Both, and a message where nothing has SIP."""
from __future__ import annotations

import pytest
from dash import no_update

import callbacks.graphs as graphs_cb
from common.timeutil import utcnow
from layouts import ids
from layouts.overview import overview_layout
from tests.helpers.dash_tree import walk
from tests.seeding import seed_history, seed_sip


@pytest.fixture
def sip_seeded(config, writer):
    """8 h of rounds of every server with SIP checks (every 7th round 503, every 11th unanswered)."""
    end = utcnow().replace(microsecond=0)
    seed_sip(writer, config, end)
    return end


def series(probe, search="?range=24h", group="country", previous=None):
    """refresh_series as Dash calls it, with the probe toggle's value."""
    return graphs_cb.refresh_series(search, 0, group, False, previous, None, None, probe)


def test_the_overview_offers_network_sip_and_both_network_first():
    toggle = next(c for c in walk(overview_layout()) if getattr(c, "id", None) == ids.PROBE_TOGGLE)
    assert [o["value"] for o in toggle.options] == ["network", "sip", "both"] and toggle.value == "network"


def test_the_sip_view_draws_response_loss_and_up_share_per_key(sip_seeded, ctx):
    response, loss, up, _ = series("sip")
    assert [t.name for t in response.data] == ["Egypt", "Kenya", "Nigeria"]
    assert response.layout.yaxis.title.text == "SIP response (ms)"
    # Egypt's one server answers in 13 + (round % 3) ms when up, the 503 rounds in 2 ms (5-minute buckets: one
    # round each); unanswered rounds leave no time.
    egypt = {round(y, 3) for y in response.data[0].y if y == y}
    assert egypt == {2.0, 13.0, 14.0, 15.0}
    assert loss.data[0].type == "heatmap" and max(v for row in loss.data[0].z for v in row if v == v) == 100
    assert up.layout.yaxis.title.text == "SIP checks up (%)" and min(min(t.y) for t in up.data) < 100


def test_both_draws_sip_dotted_beside_the_network_lines(sip_seeded, ctx):
    latency, loss, jitter, _ = series("both", group="server", search="?range=24h&country=Egypt")
    names = [t.name for t in latency.data if t.type == "scatter" and t.name]
    assert "Nile Telecom · 127.0.0.4" in names and "SIP · Nile Telecom · 127.0.0.4" in names
    sip_line = next(t for t in latency.data if t.name == "SIP · Nile Telecom · 127.0.0.4")
    assert sip_line.line.dash == "dot"
    network, _, _, _ = series("network", group="server", search="?range=24h&country=Egypt")
    assert not any(str(t.name).startswith("SIP") for t in network.data)


def test_switching_the_view_redraws_and_an_unchanged_one_sends_nothing(sip_seeded, ctx):
    *_, sig = series("sip")
    assert series("sip", previous=sig) == (no_update,) * 4
    assert series("network", previous=sig)[3] != sig


def test_the_sip_view_says_how_to_add_a_check_when_no_server_has_one(seeded, ctx):
    response, *_ = series("sip")
    assert 'add "sip": true' in response.layout.annotations[0].text
