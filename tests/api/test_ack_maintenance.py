"""Issue 15: acknowledgement, maintenance windows and per-partner thresholds, end to end.

A real Collector (fake probes, its own clock) writes rounds; notifications go through Apprise to a real HTTP
receiver on 127.0.0.1; acknowledgements and maintenance windows are made through the app's real API.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from storage.maintenance import all_windows
from tests.conftest import make_config_dict
from tests.helpers.lab import BAD, Lab, api_alerts, api_status
from tests.helpers.alerts import replies, silent

SLOW, VERY_SLOW = BAD["slow"][0], BAD["very slow"][0]


@pytest.fixture
def config_dict(tmp_path, receiver) -> dict:
    """The shared test config notifying the receiver; Lagos Link is a satellite partner (600 ms is good)."""
    return make_config_dict(
        tmp_path, notifications=[{"url": receiver.url("/hook"), "min_severity": "warning"}],
        partners={"Lagos Link": {"latency_thresholds": {"excellent": 400, "good": 700, "fair": 900, "poor": 1200,
                                                        "critical": 1500}}})


@pytest.fixture
def lab(config, writer, receiver):
    """The collector under test; no path snapshots (tests/test_pathsnap.py covers those)."""
    lab = Lab(config, writer)
    lab.collector.alerts.snapshotter.submit = lambda host, on_done: False
    lab.receiver = receiver
    yield lab
    lab.collector.stop(timeout=5)


def titles(lab) -> list[str]:
    """The titles of every delivered notification, once the notifier is idle."""
    return [body["title"] for body in lab.webhooks()]


def ack(client, alert_id: int, comment: str = "on it, ticket 42", **kwargs):
    return client.post(f"/api/alerts/{alert_id}/ack", json={"comment": comment}, **kwargs)


def test_an_acknowledged_alert_stays_open_stops_notifying_and_notifies_again_when_it_escalates(lab, client):
    lab.plan(rounds=8)
    lab.round(SLOW)
    lab.round(SLOW)
    (alert,) = api_alerts(client)
    assert alert["severity"] == "warning" and alert["acknowledgement"] is None
    assert len(titles(lab)) == 1

    response = ack(client, alert["id"])
    assert response.status_code == 200, response.get_json()
    (shown,) = api_alerts(client)
    assert shown["state"] == "open"
    assert shown["acknowledgement"]["by"] == "anonymous@127.0.0.1"
    assert shown["acknowledgement"]["comment"] == "on it, ticket 42"
    assert shown["acknowledgement"]["severity"] == "warning" and shown["acknowledgement"]["at"].endswith("Z")

    lab.round(replies(250, 250, 250, 250))  # worse peak, same severity: stored, not notified
    assert len(titles(lab)) == 1
    lab.round(VERY_SLOW)  # escalates: notified again
    assert [t.split("]")[0] for t in titles(lab)] == ["[WARNING", "[CRITICAL"]
    assert api_alerts(client)[0]["acknowledgement"]["escalated_since"] is True
    lab.round()
    lab.round()
    assert [t.split("]")[0] for t in titles(lab)] == ["[WARNING", "[CRITICAL", "[RESOLVED"]
    assert api_alerts(client) == []


def test_an_acknowledged_alert_that_resolves_sends_nothing_more_and_the_next_one_notifies(lab, client):
    lab.plan(rounds=8)
    lab.round(silent())
    lab.round(silent())
    (alert,) = api_alerts(client)
    assert ack(client, alert["id"], "partner says fibre cut").status_code == 200
    lab.round(silent())
    lab.round()
    lab.round()
    assert len(titles(lab)) == 1  # the open only: the acknowledgement held back the resolve
    (resolved,) = api_alerts(client, "all")
    assert resolved["state"] == "resolved" and resolved["acknowledgement"]["by"] == "anonymous@127.0.0.1"
    assert ack(client, alert["id"]).status_code == 409  # the acknowledgement ended with the alert
    lab.round(silent())
    lab.round(silent())
    assert len(titles(lab)) == 2  # a new alert is not acknowledged


def test_ack_needs_a_comment_and_an_existing_alert(client):
    assert client.post("/api/alerts/1/ack", json={}).status_code == 400
    assert client.post("/api/alerts/1/ack", data="comment=x").status_code == 400
    assert ack(client, 999).status_code == 404


def weekly_now(lab, **scope) -> dict:
    """A weekly window (Europe/Berlin) covering the lab clock's current moment, for an hour either side."""
    from zoneinfo import ZoneInfo
    local = (lab.at - timedelta(hours=1)).replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo("Europe/Berlin"))
    day = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[local.weekday()]
    return {**scope, "comment": "router upgrade", "weekly": {
        "day": day, "start": local.strftime("%H:%M"), "duration_minutes": 180, "time_zone": "Europe/Berlin"}}


