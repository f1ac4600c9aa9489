"""Alerts on the dashboard: the warnings panel's data and list, a card's open alerts, and alert spans on graphs."""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest

import callbacks.graphs as graphs_cb
import callbacks.overview as overview_cb
import callbacks.server as server_cb
from figures.alerts import ALERT_TRACE, RIBBON, alert_spans, alert_starts, halo_segments, mark_alerts
from figures.server import server_history_figure
from figures.theme import ALERT_COLORS
from figures.timeseries import base_figure, latency_figure
from layouts.alerts import alert_badges, kind_label
from layouts.panels import warning_when, warnings_list
from layouts.server import server_header
from layouts.status import alert_items, tile_data
from queries.querystring import parse_filters
from queries.status import server_status
from queries.warnings import current_warnings, stale_rows, worst_newest
from common.timeutil import iso_z, utcnow
from tests.seeding import seed_history
from tests.helpers.alerts import seed_alerts, store_alert
from tests.helpers.dash_tree import status_row, text_of, walk

T0 = pd.Timestamp("2026-11-01 00:00:00")
WINDOW = (T0.to_pydatetime(), (T0 + pd.Timedelta(hours=6)).to_pydatetime())
THRESHOLDS = {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}


@pytest.fixture
def alerted(config, writer):
    """Recent history for every server plus the seeded alerts around `now`."""
    now = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    seed_history(writer, config, now, rounds=12, interval_seconds=300)
    return {"now": now, "times": seed_alerts(writer, config, now)}


def alerts_frame(*rows) -> pd.DataFrame:
    """A list_alerts-shaped frame from (severity, start hour, end hour or None, message) tuples."""
    return pd.DataFrame([{"severity": sev, "started_at": T0 + pd.Timedelta(hours=start),
                          "resolved_at": None if end is None else T0 + pd.Timedelta(hours=end), "message": msg}
                         for sev, start, end, msg in rows])


def series(minutes: range, latency: float = 40.0) -> pd.DataFrame:
    """ping_series-shaped rows of one server key."""
    return pd.DataFrame([{"key": "s1", "bucket": T0 + pd.Timedelta(minutes=m), "latency_ms": latency,
                          "min_ms": latency - 5, "max_ms": latency + 5, "loss_pct": 0.0, "jitter_ms": 2.0, "mos": 4.4,
                          "rounds": 1, "partner": "P", "server_ip": "10.0.0.1"} for m in minutes])


def alert_shapes(fig) -> list:
    """The shaded stretches of time (x in data units); threshold bands and limit lines span the x domain instead,
    and the dotted 'data starts' line is a line, not a stretch."""
    return [s for s in fig.layout.shapes if "domain" not in str(s.xref) and s.type != "line"]


def vrects(fig, color: str) -> list:
    """The full-height alert spans of one colour (the ribbons along the top start at y0 > 0)."""
    return [s for s in alert_shapes(fig) if s.fillcolor == color and s.y0 == 0]


# -- the warnings panel's data ---------------------------------------------------------------------

def test_current_warnings_lists_open_alerts_then_those_resolved_in_the_window(alerted, config, engine):
    warnings = current_warnings(engine, config, alerted["now"] + timedelta(seconds=1))
    assert list(zip(warnings["kind"], warnings["state"])) == [
        ("high_latency", "open"), ("jitter", "open"),  # critical before warning, though jitter is newer
        ("connectivity", "resolved"), ("packet_loss", "resolved")]  # newest resolution first; 'down' is 3 days old
    assert list(warnings["severity"]) == ["critical", "warning", "critical", "warning"]
    assert warnings["ip"].iloc[0] == "127.0.0.1" and pd.isna(warnings["server_id"].iloc[2])
    assert warnings["at"].iloc[3] == pd.Timestamp(alerted["times"]["loss"] + timedelta(hours=1))


