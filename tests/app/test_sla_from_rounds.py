"""Issue 15's "history with known outages gives the expected availability, incidents and MTTR on the Reports
page and from /api/sla", driven by real collector rounds: a Collector with fake probes that fail for known
rounds writes through the real writer (incidents and availability rollups kept in each round's transaction);
the app reads the same database. The expected figures are counted by hand from the plan below."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import callbacks.reports as reports_cb
from common.timeutil import iso_z
from settings import validate_config
from storage import open_writer
from tests.conftest import make_config_dict
from tests.helpers.alerts import GOOD_PROBE, silent
from tests.helpers.dash_tree import text_of, walk
from tests.helpers.lab import Lab

T0 = datetime(2026, 11, 10, 8, 0)  # round r runs at T0 + r minutes (interval 60 s)
# Per round, which servers (by index) do not answer: server 0 (Safari Voice) 10-14 and 25-27, server 1 (also
# Safari Voice) 12-16; 33 rounds in all.
PLAN = [{0} if 10 <= r < 12 else {0, 1} if 12 <= r < 15 else {1} if 15 <= r < 17 else {0} if 25 <= r < 28 else set()
        for r in range(33)]


@pytest.fixture
def ran(tmp_path, receiver):
    """The 33 rounds run by a real Collector (the last five up, so every incident has ended), and the app."""
    from app import create_app
    data = make_config_dict(tmp_path, interval_seconds=60,
                            notifications=[{"url": receiver.url("/hook"), "min_severity": "critical"}])
    config = validate_config(data, source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    lab = Lab(config, writer)
    lab.at = T0
    for down in PLAN:
        lab.factory.results = {s.id: silent() if i in down else GOOD_PROBE for i, s in enumerate(config.servers)}
        assert lab.collector.run_round().round_id is not None
        lab.at += timedelta(minutes=1)
    dash_app = create_app(config, start_collector=False, writer=writer)
    yield dash_app, config
    lab.collector.stop(timeout=5)
    dash_app.close()


def window_url(group: str) -> str:
    return f"/api/sla?group={group}&range=custom&start={iso_z(T0)}&end={iso_z(T0 + timedelta(minutes=33))}"


def test_api_sla_from_collector_rounds(ran):
    dash_app, _config = ran
    client = dash_app.server.test_client()
    rows = {r["key"]: r for r in client.get(window_url("server")).get_json()["rows"]}
    s0 = rows["127.0.0.1"]
    # Server 0: 8 down rounds (10-14, 25-27) of 33: two incidents of 5 and 3 minutes.
    assert (s0["down_seconds"], s0["up_seconds"], s0["unmeasured_seconds"]) == (480, 1500, 0)
    assert s0["availability_percent"] == pytest.approx(100 * 1500 / 1980, abs=1e-4)  # 75.7576
    assert (s0["incidents"], s0["mttr_seconds"], s0["longest_incident_seconds"]) == (2, 240, 300)
    assert s0["mtbf_seconds"] == 750 and s0["error_budget_seconds"] == pytest.approx(1.98)
    s1 = rows["127.0.0.2"]  # 12-16: one incident of 5 minutes
    assert (s1["down_seconds"], s1["incidents"], s1["mttr_seconds"]) == (300, 1, 300)
    assert rows["127.0.0.3"]["availability_percent"] == 100 and rows["127.0.0.3"]["incidents"] == 0
    safari = {r["key"]: r for r in client.get(window_url("partner")).get_json()["rows"]}["Safari Voice"]
    # Both down together in rounds 12-14 only; at least one down in 10-16 and 25-27.
    assert (safari["down_seconds"], safari["incidents"], safari["mttr_seconds"]) == (180, 1, 180)
    assert safari["any_server_down_seconds"] == 7 * 60 + 3 * 60
    incidents = client.get(f"/api/incidents?range=custom&start={iso_z(T0)}&end={iso_z(T0 + timedelta(hours=1))}"
                           ).get_json()["incidents"]
    got = sorted((i["server_id"], i["started_at"], i["duration_seconds"]) for i in incidents)
    at = lambda r: iso_z(T0 + timedelta(minutes=r))  # noqa: E731
    assert got == [("127.0.0.1", at(10), 300), ("127.0.0.1", at(25), 180), ("127.0.0.2", at(12), 300)]


def test_reports_page_from_collector_rounds(ran):
    dash_app, _config = ran
    from layouts.reports import HEADERS
    with dash_app.server.test_request_context():
        title, table, incident_list, _link = reports_cb.month_report("2026-11", "server", None, "")
    assert title == "Availability report, November 2026"
    rows = {getattr(c, "data-key"): c for c in walk(table) if getattr(c, "data-key", None)}
    cells = [text_of(c) for c in rows["127.0.0.1"].children]
    assert cells[HEADERS.index("availability")].startswith("75.7")
    assert cells[HEADERS.index("incidents")] == "2" and cells[HEADERS.index("MTTR")] == "4 min"
    assert cells[HEADERS.index("down")] == "8 min"
    listed = text_of(incident_list)
    assert listed.count("127.0.0.1") == 2 and listed.count("127.0.0.2") == 1
