"""GET /api/ping-data against seeded history: values, filters, grouping, buckets, gaps and CSV."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from collector.probes.base import ProbeResult
from queries.pingdata import BUCKET_LADDER_SECONDS, MAX_POINTS
from storage.schema import ping_results
from common.timeutil import utcnow
from tests.seeding import seed_history


LOST_PER_SERVER = (0, 1, 2, 4)


def lossy_profile(server_index: int, round_index: int, count: int = 4) -> ProbeResult:
    """Servers lose 0, 1, 2 and all 4 of their 4 packets every round; replies take 40 ms."""
    received = count - LOST_PER_SERVER[server_index]
    return ProbeResult(transmitted=count, received=received, samples_ms=[40.0] * received)


def series_by_key(body: dict) -> dict[str, dict]:
    return {s["key"]: s for s in body["series"]}


def mean(values: list) -> float:
    present = [v for v in values if v is not None]
    return sum(present) / len(present)


def stored_rows(config, **where) -> int:
    """How many ping_results rows match column == value filters (straight from the database)."""
    from sqlalchemy import create_engine
    engine = create_engine(config.database_target())
    stmt = select(func.count()).select_from(ping_results)
    for column, value in where.items():
        stmt = stmt.where(ping_results.c[column] == value)
    with engine.connect() as conn:
        count = conn.execute(stmt).scalar_one()
    engine.dispose()
    return count


def test_country_series_carry_the_seeded_means(seeded, client):
    body = client.get("/api/ping-data").get_json()
    series = series_by_key(body)
    # Kenya holds servers 0 and 1 (20 and 50 ms), Nigeria server 2 (80), Egypt server 3 (110).
    assert {k: round(mean(s["latency_ms"]), 3) for k, s in series.items()} == {
        "Kenya": 35.0, "Nigeria": 80.0, "Egypt": 110.0}
    assert all(mean(s["loss_pct"]) == 0 and mean(s["jitter_ms"]) == 0 for s in series.values())
    assert body["group"] == "country" and body["series"][0]["country"] == body["series"][0]["key"]


def test_every_stored_round_is_counted_once(seeded, client, config):
    series = series_by_key(client.get("/api/ping-data?range=30d").get_json())
    for key, one in series.items():
        assert sum(one["rounds"]) == stored_rows(config, country=key)


def test_buckets_of_a_wide_range_merge_rounds(seeded, client):
    body = client.get("/api/ping-data?range=30d&country=Egypt").get_json()
    rounds = series_by_key(body)["Egypt"]["rounds"]
    # 5-minute rounds in buckets of bucket_seconds: full buckets hold bucket/300 of them.
    assert max(rounds) == body["bucket_seconds"] // 300 > 1


@pytest.mark.parametrize("range_name, span", [("1h", 3600), ("24h", 86400), ("7d", 7 * 86400),
                                              ("30d", 30 * 86400)])
def test_bucket_grows_with_the_range_and_keeps_points_bounded(client, range_name, span):
    body = client.get(f"/api/ping-data?range={range_name}").get_json()
    size = body["bucket_seconds"]
    assert size in BUCKET_LADDER_SECONDS and span / size <= MAX_POINTS
    smaller = [s for s in BUCKET_LADDER_SECONDS if s < size]
    assert not smaller or span / smaller[-1] > MAX_POINTS  # the smallest bucket that fits


def test_group_by_server_names_server_partner_and_ip(seeded, client, config):
    body = client.get("/api/ping-data?group=server").get_json()
    assert body["group"] == "server"
    configured = {s.id: s for s in config.servers}
    for one in body["series"]:
        server = configured[one["key"]]
        assert (one["server"], one["partner"], one["ip"], one["country"]) == \
            (server.id, server.partner, server.ip, server.country)
    assert {k: mean(s["latency_ms"]) for k, s in series_by_key(body).items()} == {
        "127.0.0.1": 20.0, "127.0.0.2": 50.0, "127.0.0.3": 80.0, "127.0.0.4": 110.0}


@pytest.mark.parametrize("query, keys", [
    ("country=Kenya", {"Kenya"}),
    ("country=Kenya&country=Egypt", {"Kenya", "Egypt"}),
    ("country=Kenya,Nigeria", {"Kenya", "Nigeria"}),
    ("partner=Nile Telecom", {"Egypt"}),
    ("server=127.0.0.3", {"Nigeria"}),
    ("country=Atlantis", set()),
])
def test_filters_select_the_series(seeded, client, query, keys):
    assert set(series_by_key(client.get(f"/api/ping-data?{query}").get_json())) == keys


def test_server_filter_keeps_only_that_servers_rounds(seeded, client):
    series = series_by_key(client.get("/api/ping-data?server=127.0.0.2").get_json())
    assert mean(series["Kenya"]["latency_ms"]) == 50.0


def test_loss_is_packet_weighted_and_no_reply_is_null(config, writer, client):
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=12, profile=lossy_profile)
    series = series_by_key(client.get("/api/ping-data?range=1h").get_json())
    assert mean(series["Kenya"]["loss_pct"]) == 12.5  # 0 + 1 lost of 4 + 4 sent
    assert mean(series["Nigeria"]["loss_pct"]) == 50.0
    egypt = series["Egypt"]
    assert set(egypt["loss_pct"]) == {100.0}
    assert set(egypt["latency_ms"]) == {None} and set(egypt["jitter_ms"]) == {None}
    assert all(r > 0 for r in egypt["rounds"])  # rounds happened: null means "no reply", not "no data"


def test_an_outage_shows_as_one_null_point(config, writer, client):
    end = utcnow().replace(microsecond=0)
    seed_history(writer, config, end - timedelta(hours=3), rounds=12)  # then three hours of nothing
    seed_history(writer, config, end, rounds=12)
    egypt = series_by_key(client.get("/api/ping-data?country=Egypt").get_json())["Egypt"]
    gaps = [i for i, n in enumerate(egypt["rounds"]) if n == 0]
    assert gaps == [12] and egypt["latency_ms"][12] is None
    assert egypt["timestamps"][11] < egypt["timestamps"][12] < egypt["timestamps"][13]
    assert len(egypt["timestamps"]) == 25


def test_custom_range_selects_exactly_the_rounds_inside(seeded, client):
    times = seeded["times"]
    start, end = times[10], times[20]  # end is exclusive: rounds 10..19
    query = f"range=custom&start={start.isoformat()}Z&end={end.isoformat()}Z&country=Kenya"
    body = client.get(f"/api/ping-data?{query}").get_json()
    assert sum(body["series"][0]["rounds"]) == 10 * 2
    assert (body["start"], body["end"]) == (start.isoformat() + "Z", end.isoformat() + "Z")


def test_start_and_end_alone_imply_a_custom_range(seeded, client):
    times = seeded["times"]
    body = client.get(f"/api/ping-data?start={times[0].isoformat()}Z&end={times[5].isoformat()}Z").get_json()
    assert body["start"] == times[0].isoformat() + "Z"


def test_offsets_are_converted_and_naive_times_mean_utc(seeded, client):
    at = seeded["times"][100]
    shifted = (at + timedelta(hours=2)).isoformat() + "+02:00"
    naive = client.get(f"/api/ping-data?start={at.isoformat()}&end={seeded['end'].isoformat()}").get_json()
    offset = client.get("/api/ping-data", query_string={"start": shifted,
                                                        "end": seeded["end"].isoformat() + "Z"}).get_json()
    assert naive["start"] == offset["start"] == at.isoformat() + "Z"
    assert naive["series"] == offset["series"]


def test_csv_has_one_row_per_point(seeded, client):
    json_body = client.get("/api/ping-data?group=server&range=1h").get_json()
    response = client.get("/api/ping-data?group=server&range=1h&format=csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == sum(len(s["timestamps"]) for s in json_body["series"])
    first = json_body["series"][0]
    assert rows[0]["server"] == first["server"] and float(rows[0]["latency_ms"]) == first["latency_ms"][0]
    assert rows[0]["timestamp"] == first["timestamps"][0]
