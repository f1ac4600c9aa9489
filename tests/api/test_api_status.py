"""GET /api/servers/status: every configured server, classified from its latest stored round."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine, select

from collector.probes.base import ProbeResult
from storage.schema import ping_results
from common.timeutil import utcnow
from tests.seeding import seed_history


def statuses(client) -> dict[str, dict]:
    body = client.get("/api/servers/status").get_json()
    return {s["id"]: s for s in body["servers"]}


def troubled_profile(server_index: int, round_index: int, count: int = 4) -> ProbeResult:
    """Server 0 is clean, 1 jitters by 80 ms, 2 never answers, 3 fails to probe at all."""
    if server_index == 1:
        return ProbeResult(transmitted=count, received=count, samples_ms=[20.0, 100.0] * (count // 2))
    if server_index == 2:
        return ProbeResult(transmitted=count, received=0)
    if server_index == 3:
        return ProbeResult.failed(count, "unknown host")
    return ProbeResult(transmitted=count, received=count, samples_ms=[20.0] * count)


def latest_stored(config, server_id: str) -> dict:
    engine = create_engine(config.database_target())
    stmt = (select(ping_results).where(ping_results.c.server_id == server_id)
            .order_by(ping_results.c.timestamp.desc()).limit(1))
    with engine.connect() as conn:
        row = dict(conn.execute(stmt).mappings().one())
    engine.dispose()
    return row


def test_empty_database_lists_every_server_as_unknown(client, config):
    body = client.get("/api/servers/status").get_json()
    assert [s["id"] for s in body["servers"]] == [s.id for s in config.servers]
    for server in body["servers"]:
        assert server["status"] == "unknown" and server["quality"] is None and server["last_check"] is None
        assert server["latency_ms"] is None and server["stale"] is False and server["warnings"] == []
    assert body["generated_at"].endswith("Z")


def test_healthy_servers_are_up_with_their_latest_values(seeded, client, config):
    servers = statuses(client)
    for server in config.servers:
        got, stored = servers[server.id], latest_stored(config, server.id)
        assert (got["partner"], got["country"], got["ip"], got["dn_ext"]) == \
            (server.partner, server.country, server.ip, server.dn_ext)
        assert got["status"] == "up" and got["stale"] is False and got["warnings"] == []
        assert got["latency_ms"] == stored["avg_time"] and got["mos"] == stored["mos"]
        assert got["r_factor"] == stored["r_factor"] and got["loss_pct"] == 0 and got["jitter_ms"] == 0
        assert got["last_check"] == seeded["end"].isoformat() + "Z"


def test_quality_follows_the_latency_thresholds(seeded, client):
    # 20 and 50 ms are within "excellent" (<= 50), 80 within "good" (<= 100), 110 within "fair" (<= 150).
    assert {k: s["quality"] for k, s in statuses(client).items()} == {
        "127.0.0.1": "excellent", "127.0.0.2": "excellent", "127.0.0.3": "good", "127.0.0.4": "fair"}


def test_degraded_and_down_servers_say_why(config, writer, client):
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=3, profile=troubled_profile)
    servers = statuses(client)
    assert [servers[k]["status"] for k in sorted(servers)] == ["up", "degraded", "down", "down"]
    assert servers["127.0.0.2"]["warnings"] == ["jitter 80.0 ms"] and servers["127.0.0.2"]["jitter_ms"] == 80.0
    assert servers["127.0.0.3"]["warnings"] == ["no reply (100% loss)"]
    assert servers["127.0.0.3"]["loss_pct"] == 100.0 and servers["127.0.0.3"]["latency_ms"] is None
    assert servers["127.0.0.4"]["warnings"] == ["probe failed: unknown host"]
    assert servers["127.0.0.3"]["quality"] is None and servers["127.0.0.4"]["quality"] is None


def test_a_server_without_recent_results_is_stale(config, writer, client):
    last = utcnow().replace(microsecond=0) - timedelta(hours=1)
    seed_history(writer, config, last, rounds=3)
    for server in statuses(client).values():
        assert server["status"] == "stale" and server["stale"] is True
        assert server["last_check"] == last.isoformat() + "Z"
        assert server["latency_ms"] is not None  # the last known values stay visible
        assert len(server["warnings"]) == 1 and server["warnings"][0].startswith("no result for")
