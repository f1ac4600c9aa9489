"""Several collectors (vantage points) writing one database: figures kept apart, status merged, heartbeats listed."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from collector.probes.base import ProbeResult
from collector.service import Collector
from collector.spool import Spool
from queries.filters import Filters
from queries.pingdata import ping_series
from queries.status import merged_status, server_status
from settings import validate_config
from storage.schema import collectors as collectors_table
from storage.schema import ping_rollups, rounds, server_latest
from common.timeutil import utcnow
from tests.conftest import make_config_dict
from tests.helpers.fakes import FakeFactory, replies
from tests.seeding import seed_history

DOWN = ProbeResult(transmitted=4, received=0, samples_ms=[])


def vantage(config, writer, tmp_path, name: str, rtt: float, location: str | None = None) -> Collector:
    """A real collector named `name` whose fake probes answer every server in rtt ms."""
    cfg = validate_config(dict(config.raw, collector_location=location or name.title()), source=config.source)
    factory = FakeFactory()
    factory.results = {s.id: replies(rtt) for s in cfg.servers}
    return Collector(cfg, writer, probe_factory=factory, auto_kind="ping", name=name,
                     spool=Spool(str(tmp_path / f"spool-{name}.db")))


def test_two_collectors_keep_separate_figures(config, writer, engine, tmp_path):
    nairobi, london = vantage(config, writer, tmp_path, "nairobi", 20.0), vantage(config, writer, tmp_path, "london", 200.0)
    for _ in range(3):
        nairobi.run_round(), london.run_round()
    window = Filters(start=utcnow() - timedelta(hours=1), end=utcnow() + timedelta(minutes=1))
    for name, rtt in (("nairobi", 20.0), ("london", 200.0)):
        for bucket in (300, 3600, 60):  # per-server rollups, country rollups... and the raw rows
            for group in ("server", "country"):
                series = ping_series(engine, Filters(**{**window.__dict__, "collectors": (name,)}), group, bucket)
                assert not series.empty and set(series["latency_ms"].round(3)) == {rtt}, (name, bucket, group)
    both = ping_series(engine, window, "server", 300)
    assert set(both["latency_ms"].round(3)) == {110.0}  # the selected vantage points summed exactly, never blended in storage
    with engine.connect() as conn:
        per_collector = dict(conn.execute(select(ping_rollups.c.collector, func.sum(ping_rollups.c.rounds))
                                          .where(ping_rollups.c.resolution_seconds == 300)
                                          .group_by(ping_rollups.c.collector)).all())
        assert per_collector == {"nairobi": 3 * len(config.servers), "london": 3 * len(config.servers)}
        assert conn.execute(select(func.count()).select_from(server_latest)).scalar() == 2 * len(config.servers)
        beats = {r["name"]: r for r in conn.execute(select(collectors_table)).mappings()}
    assert beats["nairobi"]["location"] == "Nairobi" and beats["london"]["servers_probed"] == len(config.servers)
    assert beats["nairobi"]["last_round_at"] is not None and beats["nairobi"]["rounds_waiting"] == 0


def test_merged_status_is_down_only_when_every_vantage_point_sees_it_down(config, writer, engine, tmp_path):
    nairobi, london = vantage(config, writer, tmp_path, "nairobi", 20.0), vantage(config, writer, tmp_path, "london", 20.0)
    first, second = config.servers[0].id, config.servers[1].id
    nairobi.prober.probe_factory.results.update({first: DOWN, second: DOWN})
    london.prober.probe_factory.results[second] = DOWN
    nairobi.run_round(), london.run_round()
    status = server_status(engine, config).set_index("server_id")
    assert status.loc[first, "status"] == "partial" and status.loc[first, "down_from"] == ["nairobi"]
    assert status.loc[second, "status"] == "down"
    assert status.loc[config.servers[2].id, "status"] == "up"
    views = {v["collector"]: v["status"] for v in status.loc[first, "vantage_points"]}
    assert views == {"nairobi": "down", "london": "up"}
    # One vantage point asked for: its own view, no merging.
    only_london = server_status(engine, config, collectors=("london",)).set_index("server_id")
    assert only_london.loc[first, "status"] == "up" and only_london.loc[second, "status"] == "down"


def test_merge_rule():
    assert merged_status([{"status": "down"}, {"status": "down"}]) == "down"
    assert merged_status([{"status": "down"}, {"status": "up"}]) == "partial"
    assert merged_status([{"status": "degraded"}, {"status": "up"}]) == "degraded"
    # A collector that stopped reporting (stale) is not one that "measured it recently".
    assert merged_status([{"status": "down"}, {"status": "stale"}]) == "down"
    assert merged_status([{"status": "stale"}]) is None


def test_routes_filter_by_collector(config, writer, client, tmp_path):
    nairobi, london = vantage(config, writer, tmp_path, "nairobi", 20.0), vantage(config, writer, tmp_path, "london", 200.0)
    nairobi.run_round(), london.run_round()
    listed = client.get("/api/collectors").get_json()["collectors"]
    assert [(c["name"], c["status"], c["location"]) for c in listed] == [("london", "up", "London"),
                                                                         ("nairobi", "up", "Nairobi")]
    one = client.get("/api/servers/status?collector=london").get_json()["servers"][0]
    assert one["latency_ms"] == 200.0 and [v["collector"] for v in one["vantage_points"]] == ["london"]
    every = client.get("/api/servers/status").get_json()["servers"][0]
    assert sorted(v["collector"] for v in every["vantage_points"]) == ["london", "nairobi"]
    export = client.get("/api/export-data?format=csv&range=1h&collector=nairobi").get_data(as_text=True)
    assert "nairobi" in export and "london" not in export


def test_a_round_sent_twice_is_stored_once(config, writer, engine):
    at = utcnow()
    first = writer.write_round("nairobi", at, at, [], uid="nairobi:abc")
    again = writer.write_round("nairobi", at, at, [], uid="nairobi:abc")
    assert first == again
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rounds).where(rounds.c.uid == "nairobi:abc")).scalar() == 1


# -- alerts across vantage points -------------------------------------------------------------------------------

def at_time(collector: Collector, when):
    """Make the collector's clock read `when` (rounds, heartbeats and alerts are stamped with it)."""
    collector.now = collector.store.now = collector.alerts.now = lambda: when
    return collector


