"""Issue 14 end to end, as a new user tries it: servers with "sip": true against real SIP peers on loopback.

Kamailio answers OPTIONS after exactly 80 ms (SIPp's own pause fires late, see tests/sipp.py); SIPp UAS
processes answer 503 and 404; one address has nothing listening; one server is probe "sip" (SIP only).
All peers listen on one port (sip_defaults.port) on their own loopback address, so each server's entry
is just "sip": true. `python pinger.py --once` runs the round; the app then reads what it stored.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from api.openapi import response_validator
from queries.alerts import list_alerts
from collector.service import Collector
from settings import validate_config
from storage import open_writer
from tests.conftest import make_config_dict
from tests.sipp import KamailioPeer, SippUas, kamailio_available, port_is_free, sipp_available, uas_scenario

pytestmark = pytest.mark.skipif(not (sipp_available() and kamailio_available()),
                                reason="sipp (sip-tester) and kamailio with its tls module are needed")

REPO = Path(__file__).resolve().parents[2]
PAUSE_MS = 80
PAUSED, UNAVAILABLE, NOT_FOUND, CLOSED, SIP_ONLY = "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
SIP_CELL = re.compile(r"\s(up|down|maintenance) (\S+)(?: ([\d.]+)ms)?\s")


# The machine these tests run on is shared (2 cores, load average 10-12 while other suites run): one of four
# requests now and then waits ~5 ms for a CPU, in Kamailio or here. The fastest request of a round always
# meets issue 14's bound (checked on the stored response_min_ms); a round's mean gets this much slack on top.
SCHEDULING_SLACK_MS = 8.0


def within_issue_bound(measured_ms: float, expected_ms: float, slack_ms: float = 0.0) -> bool:
    """Issue 14's accuracy bound: within 3 ms + 3 % of the expected time (plus slack_ms)."""
    return abs(measured_ms - expected_ms) <= 3.0 + 0.03 * expected_ms + slack_ms


def mean_ok(measured_ms: float) -> bool:
    """A round's mean response time against the pause, with the scheduling slack."""
    return within_issue_bound(measured_ms, PAUSE_MS, SCHEDULING_SLACK_MS)


