"""The dashboard callbacks, called directly (Dash 4's decorator returns the function itself) inside a
request context of a real app on a temporary database."""
from __future__ import annotations

import csv
import io
import json
from contextvars import copy_context
from datetime import datetime, timedelta

import pandas as pd
import pytest
from dash import html, no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from sqlalchemy.exc import OperationalError

import callbacks.common as common_cb
import callbacks.export as export_cb
import callbacks.graphs as graphs_cb
import callbacks.smoke as smoke_cb
import callbacks.overview as overview_cb
import callbacks.server as server_cb
import callbacks.shell as shell_cb
from callbacks.common import filters_from_search, short_error, view_key
from callbacks.urlstate import controls_from_query, default_custom_window, query_from_controls, server_id_from_path
from layouts import ids
from tests.conftest import make_config_dict
from tests.helpers.dash_tree import with_trigger
from common.timeutil import utcnow
from tests.seeding import seed_history
from tests.helpers.dash_tree import text_of, walk


def broken(*_args, **_kwargs):
    """A query that fails the way a locked or missing database does."""
    raise OperationalError("SELECT 1", {}, Exception("database is locked"))


# -- registration --------------------------------------------------------------------------------

def test_every_app_in_the_process_gets_every_callback(app, tmp_path):
    from app import create_app
    other = create_app(make_config_dict(tmp_path / "other"), start_collector=False)
    try:
        for dash_app in (app, other):
            deps = json.loads(dash_app.server.test_client().get("/_dash-dependencies").data)
            outputs = " ".join(d["output"] for d in deps)
            assert len(deps) >= 15
            for needed in (ids.TILES, ids.LATENCY_GRAPH, ids.SMOKE_GRAPH, ids.EXPORT_DOWNLOAD, ids.SERVER_HISTORY):
                assert needed in outputs
    finally:
        other.close()


def test_the_page_and_its_assets_are_served_locally(client):
    page = client.get("/").get_data(as_text=True)
    assert "/assets/00_bootstrap-5.3.6.min.css" in page and "/assets/10_dashboard.css" in page
    assert "cdn." not in page and "unpkg" not in page
    assert client.get("/assets/fonts/bootstrap-icons.woff2").status_code == 200
    assert client.get("/_dash-layout").status_code == 200


# -- URL state ---------------------------------------------------------------------------------

def test_query_round_trip():
    query = query_from_controls(["Kenya", "Egypt"], ["Lagos Link"], "custom", "2026-11-01", "2026-11-02",
                                "08:30", "17:00")
    assert query == ("?country=Kenya&country=Egypt&partner=Lagos+Link&range=custom"
                     "&start=2026-11-01T08%3A30%3A00Z&end=2026-11-02T17%3A00%3A00Z")
    assert controls_from_query(query) == {"countries": ["Kenya", "Egypt"], "partners": ["Lagos Link"],
                                          "collectors": [], "range": "custom", "start_date": "2026-11-01",
                                          "end_date": "2026-11-02",
                                          "start_time": "08:30", "end_time": "17:00", "tz": None}
    filters, error = filters_from_search(query)
    assert error is None and filters.countries == ("Kenya", "Egypt") and filters.start == datetime(2026, 11, 1, 8, 30)


def test_controls_from_query_accepts_the_apis_comma_lists_and_defaults():
    assert controls_from_query("?country=Kenya,Egypt")["countries"] == ["Kenya", "Egypt"]
    assert controls_from_query("")["range"] == "24h"
    assert controls_from_query("?range=fortnight")["range"] == "24h"
    assert controls_from_query("?start=2026-11-01T00:00:00Z")["range"] == "custom"


def test_bad_filters_fall_back_to_the_default_and_say_why():
    filters, error = filters_from_search("?range=custom&start=yesterday&end=2026-11-01T00:00:00Z")
    assert filters.range == "24h" and "start" in error


def test_server_id_from_path():
    assert server_id_from_path("/server/host%3A5060") == "host:5060"
    assert server_id_from_path("/server/") is None and server_id_from_path("/") is None


def synced(out: tuple) -> dict:
    """sync_filters' output tuple by name (callbacks.shell.SYNC_OUTPUTS)."""
    return dict(zip([key for key, _, _ in shell_cb.SYNC_OUTPUTS], out))