def open_alerts(engine) -> list[dict]:
    from storage.schema import alerts
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(alerts).where(alerts.c.state == "open")).mappings()]


def test_killing_one_collector_gives_one_collector_stale_alert_and_nothing_else(config, writer, engine, tmp_path):
    from runtime.stale import StaleWatcher
    t0 = utcnow()
    nairobi = at_time(vantage(config, writer, tmp_path, "nairobi", 20.0), t0)
    london = at_time(vantage(config, writer, tmp_path, "london", 30.0), t0)
    nairobi.run_round(), london.run_round()
    later = t0 + timedelta(seconds=config.stale_after_seconds + 100)
    at_time(london, later).run_round()  # nairobi was killed after its first round
    watcher = StaleWatcher(config, writer, engine, now=lambda: later + timedelta(seconds=10))
    watcher.check_once()
    watcher.check_once()  # a second check opens nothing more
    found = open_alerts(engine)
    assert [(a["kind"], a["collector"], a["server_id"]) for a in found] == [("collector_stale", "nairobi", None)]
    assert "Collector nairobi (Nairobi) stopped reporting" in found[0]["message"]
    # It reports again: the alert resolves.
    at_time(nairobi, later + timedelta(seconds=5)).run_round()
    watcher.check_once()
    assert open_alerts(engine) == []


def test_every_collector_silent_gives_collector_alerts_not_server_alerts(config, writer, engine, tmp_path):
    from runtime.stale import StaleWatcher
    t0 = utcnow()
    at_time(vantage(config, writer, tmp_path, "nairobi", 20.0), t0).run_round()
    watcher = StaleWatcher(config, writer, engine,
                           now=lambda: t0 + timedelta(seconds=config.stale_after_seconds + 60))
    watcher.check_once()
    assert [a["kind"] for a in open_alerts(engine)] == ["collector_stale"]


def test_one_merged_alert_per_server_names_the_vantage_points(config, writer, engine, tmp_path):
    from runtime.stale import StaleWatcher
    nairobi = vantage(config, writer, tmp_path, "nairobi", 20.0, location="Nairobi DC1")
    london = vantage(config, writer, tmp_path, "london", 20.0, location="London")
    first, second = config.servers[0].id, config.servers[1].id
    nairobi.prober.probe_factory.results.update({first: DOWN, second: DOWN})
    london.prober.probe_factory.results[second] = DOWN
    nairobi.run_round(), london.run_round()
    StaleWatcher(config, writer, engine).check_once()
    merged = {a["server_id"]: a for a in open_alerts(engine) if a["kind"] == "vantage"}
    assert set(merged) == {first, second}
    assert merged[first]["message"].endswith("is down from Nairobi DC1 only") and merged[first]["severity"] == "warning"
    assert merged[second]["message"].endswith("is down from all 2 vantage points")
    assert merged[second]["severity"] == "critical"
    # London recovers the second server, Nairobi the first: the first's merged alert resolves.
    nairobi.prober.probe_factory.results[first] = replies(20.0)
    nairobi.run_round(), london.run_round()
    StaleWatcher(config, writer, engine).check_once()
    assert {a["server_id"] for a in open_alerts(engine) if a["kind"] == "vantage"} == {second}