def test_current_warnings_follows_the_filters(alerted, config, engine):
    now = alerted["now"] + timedelta(seconds=1)
    nigeria = current_warnings(engine, config, now, parse_filters({"country": "Nigeria"}, now))
    assert list(nigeria["kind"]) == ["connectivity", "packet_loss"]  # host-wide alerts concern every country
    week = current_warnings(engine, config, now, parse_filters({"range": "7d", "partner": "Nile Telecom"}, now))
    assert list(week["kind"]) == ["connectivity", "down"]


def test_staleness_shows_before_the_watcher_raises_its_alert(config, writer, engine):
    last = utcnow().replace(microsecond=0) - timedelta(hours=1)
    seed_history(writer, config, last, rounds=3)
    now = last + timedelta(hours=1)
    warnings = current_warnings(engine, config, now)
    assert list(warnings["kind"]) == ["stale"] * 4 and set(warnings["state"]) == {"open"}
    assert warnings["message"].iloc[0] == f"No new result since {last:%Y-%m-%d %H:%M} UTC"
    store_alert(writer, config, 0, "stale", "warning", 3600.0, last)
    warnings = current_warnings(engine, config, now)
    assert len(warnings) == 4  # the watcher's alert replaces the stand-in, it does not add to it
    assert warnings["message"].str.startswith("No results (stale) on Safari Voice Kenya").sum() == 1


def test_stale_rows_and_ordering_are_pure():
    status = pd.DataFrame([status_row(server_id="a", status="stale", open_alerts=[]),
                           status_row(server_id="b", status="stale", open_alerts=[{"kind": "stale"}]),
                           status_row(server_id="c", status="up", open_alerts=[])])
    assert list(stale_rows(status)["server_id"]) == ["a"]
    rows = pd.DataFrame({"severity": ["warning", "critical", "warning"],
                         "at": pd.to_datetime(["2026-11-01 10:00", "2026-11-01 09:00", "2026-11-01 11:00"])})
    assert list(worst_newest(rows)["at"].dt.hour) == [9, 11, 10]


def test_no_warnings_when_all_is_well(seeded, config, engine):
    assert current_warnings(engine, config).empty


# -- the warnings list and the cards ---------------------------------------------------------------

NOW = datetime(2026, 11, 1, 12, 0, 0)


def panel_row(**overrides) -> dict:
    row = {"id": 1, "server_id": "10.0.0.1", "partner": "Safari Voice", "country": "Kenya", "ip": "10.0.0.1",
           "kind": "high_latency", "severity": "critical", "state": "open", "message": "High latency on ...",
           "started_at": pd.Timestamp("2026-11-01 11:30"), "resolved_at": None, "at": pd.Timestamp("2026-11-01 11:30")}
    row.update(overrides)
    return row


def test_warnings_list_shows_open_alerts_then_history():
    resolved = panel_row(id=2, kind="packet_loss", severity="warning", state="resolved",
                         started_at=pd.Timestamp("2026-11-01 09:00"), resolved_at=pd.Timestamp("2026-11-01 10:00"))
    host = panel_row(id=3, server_id=None, partner=None, country=None, ip=None, kind="connectivity")
    listing = warnings_list(pd.DataFrame([panel_row(), host, resolved]), NOW, "?range=24h")
    first, second, heading, last = listing.children
    assert first.className == "lm-warn-wrap" and "Acknowledge" in text_of(first)  # open alerts have the button
    first, second = first.children[0], second.children[0]
    assert first.href == "/server/10.0.0.1?range=24h" and "lm-warn-critical" in first.className
    assert "critical" in text_of(first) and "open 30 min" in text_of(first)
    assert not hasattr(second, "href") and "Monitoring host" in text_of(second)
    assert heading.children == "Resolved in this range"
    assert "lm-warn-resolved" in last.className and "resolved 2 h ago · lasted 60 min" in text_of(last)


