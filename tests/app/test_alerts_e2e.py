"""Issue 5's "done when", end to end.

A real Collector (fake probes, a clock it does not share with the wall) writes to the test database; the
notifications go to a real HTTP receiver on 127.0.0.1; the web app (create_app without its collector) reads the
same database. An alert must then show everywhere: /api/alerts, /api/servers/status, the warnings panel's data,
the server cards, the logs table (one WARNING/ERROR line) and the webhook.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest

import callbacks.overview as overview_cb
from collector.logsetup import DatabaseHandler
from collector.notify import build_notifier
from runtime.stale import StaleWatcher
from layouts.alerts import kind_label
from queries.warnings import current_warnings
from tests.conftest import make_config_dict
from tests.helpers.alerts import GOOD_PROBE
from tests.helpers.dash_tree import text_of, walk
from tests.helpers.lab import BAD, Lab, api_alerts, api_status



@pytest.fixture
def config_dict(tmp_path, receiver) -> dict:
    """The shared test config, notifying the receiver through Apprise's json:// scheme."""
    return make_config_dict(tmp_path, notifications=[{"url": receiver.url("/hook"), "min_severity": "warning"}],
                            public_url="http://noc.example")


@pytest.fixture
def logs_table(writer):
    """Every collector.* and runtime.* line at INFO and above also goes to the logs table, as in the running app."""
    handler = DatabaseHandler(writer, "e2e")
    loggers = [logging.getLogger(name) for name in ("collector", "runtime")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield
    for logger, level in zip(loggers, levels):
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def lab(config, writer, receiver, logs_table):
    """A Lab whose notifier delivers to the receiver; stopped afterwards."""
    lab = Lab(config, writer)
    lab.receiver = receiver
    yield lab
    lab.collector.stop(timeout=5)


# -- what the app shows ------------------------------------------------------------------------------

def api_logs(client, level: str) -> list[dict]:
    response = client.get(f"/api/logs?level={level}&limit=100")
    assert response.status_code == 200
    return response.get_json()["logs"]


def panel_rows(app, config):
    """The warnings panel's data, read as the dashboard reads it."""
    return current_warnings(app.server.extensions["latency_monitor"].read_engine, config)


def card_of(app, server_id: str) -> dict:
    """The server's tile as the overview callback sends it."""
    with app.server.test_request_context():
        tiles = overview_cb.overview_now("")["tiles"]
    found = [t for t in tiles if t["id"] == server_id]
    assert len(found) == 1
    return found[0]


# -- the tests ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(BAD))
def test_two_bad_rounds_raise_one_alert_seen_everywhere_and_two_good_ones_resolve_it(lab, app, client, config, name):
    probe, kind, severity = BAD[name]
    server = config.servers[0]
    lab.plan(rounds=5)
    lab.round()
    lab.round(probe)
    assert api_alerts(client, "all") == []  # one bad round is not enough

    lab.round(probe)
    (alert,) = api_alerts(client)
    assert (alert["server"], alert["kind"], alert["severity"], alert["state"]) == (server.id, kind, severity, "open")
    assert (alert["partner"], alert["country"]) == (server.partner, server.country)

    status = api_status(client)[server.id]
    assert [(a["id"], a["kind"], a["severity"]) for a in status["open_alerts"]] == [(alert["id"], kind, severity)]
    assert f"{kind}: {alert['message']}" in status["warnings"]
    assert all(s["open_alerts"] == [] for sid, s in api_status(client).items() if sid != server.id)

    rows = panel_rows(app, config)
    assert list(zip(rows["server_id"], rows["kind"], rows["severity"], rows["state"])) == \
        [(server.id, kind, severity, "open")]
    (pill,) = card_of(app, server.id)["a"]  # [kind, severity, label, icon, hover text]
    assert (pill[0], pill[1], pill[2]) == (kind, severity, kind_label(kind))

    (line,) = api_logs(client, "warning")
    assert line["level"] == ("ERROR" if severity == "critical" else "WARNING")
    assert line["module"] == "collector.alerts" and "alert opened" in line["message"] and server.id in line["message"]

    (opened,) = lab.webhooks()
    assert opened["title"].startswith(f"[{severity.upper()}]") and server.id in opened["title"]
    assert f"http://noc.example/server/{server.id}" in opened["message"]

    lab.round()
    assert [a["state"] for a in api_alerts(client, "all")] == ["open"]  # one good round is not enough
    lab.round()
    assert api_alerts(client) == []
    (resolved,) = api_alerts(client, "all")
    assert (resolved["id"], resolved["state"], resolved["kind"]) == (alert["id"], "resolved", kind)
    assert resolved["resolved_at"] > resolved["started_at"]
    assert api_status(client)[server.id]["status"] == "up"
    assert len(api_logs(client, "warning")) == 1  # the resolution is an INFO line, not another warning
    assert sum("alert resolved" in line["message"] for line in api_logs(client, "info")) == 1
    assert [body["title"].split("]")[0] for body in lab.webhooks()] == [f"[{severity.upper()}", "[RESOLVED"]
    assert list(panel_rows(app, config)["state"]) == ["resolved"]
    assert card_of(app, server.id)["a"] == []


@pytest.mark.parametrize("name", ["very slow", "silent", "jittery"])
def test_a_flapping_server_raises_nothing(lab, app, client, config, name):
    probe = BAD[name][0]
    lab.plan(rounds=8)
    for _ in range(4):
        lab.round(probe)
        lab.round()
    assert lab.collector.rounds_run == 8
    assert api_alerts(client, "all") == []
    assert api_logs(client, "warning") == []
    assert panel_rows(app, config).empty
    assert lab.webhooks() == [] and lab.receiver.requests == []


def test_stopping_the_only_collector_gives_one_collector_stale_alert(lab, app, client, config, writer, receiver):
    lab.answers(GOOD_PROBE)
    lab.collector.start()
    deadline = time.monotonic() + 10
    while lab.collector.rounds_run < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    lab.collector.stop(timeout=5)
    assert lab.collector.rounds_run >= 1 and not lab.collector.is_alive()
    assert {s["status"] for s in api_status(client).values()} == {"up"}  # fresh rows: not stale yet

    notifier = build_notifier(config).start()
    rt = app.server.extensions["latency_monitor"]
    later = lab.at + timedelta(seconds=config.stale_after_seconds + 1)
    try:
        StaleWatcher(config, writer, rt.read_engine, notifier, now=lambda: later).check_once()
        assert notifier.wait_idle(10)
    finally:
        notifier.stop(timeout=5)

    # Issue 13: the collector wrote heartbeats, so its silence is one collector_stale alert naming it, not one stale
    # alert per server; every server still shows stale (its newest row is too old).
    every = {s.id for s in config.servers}
    found = api_alerts(client)
    assert [(a["kind"], a["collector"], a["state"]) for a in found] == [("collector_stale", lab.collector.name, "open")]
    status = api_status(client)
    assert {sid: s["status"] for sid, s in status.items()} == {sid: "stale" for sid in every}
    assert all(s["open_alerts"] == [] for s in status.values())
    titles = [body["title"] for body in receiver.delivered()]
    assert len(titles) == 1 and titles[0].startswith("[WARNING]"), titles
    assert len(api_logs(client, "warning")) == 1
