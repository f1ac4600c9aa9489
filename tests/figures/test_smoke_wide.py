"""The smoke view stays light at wide windows: per-packet smoke while the samples are few enough, a summary
from the stored rollups beyond (never reading the rounds), and the note saying which one is shown."""
from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from dash import no_update

import callbacks.smoke as smoke_cb
from figures.smoke import figure_height, summary_figure, summary_note
from queries.querystring import parse_filters
from queries.history import (SUMMARY_COLUMNS, _explode_slow, explode_samples, rollup_bands, summary_bands,
                             summary_bucket_seconds)

THRESHOLDS = {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500}
T0 = pd.Timestamp("2026-11-01 00:00:00")


@pytest.fixture
def ctx(app):
    """Run code as a callback would: inside a request of the app."""
    with app.server.test_request_context():
        yield app


def rounds_frame(samples: list) -> pd.DataFrame:
    """A round_samples-shaped frame, one round a minute, of samples values (JSON text or anything)."""
    return pd.DataFrame({"server_id": [f"s{i % 2}" for i in range(len(samples))],
                         "timestamp": [T0 + pd.Timedelta(minutes=i) for i in range(len(samples))],
                         "samples": samples, "packets_transmitted": 3, "packets_received": 2})


# -- parsing samples ---------------------------------------------------------------------------

def test_the_fast_explode_matches_the_row_by_row_one():
    rounds = rounds_frame([json.dumps([10.5, None, 12]), "[]", None, "", json.dumps([7.25])])
    fast, slow = explode_samples(rounds), _explode_slow(rounds)
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False)
    assert fast["rtt_ms"].dtype == float and list(fast["server_id"]) == ["s0"] * 3 + ["s0"]


@pytest.mark.parametrize("odd", ["not json", "null", '{"a": 1}', '["x"]', "[[1]]", 5, "[3]],[[4", "[3],[4"])
def test_an_odd_row_falls_back_and_loses_only_itself(odd):
    rounds = rounds_frame([json.dumps([1.0, 2.0]), odd])
    assert explode_samples(rounds)["rtt_ms"].dropna().tolist() == [1.0, 2.0]


# -- the summary from rollups ------------------------------------------------------------------

def test_summary_bucket_is_a_multiple_the_rollups_answer():
    assert [summary_bucket_seconds(b) for b in (60, 300, 900, 3600, 10800, 86400, 301)] == \
        [300, 300, 900, 3600, 10800, 86400, 600]


def test_summary_bands_renames_a_per_server_series():
    series = pd.DataFrame([{"key": "a", "bucket": T0, "latency_ms": 40.0, "min_ms": 30.0, "max_ms": 90.0,
                            "loss_pct": 25.0, "jitter_ms": 1.0, "mos": 4.3, "rounds": 12,
                            "server_ip": "a", "partner": "P", "country": "C"}])
    out = summary_bands(series)
    assert list(out.columns) == SUMMARY_COLUMNS
    assert out.iloc[0][["rtt_min", "rtt_mean", "rtt_max", "loss_pct", "rounds"]].tolist() == [30, 40, 90, 25, 12]


def test_rollup_bands_read_the_rollups(seeded, engine):
    filters = parse_filters({"range": "custom", "start": (seeded["end"] - timedelta(hours=6)).isoformat() + "Z",
                             "end": (seeded["end"] + timedelta(seconds=1)).isoformat() + "Z"})
    bands = rollup_bands(engine, filters, ["127.0.0.1", "127.0.0.3"], 3600)
    assert set(bands["server_id"]) == {"127.0.0.1", "127.0.0.3"}
    first = bands[bands["server_id"] == "127.0.0.3"].iloc[0]
    assert (first["rtt_min"], first["rtt_mean"], first["rtt_max"]) == (80.0, 80.0, 80.0)  # 20 + 30 * 2 ms
    assert bands.groupby("server_id")["rounds"].sum().min() >= 6 * 12  # every round of the hours touched
    assert (bands.groupby("server_id")["bucket"].diff().dropna() == pd.Timedelta(hours=1)).all()