def test_sync_from_the_url_sets_the_controls_and_keeps_the_url(ctx):
    out = synced(with_trigger(f"{ids.URL}.search", shell_cb.sync_filters, "?country=Kenya&range=7d",
                              [], [], "24h", None, None, "00:00", "00:00", "UTC", None, None, "UTC"))
    assert out["search"] is no_update
    assert (out["countries"], out["partners"], out["range"]) == (["Kenya"], [], "7d")
    assert out["custom_hidden"] is True and out["alert_open"] is False
    assert out["tz"] is no_update and out["zone"] is no_update  # UTC already


def test_sync_from_a_control_writes_the_query_string(ctx):
    out = synced(with_trigger(f"{ids.COUNTRY}.value", shell_cb.sync_filters, "",
                              ["Nigeria"], ["Lagos Link"], "1h", None, None, "00:00", "00:00", "UTC", None, None,
                              "UTC"))
    assert out["search"] == "?country=Nigeria&partner=Lagos+Link&range=1h"
    assert all(out[k] is no_update for k in shell_cb.CONTROL_KEYS)


def test_choosing_custom_prefills_the_last_day():
    out = shell_cb.sync_from_controls("?range=24h", dict(countries=[], partners=[], range="custom", start_date=None,
                                                         end_date=None, start_time="00:00", end_time="00:00"),
                                      datetime(2026, 11, 2, 10, 15, 30))
    assert (out["start_date"], out["start_time"], out["end_date"], out["end_time"]) == \
        ("2026-11-01", "10:16", "2026-11-02", "10:16")
    assert out["search"] == "?range=custom&start=2026-11-01T10%3A16%3A00Z&end=2026-11-02T10%3A16%3A00Z"
    assert out["custom_hidden"] is False and out["alert"] is None
    assert out["visible_month"] == "2026-11-02"  # the calendar opens on the window's end: this month
    assert default_custom_window(datetime(2026, 11, 2, 10, 15))["end_time"] == "10:16"


def test_routing():
    page, country_off, _ = shell_cb.page_for("/", "")
    assert ids.CARDS in {c.id for c in walk(page) if getattr(c, "id", None)} and country_off is False
    page, country_off, partner_off = shell_cb.page_for("/server/10.0.0.1", "?range=7d")
    assert ids.SERVER_HISTORY in {c.id for c in walk(page) if getattr(c, "id", None)}
    assert country_off and partner_off
    assert "Page not found" in text_of(shell_cb.page_for("/nowhere", "")[0])


def layout_ids(client, **headers) -> dict:
    """id -> props of every component in the /_dash-layout a browser gets with these headers."""
    found: dict = {}

    def visit(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if "id" in props and isinstance(props["id"], str):
                found[props["id"]] = props
            for value in props.values():
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)
    visit(json.loads(client.get("/_dash-layout", headers=headers).data))
    return found


def test_the_first_layout_already_holds_the_page_its_request_came_from(client):
    server = layout_ids(client, Referer="http://localhost/server/10.0.0.1?range=7d")
    assert ids.SERVER_HISTORY in server and ids.CARDS not in server
    assert server[ids.RENDERED_PATH]["data"] == "/server/10.0.0.1"
    assert server[ids.COUNTRY]["disabled"] is True and server[ids.PARTNER]["disabled"] is True
    overview = layout_ids(client, Referer="http://localhost/?country=Kenya")
    assert ids.CARDS in overview and overview[ids.RENDERED_PATH]["data"] == "/"
    assert overview[ids.COUNTRY]["disabled"] is False
    # No Referer (or another site's): an empty page, which the router fills on load as before.
    for headers in ({}, {"Referer": "http://elsewhere.example/server/10.0.0.1"}):
        bare = layout_ids(client, **headers)
        assert ids.CARDS not in bare and ids.SERVER_HISTORY not in bare
        assert bare[ids.RENDERED_PATH].get("data") is None


def test_the_router_leaves_a_page_that_is_already_there_and_renders_any_other():
    assert shell_cb.route("/", "", "/") == (no_update,) * 4
    page, country_off, partner_off, rendered = shell_cb.route("/server/10.0.0.1", "", "/")
    assert ids.SERVER_HISTORY in {c.id for c in walk(page) if getattr(c, "id", None)}
    assert (country_off, partner_off, rendered) == (True, True, "/server/10.0.0.1")
    page, *_, rendered = shell_cb.route("/", "", None)  # the first layout had no page
    assert ids.CARDS in {c.id for c in walk(page) if getattr(c, "id", None)} and rendered == "/"