def server(ip: str, partner: str, **extra) -> dict:
    return {"partner": partner, "country": "Lab", "ip": ip, "dn_ext": "", "sip": True, **extra}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The peers, the config file, and the output of one `pinger.py --once` round over them."""
    tmp = tmp_path_factory.mktemp("sip-e2e")
    peers = []
    try:
        kamailio = KamailioPeer(tmp / "kamailio", pause_ms=PAUSE_MS, host=PAUSED).start()
        peers.append(kamailio)
        port = kamailio.port
        for ip in (UNAVAILABLE, NOT_FOUND, CLOSED, SIP_ONLY):
            assert port_is_free(port, ip), f"port {port} is taken on {ip}"
        peers.append(SippUas(uas_scenario(503, "Service Unavailable"), host=UNAVAILABLE, port=port).start())
        peers.append(SippUas(uas_scenario(404, "Not Found"), host=NOT_FOUND, port=port).start())
        peers.append(SippUas(uas_scenario(200, "OK"), host=SIP_ONLY, port=port).start())
        data = make_config_dict(tmp, ping_count=4, ping_timeout=1, sip_defaults={"port": port}, servers=[
            server(PAUSED, "Paused"), server(UNAVAILABLE, "Unavailable"), server(NOT_FOUND, "Not found"),
            server(CLOSED, "Closed"), server(SIP_ONLY, "Sip only", probe="sip")])
        path = tmp / "config.json"
        path.write_text(json.dumps(data))
        run = subprocess.run([sys.executable, "pinger.py", "--once", "--config", str(path)], cwd=REPO,
                             capture_output=True, text=True, timeout=60)
        yield {"path": path, "data": data, "run": run, "port": port, "tmp": tmp}
    finally:
        for peer in peers:
            peer.stop()


def sip_cells(stdout: str) -> dict[str, tuple]:
    """server id -> (status, code or failure, response ms or None) from the --once table."""
    cells = {}
    for line in stdout.splitlines():
        for ip in (PAUSED, UNAVAILABLE, NOT_FOUND, CLOSED, SIP_ONLY):
            if f" {ip} " in line:
                status, code, ms = SIP_CELL.search(line).groups()
                cells[ip] = (status, code, None if ms is None else float(ms))
    return cells


def test_once_prints_each_servers_sip_status_code_and_response_time(lab):
    run = lab["run"]
    assert run.returncode == 0, run.stderr
    assert "SIP" in run.stdout.splitlines()[0]
    cells = sip_cells(run.stdout)
    status, code, ms = cells[PAUSED]
    assert (status, code) == ("up", "200") and mean_ok(ms), cells[PAUSED]
    assert cells[UNAVAILABLE][:2] == ("down", "503")
    assert cells[NOT_FOUND][:2] == ("up", "404")  # the stack answers: how SBCs greet a stranger
    assert cells[CLOSED] == ("down", "refused", None)  # ICMP port unreachable on the shared UDP socket
    assert cells[SIP_ONLY][:2] == ("up", "200")


@pytest.fixture(scope="module")
def client(lab):
    """The app (no collector) on the database the --once round wrote."""
    from app import create_app
    config = validate_config(lab["data"], source=str(lab["path"]))
    writer = open_writer(config.database_target())
    dash_app = create_app(config, start_collector=False, writer=writer)
    yield dash_app.server.test_client()
    dash_app.close()
    writer.engine.dispose()


def test_status_shows_a_server_that_pings_but_answers_503_as_down_for_calls(client):
    response = client.get("/api/servers/status")
    body = response.get_json()
    response_validator("/api/servers/status", 200).validate(body)
    servers = {s["id"]: s for s in body["servers"]}
    unavailable = servers[UNAVAILABLE]
    assert unavailable["latency_ms"] is not None and unavailable["loss_pct"] == 0  # the network path is fine
    assert unavailable["status"] == "down" and unavailable["down_for_calls"] is True
    assert any(w.startswith("down for calls") for w in unavailable["warnings"])
    sip = unavailable["sip"]
    assert (sip["status"], sip["code"], sip["reason"], sip["transport"]) == ("down", 503, "Service Unavailable", "udp")
    assert sip["server_header"] == "SIPp UAS" and sip["checked_at"] == unavailable["last_check"]
    paused = servers[PAUSED]
    assert paused["status"] == "up" and paused["down_for_calls"] is False
    assert paused["sip"]["code"] == 200 and mean_ok(paused["sip"]["response_ms"])
    assert paused["sip"]["tls_days_left"] is None
    assert servers[NOT_FOUND]["status"] == "up" and servers[NOT_FOUND]["sip"]["code"] == 404
    closed = servers[CLOSED]
    # The address pings (it is loopback) but no SIP stack listens: down for calls too.
    assert closed["status"] == "down" and closed["down_for_calls"] is True
    assert closed["sip"]["failure"] == "refused" and closed["sip"]["code"] is None
    assert servers[SIP_ONLY]["status"] == "up" and servers[SIP_ONLY]["sip"]["status"] == "up"


def test_the_card_says_down_for_calls(client):
    from layouts.sip import sip_badge_text
    from queries.status import server_status
    from runtime import get_runtime
    with client.application.app_context():
        rt = get_runtime()
        frame = server_status(rt.read_engine, rt.config)
    rows = {r["server_id"]: r for r in frame.astype(object).where(frame.notna(), None).to_dict("records")}
    assert sip_badge_text(rows[UNAVAILABLE]).startswith("down for calls · SIP 503")
    assert sip_badge_text(rows[PAUSED]).startswith("SIP up 200 · ")
    assert sip_badge_text(dict(rows[PAUSED], sip_verify=False)).endswith(" · verify off")


def metric(text: str, name: str, server_id: str) -> float:
    """The value of one per-server sample in a Prometheus exposition."""
    found = re.search(rf'^{name}{{[^}}]*server="{re.escape(server_id)}"[^}}]*}} (\S+)$', text, flags=re.MULTILINE)
    assert found, f"no {name} for {server_id}"
    return float(found.group(1))


def test_metrics_carry_the_sip_gauges(client):
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "latency_monitor_sip_up", PAUSED) == 1.0
    assert metric(text, "latency_monitor_sip_up", UNAVAILABLE) == 0.0
    assert metric(text, "latency_monitor_sip_status_code", UNAVAILABLE) == 503.0
    assert metric(text, "latency_monitor_sip_status_code", NOT_FOUND) == 404.0
    assert mean_ok(metric(text, "latency_monitor_sip_response_seconds", PAUSED) * 1000)
    assert metric(text, "latency_monitor_sip_up", CLOSED) == 0.0
    assert not re.search(rf'^latency_monitor_sip_status_code{{[^}}]*server="{CLOSED}"', text, flags=re.MULTILINE)


def test_ping_data_and_export_cover_sip_rows(client):
    body = client.get("/api/ping-data?probe=sip&group=server&range=1h").get_json()
    response_validator("/api/ping-data", 200).validate(body)
    series = {s["key"]: s for s in body["series"]}
    assert set(series) == {PAUSED, UNAVAILABLE, NOT_FOUND, CLOSED, SIP_ONLY}
    assert series[UNAVAILABLE]["code"] == [503] and series[UNAVAILABLE]["up_pct"] == [0]
    assert mean_ok(series[PAUSED]["response_ms"][0]) and series[PAUSED]["up_pct"] == [100]
    assert series[CLOSED]["loss_pct"] == [100] and series[CLOSED]["code"] == [None]
    exported = client.get("/api/export-data?probe=sip&format=json&range=1h").get_json()
    response_validator("/api/export-data", 200).validate(exported)
    rows = {r["server_id"]: r for r in exported["rows"]}
    assert rows[UNAVAILABLE]["code"] == 503 and rows[UNAVAILABLE]["partner"] == "Unavailable"
    assert rows[CLOSED]["failure"] == "refused" and rows[CLOSED]["sent"] == 4
    # The fastest of the round's four requests: issue 14's bound, no slack.
    assert within_issue_bound(rows[PAUSED]["response_min_ms"], PAUSE_MS), rows[PAUSED]
    assert rows[PAUSED]["response_max_ms"] >= rows[PAUSED]["response_avg_ms"] >= rows[PAUSED]["response_min_ms"]
    csv = client.get("/api/export-data?probe=sip&range=1h")
    assert 'filename="sip-latency-' in csv.headers["Content-Disposition"]
    assert csv.get_data(as_text=True).splitlines()[0].startswith("timestamp,server_id,server_ip,country,partner")


def test_a_sip_down_alert_opens_and_resolves_exactly_once(lab, tmp_path):
    """The peer stops answering for three rounds, then answers again for three: one open, one resolve."""
    port = lab["port"] + 2  # Kamailio holds port and port + 1
    assert port_is_free(port, SIP_ONLY)
    data = make_config_dict(tmp_path, ping_count=2, ping_timeout=0.5,
                            alert_conditions={"rounds_to_open": 2, "rounds_to_resolve": 2},
                            servers=[server(SIP_ONLY, "Flapping", sip={"port": port})])
    config = validate_config(data, source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    collector = Collector(config, writer)
    events = []
    evaluate = collector.alerts.on_round

    def recording(*args, **kwargs):
        found = evaluate(*args, **kwargs)
        events.extend(found)
        return found

    collector.alerts.on_round = recording
    peer = None
    try:
        for answering in (True, False, False, False, True, True, True):
            if answering and peer is None:
                peer = SippUas(uas_scenario(200, "OK"), host=SIP_ONLY, port=port).start()
            elif not answering and peer is not None:
                peer, stopping = None, peer
                stopping.stop()
            assert collector.run_round().round_id is not None
        stored = list_alerts(writer.engine, "all").to_dict("records")
    finally:
        if peer is not None:
            peer.stop()
        writer.engine.dispose()
    sip_events = [(e.action, e.severity) for e in events if e.kind == "sip_down"]
    assert sip_events == [("open", "critical"), ("resolve", "critical")]
    assert [e.kind for e in events if e.kind != "sip_down"] == []  # the network path never failed
    sip_alerts = [a for a in stored if a["kind"] == "sip_down"]
    assert len(sip_alerts) == 1 and sip_alerts[0]["state"] == "resolved"
    opened = next(e for e in events if e.kind == "sip_down" and e.action == "open")
    assert opened.message.endswith("SIP down; refused: ICMP port unreachable")