def test_a_weekly_window_made_through_the_api_suppresses_alerts_until_it_is_removed(lab, client, config, writer):
    lab.plan(rounds=10)
    response = client.post("/api/maintenance", json=weekly_now(lab, partner="Safari Voice"))
    assert response.status_code == 201, response.get_json()
    window = response.get_json()["window"]
    assert window["source"] == "api" and window["created_by"] == "anonymous@127.0.0.1"
    (listed,) = client.get("/api/maintenance").get_json()["windows"]
    assert listed["id"] == window["id"] and listed["partner"] == "Safari Voice"

    for _ in range(4):
        lab.round(silent())
    assert api_alerts(client, "all") == []
    assert titles(lab) == [] and lab.receiver.requests == []

    assert client.delete(f"/api/maintenance/{window['id']}").status_code == 204
    assert client.delete(f"/api/maintenance/{window['id']}").status_code == 404
    assert client.get("/api/maintenance").get_json()["windows"] == []
    lab.round(silent())  # the bad streak went on during the window: the alert opens at the first round after it
    (alert,) = api_alerts(client)
    assert alert["kind"] == "down" and len(titles(lab)) == 1


def test_a_window_starting_on_an_open_alert_holds_its_notifications_back(lab, client):
    lab.plan(rounds=8)
    lab.round(SLOW)
    lab.round(SLOW)
    assert len(titles(lab)) == 1
    assert client.post("/api/maintenance", json=weekly_now(lab, server="127.0.0.1")).status_code == 201
    lab.round(VERY_SLOW)
    lab.round()
    lab.round()
    assert len(titles(lab)) == 1 and api_alerts(client) == []  # escalated and resolved in the window, silently


@pytest.mark.parametrize("body, message", [
    ({"partner": "Nobody", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"},
     "window.partner: 'Nobody' is not a configured partner"),
    ({"country": "Kenya", "start": "2026-01-01T00:00:00Z", "end": "2025-01-01T01:00:00Z"},
     "window.end: must be after window.start"),
    ({"server": "127.0.0.1", "weekly": {"day": "sunday", "start": "25:00", "duration_minutes": 60,
                                        "time_zone": "Europe/Berlin"}}, "window.weekly.start"),
    ({"country": "Kenya", "partner": "Safari Voice", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00Z"},
     "window: give exactly one of"),
])
def test_a_bad_window_is_a_400_naming_the_key(client, body, message):
    response = client.post("/api/maintenance", json=body)
    assert response.status_code == 400 and message in response.get_json()["error"]


def test_an_anonymous_remote_client_cannot_write_without_auth(client, writer, config):
    remote = {"REMOTE_ADDR": "192.0.2.7"}
    window = {"country": "Kenya", "start": "2026-01-01T00:00:00Z", "end": "2026-01-01T01:00:00Z"}
    response = client.post("/api/maintenance", json=window, environ_base=remote)
    assert response.status_code == 403 and "loopback" in response.get_json()["error"]
    assert client.get("/api/maintenance", environ_base=remote).status_code == 200  # reading stays open
    assert all_windows(config, writer.engine) == []




def test_a_satellite_partner_at_600_ms_is_good_and_raises_nothing(lab, client, config):
    lagos = next(i for i, s in enumerate(config.servers) if s.partner == "Lagos Link")
    lab.plan(rounds=3)
    for _ in range(3):
        lab.round(replies(600, 610, 590, 600), server=lagos)
    status = api_status(client)[config.servers[lagos].id]
    assert status["quality"] == "good", status
    assert api_alerts(client, "all") == []
    for _ in range(2):
        lab.round(replies(600, 610, 590, 600), server=0)  # the same RTT on a partner without the override
    (alert,) = api_alerts(client)
    assert alert["server"] == config.servers[0].id and alert["severity"] == "critical"
    assert "above 500.0 ms" in alert["message"]
    for _ in range(2):
        lab.round(replies(1600, 1600, 1600, 1600), server=lagos)
    lagos_alert = next(a for a in api_alerts(client) if a["server"] == config.servers[lagos].id)
    assert "above 1500.0 ms" in lagos_alert["message"]  # the alert text uses the partner's thresholds