def test_summary_figure_draws_a_band_and_the_mean_and_says_what_they_are():
    bands = pd.DataFrame([{"server_id": sid, "bucket": T0 + pd.Timedelta(hours=h), "rtt_min": 20.0,
                           "rtt_mean": 25.0, "rtt_max": 60.0, "loss_pct": 10.0 if h == 1 else 0.0, "rounds": 60}
                          for sid in ("a", "b") for h in range(4)])
    fig = summary_figure(bands, {"a": "A", "b": "B"}, THRESHOLDS, bucket_seconds=3600, gap_seconds=7200,
                         window=(T0, T0 + pd.Timedelta(hours=4)))
    assert fig.layout.height == figure_height(2)
    assert len([t for t in fig.data if t.fill == "toself"]) == 2  # one min-max band per server
    means = [t for t in fig.data if t.name == "mean"]
    assert len(means) == 2 and list(means[0].y) == [25.0] * 4 and "mean" in means[0].hovertemplate
    assert len([t for t in fig.data if t.mode == "markers"]) == 2  # the lossy hour of each
    assert fig.layout.xaxis2.title.text == f"{summary_note(3600)} · times UTC"
    assert "1-hour summary" in summary_note(3600) and "fastest to slowest" in summary_note(3600)


# -- choosing the view -------------------------------------------------------------------------

def test_the_bound_on_parsed_samples(config):
    limit = smoke_cb.MAX_SMOKE_SAMPLES
    assert not smoke_cb.smoke_is_wide(limit) and smoke_cb.smoke_is_wide(limit + 1)
    day = parse_filters({"range": "24h"})
    week = parse_filters({"range": "7d"})
    # the test config: a round a minute, 4 packets each
    assert smoke_cb.smoke_samples(day, 4, 0, config) == 4 * 1440 * 4  # per-packet smoke
    assert not smoke_cb.smoke_is_wide(smoke_cb.smoke_samples(day, 4, 0, config))
    assert smoke_cb.smoke_is_wide(smoke_cb.smoke_samples(week, 4, 0, config))  # the summary
    # more rounds stored than the interval makes (history at a shorter interval) count as they are
    assert smoke_cb.smoke_samples(day, 1, 10_000, config) == 40_000


def refuse(*_args, **_kwargs):
    raise AssertionError("the rounds must not be read")


def test_a_wide_window_is_drawn_from_the_rollups_without_reading_rounds(seeded, ctx, monkeypatch):
    monkeypatch.setattr(smoke_cb, "MAX_SMOKE_SAMPLES", 100)  # 24 h of 4 samples a round is now "wide"
    monkeypatch.setattr(smoke_cb, "round_samples", refuse)
    monkeypatch.setattr(smoke_cb, "explode_samples", refuse)
    fig, style, sig = smoke_cb.refresh_smoke("?range=24h", 0, ["127.0.0.1", "127.0.0.2"], "samples", False, None)
    assert [t.name for t in fig.data if t.name in ("mean", "median", "samples")] == ["mean", "mean"]
    assert "summary" in fig.layout.xaxis2.title.text and "5-min" in fig.layout.xaxis2.title.text
    means = [t for t in fig.data if t.name == "mean"]
    assert np.nanmax(np.asarray(means[1].y, dtype=float)) == 50.0  # server 2 answers in 20 + 30 ms
    assert smoke_cb.refresh_smoke("?range=24h", 1, ["127.0.0.1", "127.0.0.2"], "samples", False, sig) == \
        (no_update,) * 3


def test_a_narrow_window_keeps_the_per_packet_smoke(seeded, ctx):
    fig, *_ = smoke_cb.refresh_smoke("?range=24h", 0, ["127.0.0.1"], "bands", False, None)
    assert [t.name for t in fig.data if t.name in ("mean", "median")] == ["median"]
    assert fig.layout.xaxis.title.text.startswith("Per-packet RTT, 5-min buckets")
    dots, *_ = smoke_cb.refresh_smoke("?range=1h", 0, ["127.0.0.1"], "samples", False, None)
    assert dots.layout.xaxis.title.text.startswith("Every answered packet")


def test_too_many_dots_fall_back_to_bands_and_say_so(seeded, ctx, monkeypatch):
    monkeypatch.setattr(smoke_cb, "MAX_SAMPLE_POINTS", 10)
    fig, *_ = smoke_cb.refresh_smoke("?range=1h", 0, ["127.0.0.1"], "samples", False, None)
    assert "Too many packets to draw one by one (48)" in fig.layout.xaxis.title.text
