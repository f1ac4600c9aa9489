"""GET /healthz (collector freshness from the rounds table) and GET /metrics (Prometheus gauges)."""
from __future__ import annotations

from datetime import timedelta

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select

from api.health import overdue_after_seconds
from api.ops import API_STATE_KEY
from collector.probes.base import ProbeResult
from storage.schema import ping_results, rounds
from common.timeutil import utcnow
from tests.seeding import seed_history


def samples(client) -> dict[tuple, float]:
    """Every sample of /metrics keyed by (name, sorted labels)."""
    text = client.get("/metrics").get_data(as_text=True)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def server_labels(server) -> tuple:
    return tuple(sorted({"server": server.id, "partner": server.partner, "country": server.country}.items()))


def stored(config, stmt):
    engine = create_engine(config.database_target())
    with engine.connect() as conn:
        row = conn.execute(stmt).mappings().first()
    engine.dispose()
    return row


# -- /healthz -------------------------------------------------------------------------------------

def test_fresh_rounds_are_healthy(seeded, client, config):
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "ok"
    finished = stored(config, select(rounds.c.finished_at).order_by(rounds.c.finished_at.desc()))["finished_at"]
    assert body["last_round_finished_at"] == finished.isoformat() + "Z"
    assert body["overdue_after_seconds"] == overdue_after_seconds(config) == 2 * 60 + 1 * 4


def test_an_old_last_round_is_overdue(config, writer, client):
    late = overdue_after_seconds(config) + 60
    seed_history(writer, config, utcnow().replace(microsecond=0) - timedelta(seconds=late), rounds=2)
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 503 and body["status"] == "overdue"
    assert body["seconds_since_last_round"] > overdue_after_seconds(config)
    assert "last round finished" in body["reason"]


def test_no_round_yet_is_fine_while_starting(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "starting"
    assert response.get_json()["last_round_finished_at"] is None


def test_no_round_long_after_start_is_overdue(app, client, config):
    state = app.server.extensions[API_STATE_KEY]
    state.started_at -= timedelta(seconds=overdue_after_seconds(config) + 1)
    response = client.get("/healthz")
    assert response.status_code == 503 and "no round recorded" in response.get_json()["reason"]


def test_an_unreadable_database_is_unhealthy_not_a_crash(app, client):
    runtime = app.server.extensions["latency_monitor"]
    runtime.read_engine.dispose()
    runtime.read_engine = create_engine("sqlite:////nonexistent/dir/x.db")
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "error"


# -- /metrics -------------------------------------------------------------------------------------

def test_metrics_expose_each_servers_latest_values(seeded, client, config):
    found = samples(client)
    for server in config.servers:
        row = stored(config, select(ping_results).where(ping_results.c.server_id == server.id)
                     .order_by(ping_results.c.timestamp.desc()))
        labels = server_labels(server)
        assert found[("latency_monitor_server_latency_seconds", labels)] == row["avg_time"] / 1000
        assert found[("latency_monitor_server_jitter_seconds", labels)] == row["jitter_time"] / 1000
        assert found[("latency_monitor_server_packet_loss_ratio", labels)] == row["loss_percentage"] / 100
        assert found[("latency_monitor_server_mos", labels)] == row["mos"]
        assert found[("latency_monitor_server_r_factor", labels)] == row["r_factor"]


def test_status_gauge_is_one_hot(config, writer, client):
    def second_server_down(k: int, _r: int) -> ProbeResult:
        return ProbeResult(transmitted=4, received=0) if k == 1 else ProbeResult(4, 4, [20.0] * 4)

    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=1, profile=second_server_down)
    found = samples(client)
    assert found[("latency_monitor_server_packet_loss_ratio", server_labels(config.servers[1]))] == 1.0
    for index, server in enumerate(config.servers):
        states = {dict(labels)["status"]: value for (name, labels), value in found.items()
                  if name == "latency_monitor_server_status" and dict(labels)["server"] == server.id}
        assert states == {s: float(s == ("down" if index == 1 else "up"))
                          for s in ("up", "degraded", "partial", "down", "stale", "unknown")}


def test_round_gauges_come_from_the_last_round(seeded, client, config):
    last = stored(config, select(rounds).order_by(rounds.c.finished_at.desc()))
    found = samples(client)
    assert found[("latency_monitor_round_duration_seconds", ())] == pytest.approx(last["duration_ms"] / 1000)
    assert found[("latency_monitor_round_failures", ())] == last["failures"]
    assert found[("latency_monitor_round_servers", ())] == last["servers"] == len(config.servers)
    assert found[("latency_monitor_scrape_error", ())] == 0


def test_empty_database_has_status_but_no_values(client, config):
    found = samples(client)
    assert not any(name == "latency_monitor_server_latency_seconds" for name, _ in found)
    assert not any(name == "latency_monitor_round_duration_seconds" for name, _ in found)
    unknown = [labels for (name, labels), v in found.items()
               if name == "latency_monitor_server_status" and dict(labels)["status"] == "unknown" and v == 1]
    assert len(unknown) == len(config.servers)


def test_metrics_read_the_database_at_scrape_time(config, writer, client):
    assert ("latency_monitor_round_servers", ()) not in samples(client)
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=1)
    assert samples(client)[("latency_monitor_round_servers", ())] == len(config.servers)


def test_a_scrape_without_database_reports_the_error(app, client):
    from api.metrics import make_registry
    broken = create_engine("sqlite:////nonexistent/dir/x.db")
    app.server.extensions[API_STATE_KEY].registry = make_registry(broken, app.server.extensions["latency_monitor"].config)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert samples(client)[("latency_monitor_scrape_error", ())] == 1


def test_each_app_has_its_own_registry(app, seeded):
    from app import create_app
    other = create_app(seeded["config"], start_collector=False)
    assert other.server.extensions[API_STATE_KEY].registry is not app.server.extensions[API_STATE_KEY].registry
    global_text = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    assert "latency_monitor_" not in global_text
    other.close()


def test_openmetrics_is_served_when_asked_for(seeded, client):
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.mimetype == "application/openmetrics-text"
    assert response.get_data(as_text=True).rstrip().endswith("# EOF")
