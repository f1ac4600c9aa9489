"""Layouts and component builders: ids, cards, counts, lists, formatting (no browser, no callbacks)."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from common import format as fmt
from layouts import ids
from layouts.overview import overview_layout
from layouts.panels import concern_list, log_list, rounds_table, warnings_list
from layouts.server import server_header, server_layout
from layouts.shell import shell_layout
from layouts.status import (card_state, counts_bar, heartbeat, server_href, server_tiles, startup_message,
                            status_counts, tile_data)
from tests.helpers.dash_tree import status_row, text_of, walk

NOW = datetime(2026, 11, 1, 12, 0, 0)


def all_ids(component) -> list[str]:
    return [c.id for c in walk(component) if getattr(c, "id", None)]


# -- ids and page skeletons --------------------------------------------------------------------

def test_ids_are_prefixed_and_unique():
    names = {k: v for k, v in vars(ids).items() if k.isupper() and k != "PREFIX"}
    assert all(v.startswith(ids.PREFIX) for v in names.values())
    assert len(set(names.values())) == len(names)


def test_shell_holds_the_filters_and_the_page_slot():
    found = all_ids(shell_layout(["Kenya"], ["Safari Voice"]))
    for needed in (ids.URL, ids.REFRESH, ids.COUNTRY, ids.PARTNER, ids.RANGE, ids.EXPORT_BUTTON, ids.PAGE,
                   ids.THEME_SWITCH, ids.PAUSE_SWITCH):
        assert needed in found
    assert len(found) == len(set(found))


def test_pages_have_their_outputs_and_no_duplicate_ids():
    overview, server = all_ids(overview_layout()), all_ids(server_layout("?range=7d"))
    assert {ids.CARDS, ids.LATENCY_GRAPH, ids.LOSS_GRAPH, ids.JITTER_GRAPH, ids.SMOKE_GRAPH, ids.WARNINGS,
            ids.LOG_TABLE} <= set(overview)
    assert {ids.SERVER_HISTORY, ids.SERVER_DISTRIBUTION, ids.SERVER_ROUNDS, ids.SERVER_LOGS} <= set(server)
    assert not set(overview) & set(server)


# -- status cards ------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, state", [
    ({}, "good"), ({"latency_class": "excellent"}, "excellent"), ({"status": "degraded"}, "degraded"),
    ({"status": "down"}, "down"), ({"status": "stale"}, "stale"), ({"status": "unknown", "latency_class": None},
                                                                    "unknown")])
def test_card_state(overrides, state):
    assert card_state(status_row(**overrides)) == state


def test_server_href_quotes_the_id_and_keeps_the_filters():
    assert server_href("host:5060", "?range=7d") == "/server/host%3A5060?range=7d"
    assert server_href("10.0.0.1", None) == "/server/10.0.0.1"


def test_a_tile_holds_the_latest_values_as_text_and_its_time_not_its_age():
    tile = tile_data(status_row(), pd.DataFrame(columns=["server_id"]))
    assert (tile["id"], tile["p"], tile["c"], tile["ip"], tile["dn"]) == ("10.0.0.1", "Safari Voice", "Kenya",
                                                                          "10.0.0.1", "sip.example")
    assert (tile["s"], tile["lc"], tile["v"], tile["m"]) == ("good", "good", "62.5 ms", ["0%", "1.2 ms", "4.38"])
    # epoch seconds of the round, so the same round gives the same tile on every refresh (the browser counts age)
    assert tile["t"] == (pd.Timestamp("2026-11-01 11:59:48") - pd.Timestamp("1970-01-01")).total_seconds()
    assert tile["ck"] == "2026-11-01 11:59:48 UTC" and "age_seconds" not in tile and tile["a"] == []
    assert tile_data(status_row(), (), tz="Africa/Nairobi")["ck"] == "2026-11-01 14:59:48 UTC+03:00"
    assert tile["sip"] is None  # no SIP check, no SIP line
    assert tile == tile_data(status_row(age_seconds=99.0), pd.DataFrame(columns=["server_id"]))


def test_a_tile_of_a_server_whose_sip_is_down_says_down_for_calls():
    row = status_row(status="down", has_sip=True, sip_status="down", sip_code=503, down_for_calls=True,
                     sip_response_avg_ms=None)
    tile = tile_data(row, ())
    assert tile["s"] == "down" and tile["sip"] == ["down", "down for calls · SIP 503", "down"]


def test_down_tile_says_no_reply_and_shows_the_concern():
    row = status_row(status="down", success=False, avg_time=None, latency_class="down",
                     concerns="no reply (100% loss)", loss_percentage=100.0)
    tile = tile_data(row, pd.DataFrame(columns=["server_id"]))
    assert (tile["s"], tile["lc"], tile["v"], tile["cn"], tile["m"][0]) == ("down", "down", "no reply",
                                                                          "no reply (100% loss)", "100.0%")
    assert tile_data(status_row(concerns="jitter 40 ms"), ())["cn"] is None  # concerns only when in trouble


def test_heartbeat_colours_each_round():
    beats = pd.DataFrame([{"timestamp": NOW, "latency_class": "good", "success": True, "avg_time": 60.0,
                           "loss_percentage": 0.0},
                          {"timestamp": NOW, "latency_class": "down", "success": False, "avg_time": None,
                           "loss_percentage": 100.0}])
    strip = heartbeat(beats, slots=4)
    assert strip.className == "lm-heartbeat" and strip.children is None  # one element, no element per round
    # two empty slots (grey), then good, then down (red)
    assert strip.style["background"] == "linear-gradient(90deg,var(--m) 0 50%,var(--g) 0 75%,var(--d) 0 100%)"
    assert "1 good, 1 down" in strip.title


def test_tiles_by_name_one_group_per_country_alphabetically():
    status = pd.DataFrame([status_row(server_id="a", country="Kenya"), status_row(server_id="b", country="Egypt"),
                           status_row(server_id="c", country="Kenya", status="down")])
    tiles, groups = server_tiles(status, pd.DataFrame(columns=["server_id"]), order="name")
    assert [g[0] for g in groups] == ["Egypt", "Kenya"] and [g[2] for g in groups] == [1, 2]
    assert "1 down" in groups[1][1] and [t["id"] for t in tiles] == ["b", "a", "c"]


def test_counts_bar_and_status_counts():
    status = pd.DataFrame([status_row(), status_row(status="down"), status_row(status="unknown")])
    counts = status_counts(status)
    assert counts == {"up": 1, "down": 1, "unknown": 1}
    bar = counts_bar(counts, total=3)
    assert "1 waiting for a first result" in text_of(bar)
    tiles = {c.id: c for c in walk(bar) if getattr(c, "id", None)}
    assert "lm-count-zero" in tiles[f"{ids.COUNTS}-stale"].className
    assert "lm-count-zero" not in tiles[f"{ids.COUNTS}-down"].className


def test_startup_message_says_when_results_are_due():
    here = startup_message(True, 60, 7, NOW)
    assert "starting" in here and "about 7 s" in here and "12:00:07 UTC" in here
    elsewhere = startup_message(False, 60, 7, NOW)
    assert "another process" in elsewhere and "within 60 s" in elsewhere


# -- lists and tables --------------------------------------------------------------------------

def test_warnings_list_links_each_warning_to_its_server():
    warnings = pd.DataFrame([{"server_id": "10.0.0.1", "partner": "P", "country": "C", "ip": "10.0.0.1",
                              "kind": "packet_loss", "severity": "warning", "state": "open",
                              "message": "Packet loss on P C (10.0.0.1): 20.0% loss",
                              "started_at": pd.Timestamp("2026-11-01 11:58:00"), "resolved_at": None,
                              "at": pd.Timestamp("2026-11-01 11:58:00")}])
    item = warnings_list(warnings, NOW, "?range=1h").children[0]
    assert item.href == "/server/10.0.0.1?range=1h" and "lm-warn-warning" in item.className
    assert "20.0% loss" in text_of(item) and "open 2 min" in text_of(item)
    assert "No alerts" in text_of(warnings_list(warnings.iloc[0:0], NOW, ""))


def test_log_list_and_rounds_table():
    logs = pd.DataFrame([{"timestamp": NOW, "level": "ERROR", "module": "collector", "message": "boom"}])
    assert log_list(logs).lines == [[0, "ERROR", "2026-11-01 12:00:00", "collector", "boom", 1, None]]
    assert log_list(logs.iloc[0:0]).lines == []  # the component then says "No log lines match."
    rounds = pd.DataFrame([{"timestamp": NOW, "avg_time": 10.0, "min_time": 9.0, "max_time": 11.0,
                            "jitter_time": 1.0, "loss_percentage": 0.0, "mos": 4.4, "latency_class": "excellent",
                            "concerns": None},
                           {"timestamp": NOW, "avg_time": 200.0, "min_time": 190.0, "max_time": 210.0,
                            "jitter_time": 1.0, "loss_percentage": 0.0, "mos": 4.0, "latency_class": "poor",
                            "concerns": "high latency 200.0 ms (poor)"}])
    table = rounds_table(rounds)
    assert table.flagged == [1] and table.columns[0] == "Time (UTC)" and len(table.rows) == 2
    assert table.rows[1][:2] == ["2026-11-01 12:00:00", "200.0 ms"] and table.rows[1][-1] == "high latency 200.0 ms (poor)"


def test_concern_list():
    summary = pd.DataFrame([{"kind": "latency", "rounds": 3, "first": NOW, "last": NOW, "latest": "high latency"}])
    assert "3 rounds" in text_of(concern_list(summary))


def test_server_header_for_a_server_without_results():
    server = {"server_id": "h:5060", "partner": "P", "country": "C", "ip": "h", "dn_ext": "", "probe": "tcp",
              "port": 5060}
    header = server_header(server, None)
    assert "lm-state-unknown" in header.className and "h:5060" in text_of(header)


# -- formatting --------------------------------------------------------------------------------

def test_formatting():
    assert (fmt.ms(12.345), fmt.ms(None), fmt.pct(0), fmt.pct(12.34), fmt.mos(4.3)) == \
        ("12.3 ms", "–", "0%", "12.3%", "4.30")
    assert [fmt.age(s) for s in (5, 300, 7300, 200000, None)] == ["5 s ago", "5 min ago", "2 h ago", "2 d ago",
                                                                 "never"]
    assert [fmt.span(s) for s in (5, 300, None)] == ["5 s", "5 min", "–"]
    assert fmt.seconds_between(pd.Timestamp("2026-11-01 12:00"), NOW.replace(minute=5)) == 300.0
    assert fmt.seconds_between(None, NOW) is None
    assert fmt.utc(pd.Timestamp("2026-11-01 12:00:05"), seconds=True) == "2026-11-01 12:00:05"
    assert fmt.records(pd.DataFrame({"a": [1.0, None]})) == [{"a": 1.0}, {"a": None}]
    assert fmt.has_text(" x ") and not fmt.has_text(float("nan")) and not fmt.has_text("  ")


def test_every_callback_component_is_in_the_validation_layout(app):
    """Dash checks callbacks against app.validation_layout (no suppress_callback_exceptions): a page whose
    components are missing there logs errors in the browser for every callback touching them."""
    from tests.helpers.dash_tree import walk
    known = {getattr(c, "id", None) for c in walk(app.validation_layout)} - {None}
    missing = set()
    for key, entry in app.callback_map.items():
        for spec in entry.get("inputs", []) + entry.get("state", []):
            # Pattern-matching ids ({"type": ..., "alert": ALL}) match whatever is there, none included.
            if isinstance(spec["id"], str) and not spec["id"].startswith("{") and spec["id"] not in known:
                missing.add(spec["id"])
        for out in key.strip(".").split("..."):
            name = out.rsplit(".", 1)[0].strip(".")
            if name and not name.startswith("{") and name not in known:
                missing.add(name)
    assert missing == set()
