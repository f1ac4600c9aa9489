"""The raw-row export reads its window an hour at a time (the compact key is per series, so one sort of a month
would hold every row before the first byte) and regroups the rows into chunks of the asked size, oldest first."""
from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from queries.filters import Filters
from queries.pingdata import _rechunked, _slices, export_chunks
from tests.seeding import seed_history


def test_rows_are_regrouped_into_chunks_of_the_asked_size():
    frames = [pd.DataFrame({"n": range(a, b)}) for a, b in ((0, 3), (3, 3), (3, 10), (10, 11))]
    chunks = list(_rechunked(iter(frames), 4))
    assert [list(c["n"]) for c in chunks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]


def test_no_rows_give_one_empty_chunk_with_the_columns():
    chunks = list(_rechunked(iter([pd.DataFrame({"n": []}), pd.DataFrame({"n": []})]), 4))
    assert len(chunks) == 1 and list(chunks[0].columns) == ["n"] and chunks[0].empty


def test_the_window_is_cut_into_consecutive_slices():
    start = datetime(2026, 11, 2, 10, 30)
    parts = list(_slices(Filters(start=start, end=start + timedelta(minutes=150)), timedelta(hours=1)))
    assert [(p.start, p.end) for p in parts] == [(start, start + timedelta(hours=1)),
                                                 (start + timedelta(hours=1), start + timedelta(hours=2)),
                                                 (start + timedelta(hours=2), start + timedelta(minutes=150))]


def test_an_export_over_several_hours_is_oldest_first_in_full_chunks(writer, config):
    end = datetime(2026, 11, 2, 12, 0)
    seed_history(writer, config, end, rounds=40, interval_seconds=600)  # 6.5 h of 4 servers
    chunks = list(export_chunks(writer.engine, Filters(start=end - timedelta(hours=8), end=end + timedelta(1)), 7))
    times = [t for c in chunks for t in pd.to_datetime(c["timestamp"])]
    assert len(times) == 160 and times == sorted(times)
    assert [len(c) for c in chunks] == [7] * 22 + [6]