def test_refresh_settings():
    assert shell_cb.refresh_settings("60", False) == (60000, False)
    assert shell_cb.refresh_settings("1", True) == (5000, True)
    assert shell_cb.refresh_settings(None, False) == (30000, False)


# -- status, warnings, logs --------------------------------------------------------------------

def test_status_cards_and_counts(seeded, ctx):
    parts = overview_cb.overview_now("?order=name")
    assert parts["notice"] is None
    assert "4" in text_of(parts["counts"])
    assert parts["groups"] == [["Egypt", "1 server", 1], ["Kenya", "2 servers", 2], ["Nigeria", "1 server", 1]]
    assert parts["density"] == "full" and parts["order"] == "name" and parts["search"] == "?order=name"


def test_status_cards_follow_the_country_filter(seeded, ctx):
    parts = overview_cb.overview_now("?country=Kenya")
    assert [t["id"] for t in parts["tiles"]] == ["127.0.0.2", "127.0.0.1"]  # worst first: 50 ms before 20 ms
    assert parts["search"] == "?country=Kenya"  # the tiles' links keep it
    assert parts["wall"] == {"countries": ["Egypt", "Nigeria", "Kenya"]}  # all of them, worst first (110, 80, 50 ms)


def test_fresh_database_says_the_collector_is_starting(ctx):
    parts = overview_cb.overview_now("")
    assert "another process" in text_of(parts["notice"])
    assert "4 waiting for a first result" in text_of(parts["counts"])
    assert {t["s"] for t in parts["tiles"]} == {"unknown"} and parts["banner"] is None


def test_a_failing_status_query_shows_a_message(seeded, ctx, monkeypatch):
    monkeypatch.setattr(common_cb, "server_status", broken)
    parts = overview_cb.overview_now("")
    assert parts["counts"] is None and parts["tiles"] == []
    assert "Could not load the server status" in text_of(parts["notice"])
    assert "database is locked" in text_of(parts["notice"])


def test_warnings_panel(seeded, ctx, monkeypatch):
    assert overview_cb.overview_now("")["alerts"] == []
    ctx.runtime.cache.clear()  # the parts are kept per data stamp and minute: read them again
    real = overview_cb.current_warnings
    monkeypatch.setattr(overview_cb, "current_warnings", broken)
    parts = overview_cb.overview_now("")
    assert parts["alerts"] == [] and "Could not load the warnings" in parts["alerts_more"]
    monkeypatch.setattr(overview_cb, "current_warnings", real)
    assert overview_cb.overview_now("")["alerts_more"] is None  # the failure was shown, not kept


def test_the_status_side_is_built_once_per_data_stamp_for_every_viewer(seeded, ctx, writer, config, monkeypatch):
    monkeypatch.setattr(overview_cb, "PARTS_SHARE_SECONDS", 10 ** 9)  # no minute boundary within the test
    calls, real = [], overview_cb.server_tiles
    monkeypatch.setattr(overview_cb, "server_tiles", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = [overview_cb.overview_now("") for _ in range(3)]
    assert len(calls) == 2 and first[2]["tiles"] == first[0]["tiles"]  # one build (shown and every) for three
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=1)
    overview_cb.overview_now("")
    assert len(calls) == 4  # a new round: built again


def test_log_viewer_filters_by_level_and_text(writer, ctx):
    now = datetime(2026, 11, 1, 12)
    writer.write_logs([{"timestamp": now, "level": "INFO", "message": "round finished", "module": "collector"},
                       {"timestamp": now, "level": "WARNING", "message": "Lagos Link: jitter 40 ms",
                        "module": "collector"}])

    def messages(level, text):
        return [line[4] for line in overview_cb.overview_now("", level, text)["logs"]]
    assert "round finished" in messages("INFO", "")
    warning_only = messages("WARNING", None)
    assert "Lagos Link: jitter 40 ms" in warning_only and "round finished" not in warning_only
    assert messages("INFO", "nothing like this") == []


