"""Rollups kept by the writer give the same series as aggregating raw rows, and a rebuild matches them."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

import pandas as pd
import pytest

from sqlalchemy import select, text

from collector.probes.base import ProbeResult
from queries.filters import Filters
from storage.compact import t_us
from queries.pingdata import (_raw_series_stmt, bucket_seconds_for, kept_since, ping_series, rollup_resolution_for,
                              series_source)
from storage import rollups
from storage.migrations import init_db
from storage.schema import country_rollups, ping_rollups, server_latest
from collector.measure import measure
from common.timeutil import utcnow
from tests.seeding import seed_history
from tests.helpers.rows import all_rows, assert_same_rows


def noisy_profile(server_index: int, round_index: int, count: int = 4) -> ProbeResult:
    """Random RTTs, some lost packets and some silent rounds, reproducible per (server, round)."""
    rng = random.Random(server_index * 100_003 + round_index)
    if rng.random() < 0.05:
        return ProbeResult(transmitted=count, received=0, samples_ms=[None] * count)
    samples = [None if rng.random() < 0.1 else rng.uniform(10, 200) for _ in range(count)]
    received = sum(s is not None for s in samples)
    return ProbeResult(transmitted=count, received=received, samples_ms=samples)


@pytest.fixture
def noisy(config, writer):
    """Two days of 8-minute rounds with noise, ending at a time that is not on a bucket edge."""
    end = utcnow().replace(microsecond=0) - timedelta(minutes=7)
    seed_history(writer, config, end, rounds=360, interval_seconds=480, profile=noisy_profile)
    return end


def raw_series(engine, filters, group, size):
    """The straightforward query over ping_results, for comparison."""
    with engine.connect() as conn:
        df = pd.read_sql(_raw_series_stmt(filters, group, size, engine.dialect.name), conn)
    df["bucket"] = pd.to_datetime(df["bucket"].astype("int64"), unit="s")
    return df


CASES = [(300, "country", {}, "country_rollups"), (3600, "server", {}, "ping_rollups"),
         (10800, "country", {}, "country_rollups"), (3600, "country", {"countries": ("Kenya",)}, "country_rollups"),
         (900, "country", {"partners": ("Safari Voice",)}, "ping_rollups"), (60, "country", {}, "ping_results"),
         (300, "server", {"servers": ("127.0.0.2",)}, "ping_rollups"),  # by ping_rollups' key, collector IN (...)
         (3600, "server", {"servers": ("127.0.0.1", "127.0.0.3")}, "ping_rollups")]


@pytest.mark.parametrize("size, group, narrowing, source", CASES)
def test_rollup_series_equal_raw_aggregation(writer, noisy, size, group, narrowing, source):
    filters = Filters(start=noisy - timedelta(hours=36), end=noisy + timedelta(minutes=1), **narrowing)
    # Align the start so rollup buckets and raw buckets cover the same rows.
    filters = Filters(start=rollups.bucket_start(filters.start, size), end=filters.end, **narrowing)
    assert series_source(filters, group, size) == source
    got = ping_series(writer.engine, filters, group=group, bucket_seconds=size)
    want = raw_series(writer.engine, filters, group, size)
    cols = ["key", "bucket", "latency_ms", "min_ms", "max_ms", "loss_pct", "jitter_ms", "mos", "rounds"]
    assert len(got) == len(want) > 10
    pd.testing.assert_frame_equal(got[cols].reset_index(drop=True), want[cols].reset_index(drop=True),
                                  check_dtype=False, rtol=1e-9)


def test_one_servers_rollups_count_every_vantage_point_and_the_blended_buckets(config, writer):
    # One server's series reads ping_rollups by (resolution, collector IN (...), server, time): the collectors come
    # from server_latest, plus '' (buckets blended before collectors had names), so none of them is left out.
    end = datetime(2026, 11, 2, 12, 0)
    for name in ("lab-1", "lab-2"):
        seed_history(writer, config, end, rounds=12, interval_seconds=300, collector=name)
    blended = datetime(2026, 11, 2, 10, 0)
    with writer.engine.begin() as conn:  # an older bucket stored under '' by the v10 upgrade of several collectors
        row = dict(conn.execute(select(ping_rollups).where(ping_rollups.c.server_id == "127.0.0.1",
                                                           ping_rollups.c.resolution_seconds == 3600)).first()._mapping)
        conn.execute(ping_rollups.insert().values(dict(row, collector="", bucket_start=blended, rounds=5)))
    filters = Filters(start=datetime(2026, 11, 2, 9, 0), end=end + timedelta(minutes=1), servers=("127.0.0.1",))
    got = ping_series(writer.engine, filters, group="server", bucket_seconds=3600)
    hour = pd.Timestamp(end - timedelta(hours=1))  # 11:05-11:55 of each collector, then its 12:00 round
    assert dict(zip(got["bucket"], got["rounds"])) == {pd.Timestamp(blended): 5, hour: 2 * 11, pd.Timestamp(end): 2}


def test_rebuild_from_raw_rows_matches_incremental_rollups(writer, noisy):
    before = {t.name: all_rows(writer.engine, t) for t in (ping_rollups, country_rollups, server_latest)}
    with writer.engine.begin() as conn:
        rollups.rebuild(conn)
    assert_same_rows(before["ping_rollups"], all_rows(writer.engine, ping_rollups))
    assert_same_rows(before["country_rollups"], all_rows(writer.engine, country_rollups))
    assert before["server_latest"] == all_rows(writer.engine, server_latest) and len(before["server_latest"]) > 1


def test_upgrade_from_version_2_fills_country_rollups_from_the_server_rollups(writer, noisy):
    before = all_rows(writer.engine, country_rollups)
    with writer.engine.begin() as conn:
        conn.execute(text("DROP TABLE country_rollups"))
        conn.execute(text("UPDATE schema_info SET version = 2"))
    assert init_db(writer.engine) == 2
    assert_same_rows(before, all_rows(writer.engine, country_rollups))


def test_fine_buckets_read_raw_rows_and_wide_ones_read_rollups():
    assert rollup_resolution_for(60) is None
    assert rollup_resolution_for(900) == 300
    assert rollup_resolution_for(86400) == 3600


def test_bucket_start_floors_to_the_resolution():
    at = utcnow().replace(hour=10, minute=7, second=31, microsecond=5)
    assert rollups.bucket_start(at, 300) == at.replace(minute=5, second=0, microsecond=0)
    assert rollups.bucket_start(at, 3600) == at.replace(minute=0, second=0, microsecond=0)


def test_a_window_older_than_raw_retention_is_drawn_from_rollups(writer, noisy, config):
    # A 6-hour window would be drawn in 60 s buckets from raw rows; once raw rows older than a day are
    # pruned it must come from 5-minute rollups, and from hourly ones beyond their horizon.
    start = noisy - timedelta(hours=30)
    filters = Filters(start=start, end=start + timedelta(hours=6))
    assert bucket_seconds_for(filters) == 60
    kept = kept_since({"raw_days": 1, "five_minute_rollup_days": 400, "hourly_rollup_days": None}, noisy)
    assert bucket_seconds_for(filters, kept_since=kept) == 300
    kept = kept_since({"raw_days": 1, "five_minute_rollup_days": 1, "hourly_rollup_days": None}, noisy)
    assert bucket_seconds_for(filters, kept_since=kept) == 3600
    recent = Filters(start=noisy - timedelta(hours=6), end=noisy)
    assert bucket_seconds_for(recent, kept_since=kept) == 60


def test_the_api_reads_rollups_for_a_window_whose_raw_rows_were_pruned(writer, noisy, client, config):
    start = noisy - timedelta(hours=30)
    query = {"range": "custom", "start": start.isoformat() + "Z", "end": (start + timedelta(hours=6)).isoformat() + "Z"}
    before = client.get("/api/ping-data", query_string=query).get_json()
    assert before["bucket_seconds"] == 60 and before["series"]
    with writer.engine.begin() as conn:  # what retention with raw_days = 1 would have done
        conn.execute(text("DELETE FROM ping_compact WHERE t_us < :t"), {"t": t_us(noisy - timedelta(days=1))})
    runtime = client.application.extensions["latency_monitor"]
    runtime.services.reload(config.replace(retention={**config.retention.as_dict(), "raw_days": 1}))
    after = client.get("/api/ping-data", query_string=query).get_json()
    assert after["bucket_seconds"] == 300
    assert sum(v is not None for s in after["series"] for v in s["latency_ms"]) > 3 * 12


def test_rounds_written_in_one_batch_fold_like_rounds_written_one_by_one(config, tmp_path):
    from storage import open_writer
    from collector.rows import result_row, server_labels
    end = utcnow().replace(microsecond=0)
    batch = []
    for r in range(40):
        at = end - timedelta(minutes=7 * (40 - r))
        rows = [] if r == 13 else [result_row(measure(noisy_profile(k, r), config.thresholds), server_labels(s, "ping"),
                                               at, config.thresholds, config.alert_conditions)
                                    for k, s in enumerate(config.servers)]  # round 13 measured nothing
        batch.append((at, at + timedelta(seconds=2), rows))
    one_by_one, batched = open_writer(f"sqlite:///{tmp_path}/a.db"), open_writer(f"sqlite:///{tmp_path}/b.db")
    ids = [one_by_one.write_round("test", *one) for one in batch]
    got = [rid for start in range(0, 40, 7) for rid in batched.write_rounds("test", batch[start:start + 7])]
    assert got == ids == list(range(1, 41))
    for table in (ping_rollups, country_rollups):
        assert_same_rows(all_rows(one_by_one.engine, table), all_rows(batched.engine, table))
    assert all_rows(one_by_one.engine, server_latest) == all_rows(batched.engine, server_latest)