def test_warnings_list_with_only_history_says_nothing_is_open():
    resolved = panel_row(state="resolved", resolved_at=pd.Timestamp("2026-11-01 11:45"))
    text = text_of(warnings_list(pd.DataFrame([resolved]), NOW, ""))
    assert "No open alerts" in text and "resolved 15 min ago · lasted 15 min" in text


def test_warning_when():
    assert warning_when(panel_row(), NOW) == "open 30 min"


def test_a_card_shows_its_open_alerts_with_their_severity():
    alerts = [{"id": 1, "kind": "jitter", "severity": "warning", "message": "Jitter on ...: 41.5 ms"},
              {"id": 2, "kind": "high_latency", "severity": "critical", "message": "High latency on ..."}]
    tile = tile_data(status_row(open_alerts=alerts), pd.DataFrame(columns=["server_id"]))
    # [kind, severity, label, icon, hover text], critical first (assets/25_components.js draws the pills)
    assert tile["a"] == [["high_latency", "critical", kind_label("high_latency"), "bi-speedometer2",
                          "critical: High latency on ..."],
                         ["jitter", "warning", kind_label("jitter"), "bi-activity", "warning: Jitter on ...: 41.5 ms"]]
    assert tile_data(status_row(open_alerts=[]), pd.DataFrame(columns=["server_id"]))["a"] == []


def test_alert_items_carry_times_so_the_browser_counts_how_long():
    items = alert_items(pd.DataFrame([panel_row(), panel_row(state="resolved",
                                                             resolved_at=pd.Timestamp("2026-11-01 11:45"))]))
    assert [i["r"] for i in items] == [False, True] and items[0]["sv"] == panel_row()["severity"]
    lasted = pd.Timestamp("2026-11-01 11:45") - pd.Timestamp(panel_row()["started_at"])
    assert items[1]["e"] - items[1]["b"] == lasted.total_seconds() and items[0]["e"] is None


def test_alert_badges_and_the_server_header():
    assert alert_badges([]) is None and alert_badges(None) is None
    header = server_header({"server_id": "a", "partner": "P", "country": "C", "ip": "a", "probe": "ping"},
                           status_row(open_alerts=[{"id": 1, "kind": "down", "severity": "critical"}]))
    assert "down" in text_of(header) and any("lm-alert-critical" in str(getattr(c, "className", ""))
                                             for c in walk(header))


def test_the_card_data_carries_open_alerts(alerted, config, engine):
    status = server_status(engine, config, alerted["now"])
    by_server = dict(zip(status["server_id"], status["open_alerts"]))
    assert [(a["kind"], a["severity"]) for a in by_server["127.0.0.1"]] == [("high_latency", "critical")]
    assert by_server["127.0.0.3"] == [] and by_server["127.0.0.4"] == []


# -- alert spans on the graphs ----------------------------------------------------------------------

def test_alert_spans_merge_overlaps_per_severity_and_clip_to_the_window():
    alerts = alerts_frame(("warning", 1, 2, "a"), ("warning", 1.5, 3, "b"), ("warning", 4, 4.5, "c"),
                          ("critical", -2, 1, "d"), ("critical", 5, None, "e"), ("warning", 7, 8, "after"))
    spans = alert_spans(alerts, *WINDOW)
    hours = [(r.severity, (r.x0 - T0) / pd.Timedelta(hours=1), (r.x1 - T0) / pd.Timedelta(hours=1))
             for r in spans.itertuples()]
    assert hours == [("warning", 1, 3), ("warning", 4, 4.5), ("critical", 0, 1), ("critical", 5, 6)]
    assert alert_spans(alerts.iloc[0:0], *WINDOW).empty


def test_alert_starts_only_inside_the_window():
    alerts = alerts_frame(("critical", -2, 1, "before"), ("warning", 2, None, "inside"), ("warning", 7, 8, "after"))
    assert list(alert_starts(alerts, *WINDOW)["message"]) == ["inside"]