def test_metrics_label_each_vantage_point(config, writer, client, tmp_path):
    vantage(config, writer, tmp_path, "nairobi", 20.0).run_round()
    vantage(config, writer, tmp_path, "london", 200.0).run_round()
    text = client.get("/metrics").get_data(as_text=True)
    sid = config.servers[0].id
    lines = [l for l in text.splitlines() if l.startswith("latency_monitor_server_vantage_latency_seconds{")
             and f'server="{sid}"' in l]
    values = sorted(float(l.rsplit(" ", 1)[1]) for l in lines)
    assert values == [0.02, 0.2]


def test_the_dashboard_url_keeps_the_vantage_points_when_a_filter_changes():
    from callbacks.shell import CONTROL_KEYS, sync_from_controls
    from callbacks.urlstate import controls_from_query
    values = dict(controls_from_query("?collector=nairobi&collector=london&range=24h"), range="7d")
    out = sync_from_controls("?collector=nairobi&collector=london&range=24h",
                             {k: values[k] for k in CONTROL_KEYS}, utcnow())
    assert out["search"] == "?collector=nairobi&collector=london&range=7d"
    assert controls_from_query(out["search"])["collectors"] == ["nairobi", "london"]


# -- availability (SLA) and incidents per vantage point ------------------------------------------------------------

SLA_END = datetime(2026, 11, 2, 10, 59)  # 60 one-minute rounds, 10:00 .. 10:59
SLA_WINDOW = "range=custom&start=2026-11-02T10:00:00Z&end=2026-11-02T11:00:00Z"


def down_during(first: int, stop: int):
    """A seed profile: server 0 down in rounds [first, stop), everything else up at 20 ms."""
    def profile(server_index: int, round_index: int, count: int = 4) -> ProbeResult:
        if server_index == 0 and first <= round_index < stop:
            return ProbeResult(transmitted=count, received=0)
        return ProbeResult(transmitted=count, received=count, samples_ms=[20.0] * count)
    return profile


@pytest.fixture
def two_views(config, writer):
    """Nairobi sees server 0 down 10:10-10:20 (10 rounds), London 10:17-10:21 (4 rounds): 3 minutes overlap."""
    seed_history(writer, config, SLA_END, 60, 60, down_during(10, 20), collector="nairobi")
    seed_history(writer, config, SLA_END, 60, 60, down_during(17, 21), collector="london")
    return config.servers[0].id


def sla_of(client, query: str) -> dict:
    """/api/sla rows by key."""
    body = client.get(f"/api/sla?group=server&{SLA_WINDOW}{query}")
    assert body.status_code == 200, body.get_data(as_text=True)
    return {r["key"]: r for r in body.get_json()["rows"]}


def test_sla_is_kept_per_vantage_point_and_merged_by_overlap(config, two_views, client):
    sid = two_views
    # Each vantage point's own figures: 10 and 4 minutes down of 60 measured.
    nairobi, london = sla_of(client, "&collector=nairobi")[sid], sla_of(client, "&collector=london")[sid]
    assert (nairobi["down_seconds"], nairobi["up_seconds"], nairobi["incidents"]) == (600, 3000, 1)
    assert (london["down_seconds"], london["up_seconds"], london["incidents"]) == (240, 3360, 1)
    # Merged (the default, and both named): down only while both saw it down, 10:17-10:20.
    for query in ("", "&collector=nairobi&collector=london"):
        merged = sla_of(client, query)[sid]
        assert (merged["down_seconds"], merged["up_seconds"], merged["incidents"]) == (180, 3420, 1), query
        assert merged["availability_percent"] == 95.0 and merged["longest_incident_seconds"] == 180
    # A server no one saw down: 60 minutes up, merged or not.
    assert sla_of(client, "")[config.servers[1].id]["up_seconds"] == 3600


def test_incidents_are_kept_per_vantage_point_and_merged_by_overlap(two_views, client):
    sid = two_views

    def incidents(query: str) -> list[tuple]:
        got = client.get(f"/api/incidents?{SLA_WINDOW}&server={sid}{query}").get_json()["incidents"]
        return [(i["collector"], i["started_at"], i["ended_at"], i["duration_seconds"], i["down_rounds"])
                for i in got]

    assert incidents("&collector=nairobi") == [("nairobi", "2026-11-02T10:10:00Z", "2026-11-02T10:20:00Z", 600, 10)]
    assert incidents("&collector=london") == [("london", "2026-11-02T10:17:00Z", "2026-11-02T10:21:00Z", 240, 4)]
    assert incidents("") == [(None, "2026-11-02T10:17:00Z", "2026-11-02T10:20:00Z", 180, None)]
    merged = client.get(f"/api/incidents?{SLA_WINDOW}&server={sid}").get_json()["incidents"][0]
    assert merged["cause"] == "down from all 2 vantage points" and merged["id"] is None