def test_a_refresh_with_nothing_new_sends_nothing_but_the_clocks(seeded, ctx):
    first = dict(zip([k for k, _, _ in overview_cb.OUTPUTS], overview_cb.refresh_overview("", [1], "INFO", None, None,
                                                                                           None, 30000)))
    assert len(first["tiles"]) == 4 and first["state"]["sigs"]
    again = dict(zip([k for k, _, _ in overview_cb.OUTPUTS], overview_cb.refresh_overview("", [2], "INFO", None, None,
                                                                                           first["state"], 30000)))
    assert {k for k, v in again.items() if v is not no_update} == {"alerts_now", "tiles_now", "stamp"}
    assert again["stamp"]["interval_ms"] == 30000


def test_a_refresh_patches_only_the_tiles_that_changed(seeded, ctx):
    from dash import Patch
    parts = overview_cb.overview_now("")
    state = overview_cb.browser_state(parts, overview_cb.tile_signatures(parts["tiles"]))
    changed = [dict(t) for t in parts["tiles"]]
    changed[2] = dict(changed[2], v="999.0 ms")
    out = overview_cb.overview_update(dict(parts, tiles=changed), state)
    assert isinstance(out["tiles"], Patch)
    assert [op["location"] for op in out["tiles"].to_plotly_json()["operations"]] == [[2]]
    assert out["groups"] is no_update and out["state"]["sigs"][2] != state["sigs"][2]
    reordered = overview_cb.overview_update(dict(parts, tiles=changed[::-1]), state)
    assert reordered["tiles"] == changed[::-1]  # a new order is sent whole


# -- graphs ------------------------------------------------------------------------------------

def test_series_graphs_and_unchanged_data_sends_nothing(seeded, ctx):
    latency, loss, jitter, sig = graphs_cb.refresh_series("?range=24h", 0, "country", False, None)
    assert [t.name for t in latency.data] == ["Egypt", "Kenya", "Nigeria"]
    assert loss.data[0].type == "heatmap" and len(jitter.data) == 3
    assert graphs_cb.refresh_series("?range=24h", 1, "country", False, sig) == (no_update,) * 4
    assert graphs_cb.refresh_series("?range=24h", 1, "country", True, sig)[3] != sig
    assert graphs_cb.refresh_series("?range=24h", 1, "server", False, sig)[3] != sig


def at_clock(monkeypatch, now: datetime) -> None:
    """The series callbacks read their window as if the clock said `now`."""
    monkeypatch.setattr(graphs_cb, "filters_from_search", lambda search: filters_from_search(search, now))


def test_series_graphs_redraw_when_a_whole_bucket_changes_not_for_the_one_filling(seeded, ctx, monkeypatch):
    # 24 h are drawn in 5-minute buckets up to the last whole one: a round in the bucket still filling would
    # redraw every graph in every browser at every round for a point that is not finished.
    whole = seeded["end"] - timedelta(seconds=(seeded["end"] - datetime(1970, 1, 1)).total_seconds() % 300)
    at_clock(monkeypatch, whole + timedelta(seconds=200))
    latency, *_, sig = graphs_cb.refresh_series("?range=24h", 0, "country", False, None)
    assert pd.Timestamp(latency.layout.xaxis.range[1]) == pd.Timestamp(whole)
    seed_history(seeded["writer"], seeded["config"], whole + timedelta(seconds=100), rounds=1)
    assert graphs_cb.refresh_series("?range=24h", 1, "country", False, sig) == (no_update,) * 4
    seed_history(seeded["writer"], seeded["config"], whole - timedelta(seconds=10), rounds=1)  # late, spooled
    latency, *_, late_sig = graphs_cb.refresh_series("?range=24h", 2, "country", False, sig)
    assert late_sig != sig and latency is not no_update
    at_clock(monkeypatch, whole + timedelta(seconds=300))  # the filling bucket is whole now: it is drawn
    latency, *_, next_sig = graphs_cb.refresh_series("?range=24h", 3, "country", False, late_sig)
    assert next_sig != late_sig and pd.Timestamp(latency.layout.xaxis.range[1]) == pd.Timestamp(whole) + \
        pd.Timedelta(seconds=300)