def test_mark_alerts_shades_spans_and_marks_starts():
    fig = base_figure(False, WINDOW, "")
    mark_alerts(fig, alerts_frame(("warning", 1, 2, "slow"), ("critical", 3, None, "down")), window=WINDOW, top=200)
    assert len(vrects(fig, ALERT_COLORS["warning"])) == 1 and len(vrects(fig, ALERT_COLORS["critical"])) == 1
    ribbons = [s for s in fig.layout.shapes if s.y0 > 0]
    assert len(ribbons) == 2 and all(s.yref == "y domain" for s in ribbons)
    (marks,) = fig.data
    assert list(marks.text) == ["warning: slow", "critical: down"] and 190 < marks.y[0] < 200
    assert list(marks.marker.color) == [ALERT_COLORS["warning"], ALERT_COLORS["critical"]]
    untouched = base_figure(False, WINDOW, "")
    assert mark_alerts(untouched, None, window=WINDOW, top=200) is untouched and not untouched.layout.shapes


def test_without_a_window_the_alerts_own_extent_is_used():
    fig = mark_alerts(base_figure(False, None, ""), alerts_frame(("critical", 1, 2, "a"), ("critical", 3, None, "b")),
                      top=100)
    # The open alert ends where the latest known time is (its own start): it has no span, only its mark.
    assert [(pd.Timestamp(s.x0), pd.Timestamp(s.x1)) for s in vrects(fig, ALERT_COLORS["critical"])] == \
        [(T0 + pd.Timedelta(hours=1), T0 + pd.Timedelta(hours=2))]
    assert len(fig.data[0].x) == 2


def keyed_alerts(*rows) -> pd.DataFrame:
    """alerts_frame rows (severity, start hour, end hour, message) with the server and country they belong to."""
    frame = alerts_frame(*[row[:4] for row in rows])
    return frame.assign(server_id=[row[4] for row in rows], country=[row[5] for row in rows])


def halos(fig) -> list:
    """Each halo alerts drew along a series line (a segment of its severity's halo trace): meta (its series key),
    x, y, and the trace's line and zorder."""
    return [SimpleNamespace(meta=key, x=xs, y=ys, line=t.line, zorder=t.zorder)
            for t in fig.data if t.name == ALERT_TRACE and t.mode == "lines" for key, xs, ys in halo_segments(t)]


def two_countries(minutes: range) -> pd.DataFrame:
    """ping_series rows per country: Kenya at 40 ms, Nigeria at 90 ms."""
    kenya, nigeria = series(minutes, 40.0), series(minutes, 90.0)
    return pd.concat([kenya.assign(key="Kenya"), nigeria.assign(key="Nigeria")], ignore_index=True)


def test_latency_figure_marks_an_alert_on_its_own_series_line_only():
    df = two_countries(range(0, 360, 5))
    alerts = keyed_alerts(("critical", 2, None, "High latency on Lagos Link Nigeria (10.0.0.3)", "10.0.0.3", "Nigeria"))
    fig = latency_figure(df, THRESHOLDS, group="country", bucket_seconds=300, gap_seconds=600, window=WINDOW,
                         alerts=alerts)
    assert not alert_shapes(fig)  # nothing spans the chart: Kenya's line is not marked
    (halo,) = halos(fig)
    assert halo.meta == "Nigeria" and halo.line.color == ALERT_COLORS["critical"] and set(halo.y) == {90.0}
    assert pd.Timestamp(halo.x[0]) == T0 + pd.Timedelta(hours=2) and pd.Timestamp(halo.x[-1]) == pd.Timestamp(WINDOW[1])
    assert [t.name for t in fig.data][:2] == ["Kenya", "Nigeria"]  # the series lines stay the first traces
    assert halo.zorder < min(t.zorder or 0 for t in fig.data[:2])  # and the halo lies behind them
    (mark,) = [t for t in fig.data if t.name == ALERT_TRACE and t.mode == "markers"]
    assert list(mark.y) == [90.0] and "High latency on Lagos Link" in mark.text[0]
    plain = latency_figure(df, THRESHOLDS, group="country", bucket_seconds=300, gap_seconds=600, window=WINDOW)
    assert [t.name for t in plain.data] == ["Kenya", "Nigeria"]


