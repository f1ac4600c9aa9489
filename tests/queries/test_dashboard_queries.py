"""The dashboard's read-side queries: catalog, per-round samples, smoke bands, warnings."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import pandas as pd
import pytest

from collector.probes.base import ProbeResult
from queries.catalog import filter_choices, find_server, matching, servers_frame
from queries.querystring import parse_filters
from queries.history import (data_version, distribution_summary, explode_samples, round_samples, row_count,
                             rtt_values, smoke_bands)
from queries.warnings import concern_history, concern_kind, concern_summary, split_concerns
from tests.seeding import seed_history


def window(seeded, hours=24):
    """Filters covering the seeded history (it ends at seeded['end'])."""
    return parse_filters({"range": "custom", "start": (seeded["end"] - timedelta(hours=hours)).isoformat() + "Z",
                          "end": (seeded["end"] + timedelta(seconds=1)).isoformat() + "Z"})


def rounds_frame(rows):
    """A round_samples-shaped frame from (server, minute, samples, sent, received) tuples."""
    base = pd.Timestamp("2026-11-01 12:00:00")
    return pd.DataFrame([{"server_id": s, "timestamp": base + pd.Timedelta(minutes=m), "samples": json.dumps(smp),
                          "packets_transmitted": sent, "packets_received": recv} for s, m, smp, sent, recv in rows])


# -- catalog -----------------------------------------------------------------------------------

def test_servers_frame_and_choices_follow_the_config(config):
    frame = servers_frame(config)
    assert list(frame["server_id"]) == ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert filter_choices(config) == {"countries": ["Egypt", "Kenya", "Nigeria"],
                                      "partners": ["Lagos Link", "Nile Telecom", "Safari Voice"]}


def test_matching_combines_country_and_partner(config):
    frame = servers_frame(config)
    assert list(matching(frame, ("Kenya", "Egypt"))["server_id"]) == ["127.0.0.1", "127.0.0.2", "127.0.0.4"]
    assert list(matching(frame, ("Kenya",), ("Lagos Link",))["server_id"]) == []
    assert len(matching(frame)) == 4


def test_find_server(config):
    assert find_server(config, "127.0.0.3")["partner"] == "Lagos Link"
    assert find_server(config, "10.9.9.9") is None


# -- history -----------------------------------------------------------------------------------

def test_data_version_changes_when_a_round_is_written(seeded, engine):
    filters = window(seeded)
    before = data_version(engine, filters)
    assert data_version(engine, filters) == before  # nothing new: the same stamp
    seed_history(seeded["writer"], seeded["config"], seeded["end"] + timedelta(seconds=0.5), rounds=1)
    assert data_version(engine, filters)[0] > before[0]


def test_data_version_moves_with_a_sliding_window(seeded, engine):
    filters = window(seeded)
    later = replace(filters, start=filters.start + timedelta(minutes=1), end=filters.end + timedelta(minutes=1))
    assert data_version(engine, later) != data_version(engine, filters)


def test_data_version_of_a_bucketed_view_moves_only_by_whole_buckets(seeded, engine):
    filters = window(seeded)
    start = filters.start.replace(minute=filters.start.minute - filters.start.minute % 5, second=10, microsecond=0)
    at = lambda minutes: replace(filters, start=start + timedelta(minutes=minutes),  # noqa: E731
                                 end=filters.end + timedelta(minutes=minutes))
    # A 5-minute-bucket view draws the same buckets from :00:10 to :04:10; the next bucket changes the stamp.
    assert data_version(engine, at(0), 300) == data_version(engine, at(4), 300)
    assert data_version(engine, at(5), 300) != data_version(engine, at(4), 300)
    assert data_version(engine, at(1), 60) != data_version(engine, at(0), 60)  # minute buckets: every minute


def test_data_version_and_row_count_of_an_empty_database(config, writer, engine):
    filters = parse_filters({"range": "1h"})
    assert data_version(engine, filters)[0] is None and row_count(engine, filters) == 0


def test_row_count_counts_the_selected_rounds(seeded, engine):
    assert row_count(engine, window(seeded)) == 288 * 4
    assert row_count(engine, replace(window(seeded), servers=("127.0.0.2",))) == 288


def test_round_samples_returns_each_round_of_the_chosen_servers(seeded, engine):
    df = round_samples(engine, window(seeded, hours=1), ["127.0.0.2"])
    assert set(df["server_id"]) == {"127.0.0.2"}
    assert len(df) == 13  # rounds every 5 minutes, both ends of the hour included
    assert json.loads(df["samples"].iloc[0]) == [50.0] * 4
    assert df["timestamp"].is_monotonic_increasing


def test_explode_samples_keeps_lost_packets_as_nan():
    long = explode_samples(rounds_frame([("a", 0, [10.0, None, 12.0], 3, 2), ("b", 0, [5.0], 1, 1)]))
    assert len(long) == 4
    assert long["rtt_ms"].isna().sum() == 1
    assert list(long["server_id"]) == ["a", "a", "a", "b"]


def test_explode_samples_tolerates_missing_and_broken_json():
    frame = rounds_frame([("a", 0, [1.0], 1, 1)])
    frame = pd.concat([frame, frame.assign(samples=None), frame.assign(samples="not json")], ignore_index=True)
    assert explode_samples(frame)["rtt_ms"].dropna().tolist() == [1.0]


def test_smoke_bands_quantiles_and_packet_weighted_loss():
    rounds = rounds_frame([("a", 0, [10.0, 20.0, 30.0, 40.0, 50.0], 5, 5),
                           ("a", 1, [None, None, 60.0, 70.0, 80.0], 5, 3),
                           ("a", 10, [100.0], 1, 1)])
    bands = smoke_bands(rounds, bucket_seconds=300)
    assert len(bands) == 2
    first = bands.iloc[0]
    assert (first["rtt_min"], first["median"], first["rtt_max"]) == (10.0, 45.0, 80.0)
    assert first["loss_pct"] == pytest.approx(20.0)
    assert (first["rounds"], first["replies"]) == (2, 8)
    assert bands.iloc[1]["median"] == 100.0


def test_smoke_bands_of_a_server_that_never_answered():
    bands = smoke_bands(rounds_frame([("a", 0, [None, None], 2, 0)]), bucket_seconds=60)
    assert bands.iloc[0]["loss_pct"] == 100.0
    assert pd.isna(bands.iloc[0]["median"]) and bands.iloc[0]["replies"] == 0


def test_rtt_values_and_distribution_summary():
    values = rtt_values(rounds_frame([("a", 0, [float(v) for v in range(1, 101)] + [None], 101, 100)]))
    assert len(values) == 100
    summary = distribution_summary(values)
    assert summary["count"] == 100 and summary["p50"] == pytest.approx(50.5)
    assert summary["p95"] == pytest.approx(95.05) and summary["p99"] == pytest.approx(99.01)
    assert distribution_summary(pd.Series([], dtype=float)) == {"count": 0, "p50": None, "p95": None, "p99": None}


# -- warnings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind", [("no reply (100% loss)", "down"), ("probe failed: timeout", "down"),
                                        ("high latency 180.0 ms (poor)", "latency"), ("packet loss 25.0%", "loss"),
                                        ("jitter 41.0 ms", "jitter"), ("something new", "other")])
def test_concern_kind(text, kind):
    assert concern_kind(text) == kind


def test_split_concerns():
    assert split_concerns("packet loss 5.0%; jitter 40.0 ms; ") == ["packet loss 5.0%", "jitter 40.0 ms"]
    assert split_concerns(None) == [] and split_concerns(float("nan")) == []


def test_concern_history_and_summary(config, writer, engine):
    end = pd.Timestamp("2026-11-01 12:00:00").to_pydatetime()

    def sometimes_slow(k, r):
        return ProbeResult(transmitted=4, received=4, samples_ms=[200.0 if r % 2 else 20.0] * 4)

    seed_history(writer, config, end, rounds=6, interval_seconds=60, profile=sometimes_slow)
    filters = parse_filters({"range": "custom", "start": "2026-11-01T11:00:00Z", "end": "2026-11-01T13:00:00Z"})
    history = concern_history(engine, "127.0.0.1", filters)
    assert len(history) == 3 and history["timestamp"].is_monotonic_decreasing
    summary = concern_summary(history)
    assert summary.to_dict("records") == [{
        "kind": "latency", "rounds": 3, "first": pd.Timestamp("2026-11-01 11:56:00"),
        "last": pd.Timestamp("2026-11-01 12:00:00"), "latest": "high latency 200.0 ms (poor)"}]
    assert concern_summary(history.iloc[0:0]).empty


def test_a_live_window_settles_to_its_last_whole_bucket_and_a_custom_one_stays():
    from datetime import timezone
    from queries.filters import Filters, settled
    live = Filters(start=datetime(2026, 12, 3, 23, 7, 31, 5), end=datetime(2026, 12, 4, 23, 7, 31, 5))
    assert (settled(live, 300).start, settled(live, 300).end) == (datetime(2026, 12, 3, 23, 5),
                                                                  datetime(2026, 12, 4, 23, 5))
    aware = Filters(start=datetime(2026, 12, 4, 22, 7, tzinfo=timezone.utc),
                    end=datetime(2026, 12, 4, 23, 7, tzinfo=timezone.utc), range="1h")
    assert settled(aware, 60) == aware and settled(aware, 3600).end == datetime(2026, 12, 4, 23, tzinfo=timezone.utc)
    custom = Filters(start=live.start, end=live.end, range="custom")
    assert settled(custom, 300) == custom
