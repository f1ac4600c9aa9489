"""Worst first (issue 16): the overview's order of servers and countries, the A-Z alternative, the wall's banner,
and the view choices a filter change keeps in the URL (no browser; tests/browser/ has the page itself)."""
from __future__ import annotations

from datetime import datetime

import pandas as pd

from callbacks.overview import more_note, view_order
from callbacks.shell import sync_from_controls
from callbacks.urlstate import with_view_params
from layouts.status import (FULL_CARDS_MAX, down_banner, ordered_countries, server_tiles, tile_density,
                            trouble_key)
from tests.helpers.dash_tree import status_row, text_of

NOW = datetime(2026, 11, 1, 12, 0, 0)


def row(sid: str, country: str, status: str = "up", latency_class: str = "good", **extra) -> dict:
    return status_row(server_id=sid, ip=sid, country=country, status=status, latency_class=latency_class, **extra)


def ids_in_order(rows: list[dict], order: str = "trouble") -> list[str]:
    tiles, _ = server_tiles(pd.DataFrame(rows), {}, order)
    return [t["id"] for t in tiles]


def test_within_a_country_the_worst_server_comes_first():
    rows = [row("ok", "Kenya", latency_class="excellent"), row("slow", "Kenya", latency_class="poor"),
            row("stale", "Kenya", status="stale"), row("down", "Kenya", status="down", success=False),
            row("lossy", "Kenya", status="degraded", loss_percentage=20.0), row("new", "Kenya", status="unknown",
                                                                                latency_class=None),
            row("fair", "Kenya", latency_class="fair")]
    assert ids_in_order(rows) == ["down", "lossy", "stale", "slow", "fair", "ok", "new"]


def test_ties_go_to_critical_alerts_then_more_alerts_then_loss_then_latency():
    critical = [{"kind": "down", "severity": "critical"}]
    two = [{"kind": "jitter", "severity": "warning"}, {"kind": "packet_loss", "severity": "warning"}]
    rows = [row("a", "Kenya", status="degraded", open_alerts=two),
            row("b", "Kenya", status="degraded", open_alerts=critical),
            row("c", "Kenya", status="degraded", loss_percentage=5.0),
            row("d", "Kenya", status="degraded", loss_percentage=5.0, avg_time=300.0)]
    assert ids_in_order(rows) == ["b", "a", "d", "c"]
    assert trouble_key(rows[0]) < trouble_key(row("e", "Kenya", latency_class="critical"))  # degraded first


def test_countries_with_trouble_come_first_then_by_how_much():
    rows = [row("k1", "Kenya"), row("e1", "Egypt", status="degraded"), row("n1", "Nigeria", status="down"),
            row("g1", "Ghana", status="degraded"), row("g2", "Ghana", status="degraded"), row("m1", "Morocco",
                                                                                          status="stale")]
    assert [c for c, _ in ordered_countries(rows)] == ["Nigeria", "Ghana", "Egypt", "Morocco", "Kenya"]
    assert [c for c, _ in ordered_countries(rows, "name")] == ["Egypt", "Ghana", "Kenya", "Morocco", "Nigeria"]


def test_alphabetical_order_sorts_by_partner_within_each_country():
    rows = [row("1", "Kenya", partner="safari Voice", status="down"), row("2", "Kenya", partner="Airtel"),
            row("3", "Egypt", partner="Nile")]
    assert ids_in_order(rows, "name") == ["3", "2", "1"]
    assert ids_in_order(rows) == ["1", "2", "3"]  # worst first: Kenya (down) leads


def test_the_order_comes_from_the_url_and_defaults_to_worst_first():
    assert view_order("?order=name&range=24h") == "name"
    assert view_order("?order=bogus") == view_order("") == view_order(None) == "trouble"


def test_full_cards_for_a_few_dozen_compact_tiles_beyond():
    assert tile_density(9) == tile_density(FULL_CARDS_MAX) == "full"
    assert tile_density(FULL_CARDS_MAX + 1) == tile_density(1000) == "compact"


def test_the_down_banner_names_the_servers_down_worst_first():
    assert down_banner(pd.DataFrame([row("a", "Kenya")])) is None
    rows = [row(f"d{i}", "Kenya", status="down", partner=f"P{i}", loss_percentage=100.0) for i in range(8)]
    banner = down_banner(pd.DataFrame(rows + [row("ok", "Egypt")]))
    text = text_of(banner)
    assert "8 SERVERS DOWN" in text and "P0 (Kenya)" in text and "and 2 more" in text
    assert getattr(banner, "data-down") == "8" and banner.role == "alert"


def test_the_alert_feed_says_what_it_does_not_list():
    assert more_note(0, 0) is None
    assert more_note(3, 0) == [3, 0] and more_note(0, 12) == [0, 12]


def test_a_filter_change_keeps_the_view_choices_in_the_url():
    assert with_view_params("?country=Kenya&range=24h", "?kiosk=1&order=name&cycle=20&country=Egypt") == \
        "?country=Kenya&range=24h&kiosk=1&order=name&cycle=20"
    assert with_view_params("?range=24h", "?range=7d") == "?range=24h"
    values = {"countries": ["Kenya"], "partners": [], "range": "24h", "start_date": None, "end_date": None,
              "start_time": "00:00", "end_time": "00:00"}
    out = sync_from_controls("?range=24h&kiosk=1", values, NOW)
    assert out["search"] == "?country=Kenya&range=24h&kiosk=1"


def test_a_partial_outage_is_its_own_state_between_down_and_degraded():
    # Issue 13: down from one vantage point, up from another. The tile says so, and its badge's hover names both.
    views = [{"collector": "london", "status": "up", "latency_ms": 23.0, "loss_pct": 0.0, "jitter_ms": 1.0,
              "last_check": None},
             {"collector": "nairobi", "status": "down", "latency_ms": None, "loss_pct": 100.0, "jitter_ms": None,
              "last_check": None}]
    rows = [row("lossy", "Kenya", status="degraded", loss_percentage=20.0),
            row("half", "Kenya", status="partial", vantage_points=views),
            row("down", "Kenya", status="down", success=False)]
    assert ids_in_order(rows) == ["down", "half", "lossy"]
    tiles, _ = server_tiles(pd.DataFrame(rows), {}, "trouble")
    half = next(t for t in tiles if t["id"] == "half")
    assert half["s"] == "partial"
    assert half["vt"] == "london: up 23.0 ms, loss 0% · nairobi: down"
    assert next(t for t in tiles if t["id"] == "down")["vt"] is None  # one vantage point: nothing to compare