def test_halos_of_one_severity_share_one_trace_and_an_alert_older_than_the_window_is_marked_at_its_start():
    df = two_countries(range(0, 360, 5))
    alerts = keyed_alerts(("critical", 2, 3, "Down on Lagos Link Nigeria (10.0.0.3)", "10.0.0.3", "Nigeria"),
                          ("critical", 4, None, "Down on Safari Voice Kenya (10.0.0.1)", "10.0.0.1", "Kenya"),
                          ("warning", -3, None, "Stale: Kenya (10.0.0.2)", "10.0.0.2", "Kenya"))
    fig = latency_figure(df, THRESHOLDS, group="country", bucket_seconds=300, gap_seconds=600, window=WINDOW,
                         alerts=alerts)
    traces = [t for t in fig.data if t.name == ALERT_TRACE and t.mode == "lines"]
    # Two severities: two traces (warning first, critical drawn on top), however many halos each holds.
    assert [t.line.color for t in traces] == [ALERT_COLORS["warning"], ALERT_COLORS["critical"]]
    assert [key for key, _, _ in halo_segments(traces[1])] == ["Kenya", "Nigeria"]
    assert traces[1].connectgaps is False and traces[1].hoverinfo == "skip"
    spans = {key: (pd.Timestamp(xs[0]), pd.Timestamp(xs[-1]), set(ys)) for key, xs, ys in halo_segments(traces[1])}
    assert spans["Nigeria"] == (T0 + pd.Timedelta(hours=2), T0 + pd.Timedelta(hours=3), {90.0})
    assert spans["Kenya"][:2] == (T0 + pd.Timedelta(hours=4), pd.Timestamp(WINDOW[1])) and spans["Kenya"][2] == {40.0}
    # Each alert's message is on a mark; the one open since before the window is marked at the window's start.
    (marks,) = [t for t in fig.data if t.name == ALERT_TRACE and t.mode == "markers"]
    texts = dict(zip(marks.text, map(pd.Timestamp, marks.x)))
    assert texts["warning: Stale: Kenya (10.0.0.2) (open since before this window)"] == pd.Timestamp(WINDOW[0])
    assert texts["critical: Down on Lagos Link Nigeria (10.0.0.3)"] == T0 + pd.Timedelta(hours=2)


def test_per_server_a_down_servers_missing_line_is_bridged_at_its_last_level():
    up = series(range(0, 360, 5), 40.0)
    down = series(range(0, 120, 5), 70.0).assign(key="s2", server_ip="10.0.0.2")  # nothing after 02:00
    alerts = keyed_alerts(("critical", 2, None, "Down on P (10.0.0.2)", "s2", "Kenya"))
    fig = latency_figure(pd.concat([up, down], ignore_index=True), THRESHOLDS, group="server", bucket_seconds=300,
                         gap_seconds=600, window=WINDOW, alerts=alerts)
    (halo,) = halos(fig)
    assert halo.meta == "s2" and halo.line.dash == "dot" and list(halo.y) == [70.0, 70.0]
    assert not alert_shapes(fig)


def test_an_alert_about_the_monitoring_host_still_shades_the_whole_chart():
    df = two_countries(range(0, 360, 5))
    host = keyed_alerts(("critical", 1, 2, "Monitoring host lost connectivity", None, None))
    fig = latency_figure(df, THRESHOLDS, group="country", bucket_seconds=300, gap_seconds=600, window=WINDOW,
                         alerts=host)
    assert len(vrects(fig, ALERT_COLORS["critical"])) == 1 and not halos(fig)
    # Warnings about the host keep to the ribbon: the whole height stays for critical ones.
    warned = latency_figure(df, THRESHOLDS, group="country", bucket_seconds=300, gap_seconds=600, window=WINDOW,
                            alerts=keyed_alerts(("warning", 0, None, "host warning", None, None)))
    assert not vrects(warned, ALERT_COLORS["warning"]) and [s.y0 for s in alert_shapes(warned)] == [RIBBON[0]]


