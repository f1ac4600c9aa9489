"""The series graphs' Network / SIP / Both choice (issue 14): SIP response, request loss and share of up checks
in the SIP view, SIP response dotted over the network latency in Both, and a message where nothing has SIP."""
from __future__ import annotations

import pytest
from dash import no_update

import callbacks.export as export_cb
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


def test_the_export_writes_the_sip_checks_while_the_graphs_show_sip(sip_seeded, ctx, config):
    assert graphs_cb.remember_probe("sip") == "sip" and graphs_cb.remember_probe("bogus") == "network"
    data, alert, _, color = export_cb.export_csv(1, "?country=Kenya&range=24h", "/", None, "sip")
    lines = data["content"].splitlines()
    assert data["filename"].startswith("sip-latency-") and color == "success"
    assert lines[0].split(",")[:5] == ["timestamp", "server_id", "server_ip", "country", "partner"]
    assert "status" in lines[0].split(",") and len(lines) - 1 == 2 * 96  # Kenya's two servers, 96 rounds each
    assert {line.split(",")[3] for line in lines[1:]} == {"Kenya"}
    network, *_ = export_cb.export_csv(1, "?country=Kenya&range=24h", "/", None, "both")
    assert not network["filename"].startswith("sip-") and "packets_lost" in network["content"].splitlines()[0]


def test_a_too_large_sip_export_links_to_the_sip_stream(sip_seeded, ctx, monkeypatch):
    monkeypatch.setattr(export_cb, "MAX_EXPORT_ROWS", 10)
    _, alert, _, color = export_cb.export_csv(1, "?range=24h", "/", None, "sip")
    link = next(part for part in alert if hasattr(part, "href"))
    assert color == "danger" and link.href == "/api/export-data?range=24h&probe=sip"
