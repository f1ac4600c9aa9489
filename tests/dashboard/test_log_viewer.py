"""The log viewer folds each run of routine "round finished" INFO lines into one line with a count, so the lines
that need attention show at the default level; the API still returns every line."""
from __future__ import annotations

from datetime import datetime, timedelta

import callbacks.overview as overview_cb
from queries.logs import recent_logs, viewer_logs

T0 = datetime(2026, 11, 20, 8, 0)


def line(minute: int, level: str, message: str) -> dict:
    """A log row `minute` minutes after T0."""
    return {"timestamp": T0 + timedelta(minutes=minute), "level": level, "message": message,
            "module": "collector.service", "traceback": None, "collector": "lab-1"}


def routine(minute: int) -> dict:
    return line(minute, "INFO", f"round finished in 1.{minute % 10} s: 4/4 servers answered, 0 with concerns")


def a_day_of_rounds(writer) -> None:
    """240 routine lines a minute apart, with a warning after minute 99 and an error after minute 199."""
    rows = [routine(m) for m in range(240)]
    rows.insert(100, line(99, "WARNING", "alert opened: Jitter on Lagos Link Nigeria (127.0.0.3): 41.0 ms"))
    rows.insert(201, line(199, "ERROR", "alert opened: Down on Nile Telecom Egypt (127.0.0.4): 0 of 4 replies"))
    writer.write_logs(rows)


def test_runs_of_routine_lines_fold_into_one_row_each_between_the_lines_that_need_reading(writer, engine):
    a_day_of_rounds(writer)
    rows = viewer_logs(engine, limit=100, level="INFO")
    assert [(r.level, int(r["count"])) for _, r in rows.iterrows()] == [
        ("INFO", 40), ("ERROR", 1), ("INFO", 100), ("WARNING", 1), ("INFO", 100)]
    newest = rows.iloc[0]
    assert newest["timestamp"] == T0 + timedelta(minutes=239)
    assert newest["first_timestamp"] == T0 + timedelta(minutes=200)
    assert newest["message"] == routine(239)["message"]  # the run shows its newest line
    assert rows.iloc[-1]["first_timestamp"] == T0 and rows.iloc[-1]["timestamp"] == T0 + timedelta(minutes=99)
    assert int(rows["count"].sum()) == 242  # every line is accounted for, once
    assert len(recent_logs(engine, limit=1000, level="INFO")) == 242  # and the API still has each one


def test_the_warnings_level_shows_only_the_lines_that_need_attention(writer, engine):
    a_day_of_rounds(writer)
    rows = viewer_logs(engine, limit=100, level="WARNING")
    assert list(rows["level"]) == ["ERROR", "WARNING"] and list(rows["count"]) == [1, 1]


def test_a_limit_that_cuts_the_lines_leaves_out_the_routine_runs_older_than_the_last_line_shown(writer, engine):
    a_day_of_rounds(writer)
    rows = viewer_logs(engine, limit=1, level="INFO")
    assert [(r.level, int(r["count"])) for _, r in rows.iterrows()] == [("INFO", 40), ("ERROR", 1)]


def test_search_applies_to_the_routine_lines_too(writer, engine):
    a_day_of_rounds(writer)
    rows = viewer_logs(engine, limit=100, level="INFO", search="finished in 1.3 s")
    assert list(rows["count"]) == [24]  # minutes ending in 3, one run: no line between them matches


def test_only_routine_lines_make_one_row_and_no_lines_make_none(writer, engine):
    assert viewer_logs(engine).empty
    writer.write_logs([routine(m) for m in range(5)])
    rows = viewer_logs(engine)
    assert list(rows["count"]) == [5]


def test_the_viewer_reads_one_folded_line_with_its_count(writer, app):
    a_day_of_rounds(writer)
    with app.server.test_request_context():
        lines = overview_cb.overview_now("", "INFO", "")["logs"]  # the LogFeed's lines (assets/25_components.js)
    folded = [line for line in lines if line[5] > 1]
    assert [(line[5], line[6]) for line in folded] == [(40, "round finished"), (100, "round finished"),
                                                       (100, "round finished")]
    assert any("alert opened: Down on Nile Telecom" in line[4] for line in lines)
    assert folded[-1][2] == "08:00 – 2026-11-20 09:39:00"  # a run's first and last line