def test_stored_incidents_and_availability_carry_their_collector(two_views, engine):
    from storage.schema import availability_rollups, incidents
    with engine.connect() as conn:
        spans = sorted(conn.execute(select(incidents.c.collector, incidents.c.down_rounds)).all())
        down = dict(conn.execute(select(availability_rollups.c.collector, func.sum(availability_rollups.c.down_rounds))
                                 .where(availability_rollups.c.resolution_seconds == 3600)
                                 .group_by(availability_rollups.c.collector)).all())
    assert spans == [("london", 4), ("nairobi", 10)] and down == {"london": 4, "nairobi": 10}


def test_one_collector_alone_sees_its_own_figures_as_before(config, writer, client):
    seed_history(writer, config, SLA_END, 60, 60, down_during(10, 20), collector="nairobi")
    row = sla_of(client, "")[config.servers[0].id]
    assert (row["down_seconds"], row["incidents"], row["mttr_seconds"]) == (600, 1, 600)
    got = client.get(f"/api/incidents?{SLA_WINDOW}").get_json()["incidents"]
    assert [(i["collector"], i["down_rounds"], i["id"] is not None) for i in got] == [("nairobi", 10, True)]


# -- the SIP check per vantage point ----------------------------------------------------------------------------

def sip_rounds(config, writer, at, collector: str, sip_down: set[str]) -> None:
    """One round of `collector`: every server answers ping; the SIP check of the servers in sip_down times out."""
    from collector.probes.sip import SipRequestResult, SipTarget, summarise
    from collector.sipcheck import sip_row
    from tests.seeding import sip_round
    ping, _ = sip_round(config, 1, at)
    sip = []
    for s in config.servers:
        requests = ([SipRequestResult(failure="timeout", detail="no final response")] * 3 if s.id in sip_down
                    else [SipRequestResult(code=200, reason="OK", response_ms=12.0)] * 3)
        sip.append(sip_row(summarise(SipTarget(s.id, s.id), requests), at))
    writer.write_round(collector, at, at, ping, sip_rows=sip)


def test_the_sip_badge_is_merged_over_the_vantage_points(config, writer, engine, client):
    from layouts.status import sip_data
    cfg = validate_config(dict(config.raw, servers=[dict(s, sip=True) for s in config.raw["servers"]]),
                          source=config.source)
    first, second = cfg.servers[0].id, cfg.servers[1].id
    now = utcnow()
    sip_rounds(cfg, writer, now - timedelta(seconds=20), "nairobi", {first, second})
    sip_rounds(cfg, writer, now - timedelta(seconds=5), "london", {second})  # newer, and SIP up for the first
    status = server_status(engine, cfg).set_index("server_id")
    row = status.loc[first]
    # Not the newest check from any collector (london's "up"): down from nairobi only is partial, like the network.
    assert row["sip_status"] == "partial" and row["status"] == "partial" and row["sip_failure"] == "timeout"
    assert {v["collector"]: (v["status"], v["sip_status"]) for v in row["vantage_points"]} == {
        "nairobi": ("down", "down"), "london": ("up", "up")}
    assert sip_data(row.to_dict())[0] == "partial"
    assert status.loc[second, "sip_status"] == "down" and status.loc[second, "status"] == "down"
    assert status.loc[second, "down_for_calls"]
    assert status.loc[cfg.servers[2].id, "sip_status"] == "up" and status.loc[cfg.servers[2].id, "status"] == "up"
    # One vantage point asked for: its own SIP check.
    london = server_status(engine, cfg, collectors=("london",)).set_index("server_id")
    assert london.loc[first, "sip_status"] == "up" and london.loc[first, "status"] == "up"
    nairobi = server_status(engine, cfg, collectors=("nairobi",)).set_index("server_id")
    assert nairobi.loc[first, "sip_status"] == "down" and nairobi.loc[first, "status"] == "down"
    assert nairobi.loc[first, "down_for_calls"]


def test_one_collector_sip_badge_is_its_latest_check(config, writer, engine):
    cfg = validate_config(dict(config.raw, servers=[dict(s, sip=True) for s in config.raw["servers"]]),
                          source=config.source)
    first = cfg.servers[0].id
    sip_rounds(cfg, writer, utcnow() - timedelta(seconds=70), "nairobi", {first})
    sip_rounds(cfg, writer, utcnow() - timedelta(seconds=10), "nairobi", set())
    row = server_status(engine, cfg).set_index("server_id").loc[first]
    assert row["sip_status"] == "up" and row["status"] == "up" and row["sip_response_avg_ms"] == 12.0