def test_server_history_shades_every_row():
    fig = server_history_figure(series(range(0, 360, 5)), THRESHOLDS, bucket_seconds=300, gap_seconds=600,
                                limits={"max_packet_loss": 1, "max_jitter": 30}, window=WINDOW,
                                alerts=alerts_frame(("warning", 1, 2, "jitter")))
    spans = vrects(fig, ALERT_COLORS["warning"])
    assert sorted(s.yref for s in spans) == ["y domain", "y2 domain", "y3 domain"]
    assert fig.data[-1].name == "alerts" and fig.data[-1].yaxis == "y"


# -- the callbacks ------------------------------------------------------------------------------

def test_warnings_panel_callback_lists_the_alerts(alerted, ctx):  # noqa: F811 - ctx is the fixture
    items = overview_cb.overview_now("?range=24h")["alerts"]
    assert any("High latency on Safari Voice Kenya" in i["msg"] and not i["r"] for i in items)
    assert any(i["r"] for i in items)  # the day's resolved ones follow
    nigeria = overview_cb.overview_now("?country=Nigeria")["alerts"]
    assert nigeria and all(i["r"] for i in nigeria)  # nothing open there
    assert {i["p"] for i in nigeria if i["id"]} == {"Lagos Link"}  # and the host-wide ones (no server)


def test_cards_callback_shows_open_alerts(alerted, ctx):  # noqa: F811
    tiles = overview_cb.overview_now("?country=Kenya")["tiles"]
    assert {t["id"]: len(t["a"]) for t in tiles} == {"127.0.0.1": 1, "127.0.0.2": 1}


def test_latency_graph_marks_alerts_on_their_series_and_redraws_when_one_opens(config, writer, alerted, ctx):  # noqa: F811
    latency, *_, sig = graphs_cb.refresh_series("?range=24h", 0, "country", False, None)
    opened = alerted["times"]["latency"]
    kenya = [h for h in halos(latency) if h.meta == "Kenya" and h.line.color == ALERT_COLORS["critical"]]
    assert kenya and pd.Timestamp(kenya[0].x[0]) == pd.Timestamp(opened)
    # The host-wide connectivity alert (resolved) shades the whole chart; no server's alert does.
    assert [pd.Timestamp(s.x0) for s in vrects(latency, ALERT_COLORS["critical"])] == \
        [pd.Timestamp(alerted["times"]["connectivity"])]
    # A stale alert opens while no new row arrives: the graph must still redraw, with the new halo on Egypt.
    stale_since = alerted["now"] - timedelta(hours=3)
    assert not [h for h in halos(latency) if h.meta == "Egypt"]
    store_alert(writer, config, 3, "stale", "warning", 400.0, stale_since)
    latency, *_, new_sig = graphs_cb.refresh_series("?range=24h", 1, "country", False, sig)
    assert new_sig != sig
    egypt = [h for h in halos(latency) if h.meta == "Egypt"]
    assert len(egypt) == 1 and egypt[0].line.color == ALERT_COLORS["warning"]
    assert pd.Timestamp(egypt[0].x[0]) == pd.Timestamp(stale_since)


def test_server_history_callback_shades_that_servers_alerts(alerted, ctx):  # noqa: F811
    history, _, _ = server_cb.refresh_server_graphs("/server/127.0.0.2", "?range=24h", 0, False, None)
    starts = {iso_z(pd.Timestamp(s.x0).to_pydatetime()) for s in alert_shapes(history)}
    # Its own jitter alert and the host-wide connectivity alert; not server 127.0.0.1's latency alert.
    assert starts == {iso_z(alerted["times"]["jitter"]), iso_z(alerted["times"]["connectivity"])}
