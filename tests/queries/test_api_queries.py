"""The shared read-side helpers the API is built on: filters, series shaping and gaps."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from queries.filters import MAX_VALUES, QueryError
from queries.querystring import parse_filters, parse_time, time_window
from queries.series import gap_seconds_for, series_frame, series_payload, typical_step

T0 = datetime(2026, 1, 1)


def frame(minutes: list[int], key: str = "Kenya", latency: float = 30.0) -> pd.DataFrame:
    """A ping_series-shaped frame with one row per given minute offset from T0."""
    return pd.DataFrame({"key": key, "bucket": [T0 + timedelta(minutes=m) for m in minutes],
                         "latency_ms": latency, "min_ms": latency, "max_ms": latency, "loss_pct": 0.0,
                         "jitter_ms": 1.0, "mos": 4.4, "rounds": 1})


def test_parse_time_accepts_z_offsets_and_naive_utc():
    assert parse_time("start", "2026-01-01T02:00:00+02:00") == T0
    assert parse_time("start", "2026-01-01T00:00:00Z") == parse_time("start", "2026-01-01T00:00:00") == T0


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "soon", "2026-02-30"])
def test_parse_time_rejects_out_of_range_and_garbage(value):
    with pytest.raises(QueryError) as error:
        parse_time("start", value)
    assert error.value.param == "start"


def test_named_ranges_end_now():
    assert time_window("7d", None, None, now=T0) == ("7d", T0 - timedelta(days=7), T0)


def test_start_without_range_means_custom():
    assert time_window(None, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z")[0] == "custom"


def test_too_many_values_is_a_query_error():
    with pytest.raises(QueryError, match=str(MAX_VALUES)):
        parse_filters({"server": ",".join(str(i) for i in range(MAX_VALUES + 1))})
    assert len(parse_filters({"server": ",".join(str(i) for i in range(MAX_VALUES))}).servers) == MAX_VALUES


def test_series_payload_has_parallel_arrays():
    [series] = series_payload(frame([0, 1, 2]), "country", 60)
    assert series["key"] == series["country"] == "Kenya"
    assert series["timestamps"] == ["2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"]
    assert series["latency_ms"] == [30.0] * 3 and series["rounds"] == [1, 1, 1]


def test_a_long_silence_becomes_one_null_point_after_the_last_value():
    [series] = series_payload(frame([0, 1, 2, 30, 31]), "country", 60, gap_seconds_for(60, 60))
    assert series["timestamps"][3] == "2026-01-01T00:03:00Z"
    assert series["latency_ms"] == [30.0, 30.0, 30.0, None, 30.0, 30.0] and series["rounds"][3] == 0


def test_one_missed_round_is_not_a_gap():
    [series] = series_payload(frame([0, 1, 3, 4]), "country", 60, gap_seconds_for(60, 60))
    assert None not in series["latency_ms"]


def test_history_at_a_slower_cadence_is_not_broken_into_gaps():
    """Rounds every 5 minutes read with today's 1-minute interval: the series' own step sets the bar."""
    minutes = list(range(0, 60, 5))
    assert typical_step(frame(minutes)["bucket"]) == 300
    [series] = series_payload(frame(minutes), "country", 60, gap_seconds_for(60, 60))
    assert None not in series["latency_ms"]


def test_series_frame_is_long_form():
    series = series_payload(pd.concat([frame([0, 1]), frame([0], key="Egypt", latency=110.0)]), "country", 60)
    long = series_frame(series)
    assert list(long.columns) == ["key", "country", "timestamp", "latency_ms", "loss_pct", "jitter_ms", "mos",
                                  "rounds"]
    assert long["latency_ms"].tolist() == [30.0, 30.0, 110.0]
