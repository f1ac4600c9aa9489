"""Issue 14's wiring without a SIP peer: config errors, the sip_results table (upgrade, transaction, retention),
the SIP alert rules, probe "sip" servers, the --once column and the status verdict."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from collector.alerts import AlertEngine, rules_from_config
from collector.cli import format_report, sip_cell
from collector.measure import measure
from collector.probes.base import ProbeResult
from collector.probes.sip import SipRequestResult, SipRoundResult, SipTarget, summarise
from collector.rounds import RoundReport
from collector.service import Collector
from collector.sipcheck import SipChecker, as_probe_result, sip_row
from queries.sipstatus import sip_adjusted, sip_warning
from settings import ConfigError, SipSettings, validate_config
from storage import open_writer
from storage.retention import prune
from storage.migrations import UPGRADES, _upgrade_add_sip_results
from storage.schema import SCHEMA_VERSION, rounds, schema_info, sip_results

SIP_RESULTS_VERSION = 1 + next(v for v, step in UPGRADES.items() if step is _upgrade_add_sip_results)
from tests.conftest import make_config_dict

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 5, 1, 12, 0)


def sip_server(ip="192.0.2.10", **extra) -> dict:
    return {"partner": "P", "country": "C", "ip": ip, "dn_ext": "", **extra}


def result(status="up", code=200, ms=(12.0, 14.0), server_id="192.0.2.10", **extra) -> SipRoundResult:
    """A SIP round summarised from requests, as the probe would give it."""
    target = SipTarget(server_id, server_id)
    if code is None:
        requests = [SipRequestResult(failure="timeout", detail="no final response")] * 2
    else:
        requests = [SipRequestResult(code=code, reason="OK" if code == 200 else "Service Unavailable",
                                     response_ms=t, server_header="SBC") for t in ms]
    summary = summarise(target, requests, **extra)
    assert summary.status == status
    return summary


# --- config ----------------------------------------------------------------------------------------------

def test_sip_true_gets_every_default_and_sip_defaults_apply(tmp_path):
    config = validate_config(make_config_dict(tmp_path, sip_defaults={"transport": "tcp", "port": 5070}, servers=[
        sip_server(sip=True), sip_server("192.0.2.11", sip={"port": 5080}), sip_server("192.0.2.12"),
        sip_server("192.0.2.13", probe="sip")]))
    first, second, plain, only = config.servers
    assert first.sip == SipSettings(transport="tcp", port=5070, request_uri="sip:192.0.2.10:5070")
    assert (second.sip.transport, second.sip.port, second.sip.request_uri) == ("tcp", 5080, "sip:192.0.2.11:5080")
    assert plain.sip is None  # sip_defaults alone adds no check
    assert only.probe == "sip" and only.sip.port == 5070 and only.id == "192.0.2.13"


@pytest.mark.parametrize("change, expected", [
    ({"servers": [sip_server(sip={"transport": "sctp"})]}, 'servers[0].sip.transport: "sctp" is not one of'),
    ({"servers": [sip_server(dn_ext="a\r\nVia: x", sip=True)]}, "servers[0].dn_ext:"),
    ({"servers": [sip_server(sip={"request_uri": "sip:a@b?Route=x"})]}, "servers[0].sip.request_uri:"),
    ({"servers": [sip_server(sip=1)]}, "servers[0].sip: 1 must be true, false or an object"),
    ({"servers": [sip_server(probe="sip", sip=False)]}, 'servers[0].sip: false, but "probe": "sip"'),
    ({"sip_defaults": {"verfy": False}}, 'sip_defaults.verfy: unknown key (did you mean "verify"?)'),
    ({"alert_conditions": {"max_sip_response_ms": -1}}, "alert_conditions.max_sip_response_ms: -1 must be"),
    ({"servers": [sip_server(probe="sips")]}, 'servers[0].probe: "sips" is not one of auto, ping, fping, tcp, sip'),
])
def test_bad_sip_settings_name_their_key_path(tmp_path, change, expected):
    with pytest.raises(ConfigError) as raised:
        validate_config(make_config_dict(tmp_path, **change))
    assert expected in str(raised.value)


def test_the_cli_exits_2_on_a_bad_sip_setting_and_writes_nothing(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(make_config_dict(tmp_path, servers=[sip_server(sip={"port": 0})])))
    run = subprocess.run([sys.executable, "pinger.py", "--once", "--config", str(path)], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.splitlines() == ["config error: servers[0].sip.port: 0 must be a whole number from 1 to 65535"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


# --- storage ---------------------------------------------------------------------------------------------

def test_the_version_before_is_upgraded_with_sip_results(tmp_path):
    writer = open_writer(f"sqlite:///{tmp_path / 'old.db'}")
    with writer.engine.begin() as conn:  # back to the version before sip_results: what was stored before issue 14
        conn.execute(text("DROP TABLE sip_results"))
        conn.execute(text(f"UPDATE schema_info SET version = {SIP_RESULTS_VERSION - 1}"))
    writer.engine.dispose()
    writer = open_writer(f"sqlite:///{tmp_path / 'old.db'}")
    with writer.engine.connect() as conn:
        assert conn.execute(select(schema_info.c.version)).scalar_one() == SCHEMA_VERSION
        indexes = {i["name"] for i in inspect(conn).get_indexes("sip_results")}
    assert {"ix_sip_results_server_time", "ix_sip_results_round"} <= indexes
    writer.engine.dispose()


def test_sip_rows_share_the_round_and_its_transaction(writer):
    network = measure(ProbeResult(2, 2, [1.0, 2.0]), {"excellent": 50, "good": 100, "fair": 150, "poor": 300,
                                                      "critical": 500}).as_row()
    row = dict(network, server_id="192.0.2.10", server_ip="192.0.2.10", country="C", partner="P", dn_ext="",
               probe="fping", timestamp=T0, concerns=None)
    round_id = writer.write_round("lab", T0, T0, [row], [sip_row(result(), T0)])
    with writer.engine.connect() as conn:
        stored = conn.execute(select(sip_results)).mappings().one()
    assert (stored["round_id"], stored["server_id"], stored["timestamp"]) == (round_id, "192.0.2.10", T0)
    assert (stored["status"], stored["code"], stored["response_avg_ms"], stored["collector"]) == ("up", 200, 13.0, "lab")
    # A SIP row that cannot be stored takes the whole round with it.
    with pytest.raises(Exception):
        writer.write_round("lab", T0, T0, [row], [{"server_id": None, "timestamp": T0}])
    with writer.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(rounds)).scalar_one() == 1


def test_retention_deletes_old_sip_rows_and_then_their_rounds(writer):
    now = datetime(2026, 6, 1)
    for age_days in (100, 1):
        at = now - timedelta(days=age_days)
        writer.write_round("lab", at, at, [], [sip_row(result(), at)])
    deleted = prune(writer, {"raw_days": 90}, now)
    assert deleted["sip_results"] == 1 and deleted["rounds"] == 1
    with writer.engine.connect() as conn:
        assert conn.execute(select(sip_results.c.timestamp)).scalars().all() == [now - timedelta(days=1)]


# --- collector -------------------------------------------------------------------------------------------

class FakeSipProbe:
    """Stands in for SipProbe: a fixed result per server id (tests of the wiring, not of the wire)."""

    def __init__(self, results: dict):
        self.results, self.seen = results, []

    def run(self, targets):
        self.seen.append([t.server_id for t in targets])
        return {t.server_id: self.results[t.server_id] for t in targets if t.server_id in self.results}


class NoNetwork:
    name = "fake"

    def __init__(self):
        self.seen = []

    def run(self, targets):
        self.seen += [t.server_id for t in targets]
        return {t.server_id: ProbeResult(2, 2, [5.0, 6.0]) for t in targets}


def test_probe_sip_servers_get_sip_only_and_a_network_shaped_row(tmp_path, writer):
    config = validate_config(make_config_dict(tmp_path, servers=[
        sip_server("192.0.2.10", sip=True), sip_server("192.0.2.11", probe="sip"), sip_server("192.0.2.12")]))
    fake = FakeSipProbe({"192.0.2.10": result(), "192.0.2.11": result("down", 503, server_id="192.0.2.11")})
    network = NoNetwork()
    collector = Collector(config, writer, probe_factory=lambda kind: network, auto_kind="ping",
                          sip_checker=SipChecker(lambda cfg: fake))
    report = collector.run_round()
    assert fake.seen == [["192.0.2.10", "192.0.2.11"]]
    assert network.seen == ["192.0.2.10", "192.0.2.12"]  # the probe: "sip" server skips the network probe
    with writer.engine.connect() as conn:
        probes = dict(conn.execute(text("SELECT server_id, probe FROM ping_results")).all())
        sip_ids = conn.execute(text("SELECT server_id FROM sip_results ORDER BY id")).scalars().all()
    assert probes == {"192.0.2.10": "ping", "192.0.2.11": "sip", "192.0.2.12": "ping"}
    assert sip_ids == ["192.0.2.10", "192.0.2.11"]
    only = dict((s.id, m) for s, m in report.results)["192.0.2.11"]
    # Its SIP check is down (503), so its row is a failed probe: down like an unreachable host.
    assert not only.success and only.avg_time is None and only.error == "503 Service Unavailable"
    lines = format_report(report).splitlines()
    assert "SIP" in lines[0]
    assert "up 200 13.0ms" in lines[2] and "down 503 13.0ms" in lines[3] and " - " in lines[4]


def test_a_sip_probe_that_raises_fails_only_its_servers(tmp_path, writer):
    class Broken:
        def run(self, targets):
            raise RuntimeError("no sockets left")

    config = validate_config(make_config_dict(tmp_path, servers=[sip_server(sip=True), sip_server("192.0.2.12")]))
    collector = Collector(config, writer, probe_factory=lambda kind: NoNetwork(), auto_kind="ping",
                          sip_checker=SipChecker(lambda cfg: Broken()))
    report = collector.run_round()
    assert report.round_id is not None and all(m.success for _, m in report.results)
    sip = report.sip["192.0.2.10"]
    assert (sip.status, sip.failure, sip.detail) == ("down", "error", "sip probe failed: no sockets left")


def test_as_probe_result_counts_requests_as_packets():
    converted = as_probe_result(result("down", None))
    assert (converted.transmitted, converted.received, converted.samples_ms) == (2, 0, [None, None])
    assert converted.error == "no final response"


def test_sip_cell_texts():
    assert sip_cell(None) == "-"
    assert sip_cell(result()) == "up 200 13.0ms"
    assert sip_cell(result("down", None)) == "down timeout"


# --- alerts ----------------------------------------------------------------------------------------------

def alert_engine(tmp_path, **limits):
    config = validate_config(make_config_dict(tmp_path, servers=[sip_server(sip=True)],
                                              alert_conditions={"rounds_to_open": 1, "rounds_to_resolve": 1,
                                                                **limits}))
    return config, AlertEngine(rules_from_config(config), 1, 1)


def run(engine, config, sip, at):
    server = config.servers[0]
    return engine.evaluate({server.id: (server, measure(ProbeResult(2, 2, [5.0, 6.0]), config.thresholds))}, at,
                           sip={server.id: sip} if sip else None)


def test_sip_slow_opens_above_max_sip_response_ms_and_resolves(tmp_path):
    config, engine = alert_engine(tmp_path, max_sip_response_ms=100)
    opened = run(engine, config, result(ms=(150.0, 170.0)), T0)
    assert [(e.kind, e.action, e.severity, e.value) for e in opened] == [("sip_slow", "open", "warning", 160.0)]
    assert opened[0].message == ("Slow SIP response on P C (192.0.2.10): 160.0 ms (warning: above 100.0 ms); 200 OK")
    assert [(e.kind, e.action) for e in run(engine, config, result(), T0 + timedelta(minutes=1))] == [
        ("sip_slow", "resolve")]


def test_tls_certificate_warns_under_14_days_and_is_critical_under_3(tmp_path):
    config, engine = alert_engine(tmp_path)
    events = run(engine, config, result(tls_days_left=10.0), T0)
    assert [(e.kind, e.action, e.severity) for e in events] == [("tls_certificate", "open", "warning")]
    events = run(engine, config, result(tls_days_left=2.5), T0 + timedelta(minutes=1))
    assert [(e.kind, e.action, e.severity) for e in events] == [("tls_certificate", "escalate", "critical")]
    assert "certificate expires in 2.5 days" in events[0].message
    assert run(engine, config, result(tls_days_left=None), T0 + timedelta(minutes=2)) == []  # no TLS, no verdict


def test_sip_down_is_critical_and_maintenance_a_warning(tmp_path):
    config, engine = alert_engine(tmp_path)
    events = run(engine, config, result("down", None), T0)
    assert [(e.kind, e.severity) for e in events] == [("sip_down", "critical")]
    assert events[0].message.endswith("SIP down; timeout: no final response")


def test_no_sip_rules_without_a_sip_check(tmp_path):
    config = validate_config(make_config_dict(tmp_path))
    assert not {"sip_down", "sip_slow", "tls_certificate"} & {r.kind for r in rules_from_config(config)}


# --- status ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("status, row, expected", [
    ("up", {"sip_status": "down", "success": True}, "down"),
    ("degraded", {"sip_status": "down", "success": True}, "down"),
    ("up", {"sip_status": "maintenance", "success": True}, "degraded"),
    ("up", {"sip_status": "up", "success": True}, "up"),
    ("up", {"sip_status": None}, "up"),
    ("stale", {"sip_status": "down"}, "stale"),
])
def test_sip_adjusts_the_status(status, row, expected):
    assert sip_adjusted(status, row) == expected


def test_the_warning_says_down_for_calls_when_the_network_answers():
    row = {"sip_status": "down", "success": True, "probe": "fping", "sip_detail": "503 Service Unavailable"}
    assert sip_warning(row) == "down for calls: the network answers but SIP is down (503 Service Unavailable)"
    assert sip_warning(dict(row, success=False)) == "SIP down (503 Service Unavailable)"
    assert sip_warning({"sip_status": "up"}) is None
