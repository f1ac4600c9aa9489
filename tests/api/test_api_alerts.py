"""GET /api/alerts (states, filters, the window rule, 400s) and the open alerts in /api/servers/status."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from common.timeutil import iso_z, utcnow
from tests.helpers.alerts import seed_alerts, store_alert


@pytest.fixture
def alerted(config, writer):
    """The seeded alerts and the `now` they were placed around (a second ago, so every window includes it)."""
    now = utcnow().replace(microsecond=0) - timedelta(seconds=1)
    return {"now": now, "times": seed_alerts(writer, config, now)}


def get_alerts(client, query: str = "") -> list[dict]:
    """The alerts list of GET /api/alerts?query, asserting a 200."""
    response = client.get(f"/api/alerts{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["alerts"]


def kinds(alerts: list[dict]) -> list[str]:
    return [a["kind"] for a in alerts]


# -- the route ---------------------------------------------------------------------------------

def test_open_by_default_newest_first_in_the_api_shape(alerted, client, config):
    alerts = get_alerts(client)
    assert kinds(alerts) == ["jitter", "high_latency"]  # stored as 'latency'; the API says high_latency
    latency = alerts[1]
    assert set(latency) == {"id", "server", "partner", "country", "kind", "severity", "state", "started_at",
                            "resolved_at", "peak", "message", "acknowledgement", "path_snapshot",
                            "collector"}
    assert latency["acknowledgement"] is None and latency["path_snapshot"] is None
    server = config.servers[0]
    assert (latency["server"], latency["partner"], latency["country"]) == (server.id, server.partner, server.country)
    assert (latency["severity"], latency["state"], latency["peak"]) == ("critical", "open", 612.0)
    assert latency["started_at"] == iso_z(alerted["times"]["latency"]) and latency["resolved_at"] is None
    assert latency["message"].startswith("High latency on Safari Voice Kenya (127.0.0.1): 612.0 ms")
    assert isinstance(latency["id"], int) and latency["id"] != alerts[0]["id"]


def test_resolved_lists_what_overlaps_the_window(alerted, client):
    day = get_alerts(client, "?state=resolved")
    assert kinds(day) == ["connectivity", "packet_loss"]
    host = day[0]
    assert host["server"] is None and host["partner"] is None and host["country"] is None
    assert host["resolved_at"] == iso_z(alerted["times"]["connectivity"] + timedelta(minutes=10))
    assert kinds(get_alerts(client, "?state=resolved&range=7d")) == ["connectivity", "packet_loss", "down"]
    assert kinds(get_alerts(client, "?state=all")) == ["jitter", "high_latency", "connectivity", "packet_loss"]


def test_a_past_window_never_hides_an_open_alert(alerted, client):
    before = "start=2020-01-01T00:00:00Z&end=2020-01-02T00:00:00Z"
    assert kinds(get_alerts(client, f"?state=open&{before}")) == ["jitter", "high_latency"]
    assert get_alerts(client, f"?state=resolved&{before}") == []
    assert get_alerts(client, f"?state=all&{before}") == []
    # A window that ends while the loss alert was open, before the latency alert began.
    loss = alerted["times"]["loss"]
    during = f"start={iso_z(loss)}&end={iso_z(loss + timedelta(minutes=5))}"
    assert kinds(get_alerts(client, f"?state=all&{during}")) == ["packet_loss"]


def test_subject_filters_keep_host_wide_alerts(alerted, client):
    assert kinds(get_alerts(client, "?state=all&country=Nigeria")) == ["connectivity", "packet_loss"]
    assert kinds(get_alerts(client, "?state=open&country=Kenya")) == ["jitter", "high_latency"]
    assert kinds(get_alerts(client, "?state=open&server=127.0.0.1")) == ["high_latency"]
    assert kinds(get_alerts(client, "?state=all&partner=Nile%20Telecom&range=30d")) == ["connectivity", "down"]


def test_an_empty_database_has_no_alerts(client):
    assert get_alerts(client, "?state=all") == []


@pytest.mark.parametrize("query, param", [("?state=closed", "state"), ("?state=open&state=all", "state"),
                                          ("?state=OPEN", "state"), ("?range=2h", "range"),
                                          ("?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z", "start")])
def test_bad_parameters_are_400_with_the_error_shape(client, query, param):
    response = client.get(f"/api/alerts{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == {"error"} and body["error"].startswith(f"{param}: ")


# -- /api/servers/status -------------------------------------------------------------------------

def statuses(client) -> dict[str, dict]:
    return {s["id"]: s for s in client.get("/api/servers/status").get_json()["servers"]}


def test_status_lists_each_servers_open_alerts_and_their_warnings(alerted, client):
    servers = statuses(client)
    (latency,) = servers["127.0.0.1"]["open_alerts"]
    assert set(latency) == {"id", "kind", "severity", "started_at"}
    assert (latency["kind"], latency["severity"]) == ("high_latency", "critical")
    assert latency["started_at"] == iso_z(alerted["times"]["latency"])
    assert [a["kind"] for a in servers["127.0.0.2"]["open_alerts"]] == ["jitter"]
    assert servers["127.0.0.3"]["open_alerts"] == [] and servers["127.0.0.4"]["open_alerts"] == []
    (text,) = servers["127.0.0.1"]["warnings"]
    assert text.startswith("high_latency: High latency on Safari Voice Kenya (127.0.0.1)")


def test_an_open_stale_alert_makes_the_server_stale(config, writer, client, seeded):
    assert {s["status"] for s in statuses(client).values()} == {"up"}
    store_alert(writer, config, 2, "stale", "warning", 400.0, seeded["end"])
    servers = statuses(client)
    assert servers["127.0.0.3"]["status"] == "stale" and servers["127.0.0.3"]["stale"] is True
    assert servers["127.0.0.3"]["warnings"][0].startswith("stale: No results (stale) on Lagos Link Nigeria")
    assert len(servers["127.0.0.3"]["warnings"]) == 1  # the alert says it; no second "no result for" line
    assert [s["status"] for k, s in servers.items() if k != "127.0.0.3"] == ["up"] * 3