def test_the_rtt_spread_is_drawn_to_its_last_whole_bucket(seeded, ctx, monkeypatch):
    whole = seeded["end"] - timedelta(seconds=(seeded["end"] - datetime(1970, 1, 1)).total_seconds() % 300)
    monkeypatch.setattr(smoke_cb, "filters_from_search", lambda search: filters_from_search(search, whole +
                                                                                           timedelta(seconds=200)))
    fig, _, sig = smoke_cb.refresh_smoke("?range=24h", 0, ["127.0.0.2"], "bands", False, None)
    assert pd.Timestamp(fig.layout.xaxis.range[1]) == pd.Timestamp(whole)
    seed_history(seeded["writer"], seeded["config"], whole + timedelta(seconds=100), rounds=1)
    assert smoke_cb.refresh_smoke("?range=24h", 1, ["127.0.0.2"], "bands", False, sig) == (no_update,) * 3
    seed_history(seeded["writer"], seeded["config"], whole - timedelta(seconds=10), rounds=1)
    assert smoke_cb.refresh_smoke("?range=24h", 2, ["127.0.0.2"], "bands", False, sig)[2] != sig


def test_only_measurements_in_the_bucket_still_filling_are_drawn_unfinished(config, writer, app, monkeypatch):
    # A fresh install: its first rounds are all in the bucket still filling, and an empty graph would say
    # "No measurements" while the cards show them.
    now = utcnow().replace(microsecond=0)
    whole = now - timedelta(seconds=(now - datetime(1970, 1, 1)).total_seconds() % 300)
    at_clock(monkeypatch, whole + timedelta(seconds=200))
    seed_history(writer, config, whole + timedelta(seconds=100), rounds=2, interval_seconds=60)
    with app.server.test_request_context():
        latency, *_ = graphs_cb.refresh_series("?range=24h", 0, "country", False, None)
    assert latency.data and pd.Timestamp(latency.layout.xaxis.range[1]) == pd.Timestamp(whole) + \
        pd.Timedelta(seconds=200)


def test_series_graphs_follow_the_filters_and_keep_zoom_per_view(seeded, ctx):
    latency, *_ = graphs_cb.refresh_series("?country=Nigeria&range=1h", 0, "server", False, None)
    assert [t.name for t in latency.data] == ["Lagos Link · 127.0.0.3"]
    assert latency.layout.uirevision == view_key(filters_from_search("?country=Nigeria&range=1h")[0], "server")


def test_series_graphs_on_an_empty_database_and_on_errors(ctx, monkeypatch):
    latency, *_ = graphs_cb.refresh_series("", 0, "country", False, None)
    assert "No measurements" in latency.layout.annotations[0].text
    monkeypatch.setattr(graphs_cb, "data_version", broken)
    latency, loss, jitter, sig = graphs_cb.refresh_series("", 0, "country", False, None)
    assert "Could not load the measurements" in latency.layout.annotations[0].text and sig is None


def test_smoke_view(seeded, ctx):
    options, value = smoke_cb.smoke_servers("?country=Kenya", None)
    assert [o["value"] for o in options] == ["127.0.0.1", "127.0.0.2"] and value == ["127.0.0.1", "127.0.0.2"]
    assert smoke_cb.smoke_servers("?country=Kenya", ["127.0.0.2", "127.0.0.4"])[1] == ["127.0.0.2"]
    fig, style, sig = smoke_cb.refresh_smoke("?range=1h", 0, ["127.0.0.2"], "bands", False, None)
    assert [t.name for t in fig.data if t.name == "median"] == ["median"]
    assert style == {"height": f"{fig.layout.height}px"}
    assert smoke_cb.refresh_smoke("?range=1h", 1, ["127.0.0.2"], "bands", False, sig) == (no_update,) * 3
    samples, _, _ = smoke_cb.refresh_smoke("?range=1h", 1, ["127.0.0.2"], "samples", False, sig)
    assert [len(t.y) for t in samples.data if t.name == "samples"] == [12 * 4]  # 12 rounds of 4 in the hour
    empty, _, _ = smoke_cb.refresh_smoke("", 0, [], "bands", False, None)
    assert "Choose servers" in empty.layout.annotations[0].text


# -- server page -------------------------------------------------------------------------------

def test_server_page(seeded, ctx):
    assert "Lagos Link" in text_of(server_cb.refresh_header("/server/127.0.0.3", 0))
    history, distribution, sig = server_cb.refresh_server_graphs("/server/127.0.0.3", "?range=24h", 0, False, None)
    assert [t.name for t in history.data] == ["min-max", "mean latency", "loss", "jitter"]
    bars = [(x, n) for x, n in zip(distribution.data[0].x, distribution.data[0].y) if n]
    width = distribution.data[0].width
    assert len(bars) == 1 and abs(bars[0][0] - 80.0) <= width  # every packet took 80 ms: one filled bin
    assert server_cb.refresh_server_graphs("/server/127.0.0.3", "?range=24h", 1, False, sig) == (no_update,) * 3
    rounds, concerns, logs = server_cb.refresh_server_tables("/server/127.0.0.3", "?range=1h", 0)
    assert "80.0 ms" in rounds.rows[0] and "No warnings" in text_of(concerns)


def test_a_long_window_draws_the_distribution_from_an_even_sample_of_rounds(seeded, ctx, monkeypatch):
    monkeypatch.setattr(server_cb, "DISTRIBUTION_ROUNDS", 100)  # the server has 288 rounds in 24 h
    assert server_cb.distribution_stride(288) == 3 and server_cb.distribution_stride(100) == 1
    _, distribution, _ = server_cb.refresh_server_graphs("/server/127.0.0.3", "?range=24h", 0, False, None)
    packets = sum(distribution.data[0].y)
    assert 0.25 * 288 * 4 < packets < 0.42 * 288 * 4  # about a third of the rounds' 4 packets each
    assert "packets of 1 round in 3" in distribution.layout.xaxis.title.text


def test_unknown_server_page(seeded, ctx):
    assert "No configured server" in text_of(server_cb.refresh_header("/server/10.9.9.9", 0))
    history, _, _ = server_cb.refresh_server_graphs("/server/10.9.9.9", "", 0, False, None)
    assert history.layout.annotations[0].text == "Unknown server."


# -- export ------------------------------------------------------------------------------------

def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_downloads_the_filtered_rows(seeded, ctx):
    data, alert, is_open, color = export_cb.export_csv(1, "?country=Kenya&range=1h", "/")
    rows = read_csv(data["content"])
    assert {r["server_id"] for r in rows} == {"127.0.0.1", "127.0.0.2"} and len(rows) == 2 * 12
    assert data["filename"].startswith("latency-") and data["filename"].endswith("Z.csv")
    # The confirmation says how many rows went out, and where.
    assert is_open is True and color == "success"
    assert "Exported 24 rows to" in text_of(html.Div(alert)) and data["filename"] in text_of(html.Div(alert))


def test_export_on_a_server_page_takes_that_server_only(seeded, ctx):
    data, *_ = export_cb.export_csv(1, "?country=Kenya&range=1h", "/server/127.0.0.4")
    assert {r["server_id"] for r in read_csv(data["content"])} == {"127.0.0.4"}


def test_export_neutralises_formula_like_text(tmp_path):
    from app import create_app
    data = make_config_dict(tmp_path)
    data["servers"][0]["dn_ext"] = "=HYPERLINK(\"http://x\")"
    dash_app = create_app(data, start_collector=False)
    runtime = dash_app.server.extensions["latency_monitor"]
    seed_history(runtime.writer, runtime.config, datetime.utcnow().replace(microsecond=0), rounds=1)
    try:
        with dash_app.server.test_request_context():
            content = export_cb.export_csv(1, "?range=1h", "/")[0]["content"]
        assert {r["dn_ext"] for r in read_csv(content)} >= {"'=HYPERLINK(\"http://x\")"}
    finally:
        dash_app.close()


def test_a_too_large_export_points_to_the_streaming_api(seeded, ctx, monkeypatch):
    monkeypatch.setattr(export_cb, "MAX_EXPORT_ROWS", 5)
    data, alert, is_open, color = export_cb.export_csv(1, "?range=1h", "/")
    assert data is no_update and is_open is True and color == "danger"
    assert [c.href for c in alert if hasattr(c, "href")] == ["/api/export-data?range=1h"]


def test_a_failing_export_says_so(seeded, ctx, monkeypatch):
    monkeypatch.setattr(export_cb, "export_chunks", broken)
    data, alert, is_open, _ = export_cb.export_csv(1, "?range=1h", "/")
    assert data is no_update and is_open and "database is locked" in alert


def test_short_error_keeps_the_first_line_only():
    exc = OperationalError("SELECT *\nFROM x", {}, Exception("no such table: x"))
    assert short_error(exc) == "OperationalError: (builtins.Exception) no such table: x"
