"""The status cards' heartbeat: one query for every server's last rounds (queries.status.recent_rounds) and
the strip it draws (layouts.status.heartbeat), down to the callback that puts them on the page."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from dash._utils import to_json
from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql

import callbacks.overview as overview_cb
import queries.status as status_q
from collector.probes.base import ProbeResult
from layouts import status as cards
from queries.status import Beat, recent_rounds, recent_rounds_stmt
from storage.schema import ping_results as pr
from tests.seeding import seed_history
from tests.helpers.dash_tree import status_row, walk

CSS = Path(__file__).resolve().parents[2] / "assets" / "10_dashboard.css"
T0 = datetime(2026, 11, 1, 12, 0, 0)
IDS = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]


@pytest.fixture
def uneven(config, writer):
    """127.0.0.1: 11 rounds, 127.0.0.2: 8, 127.0.0.3 and .4: none (one minute apart, ending at T0 + 10 min)."""
    first_two = replace(config, servers=config.servers[:2])
    seed_history(writer, first_two, T0 + timedelta(minutes=7), rounds=8, interval_seconds=60)
    seed_history(writer, replace(config, servers=config.servers[:1]), T0 + timedelta(minutes=10), rounds=3,
                 interval_seconds=60)
    return config


def newest_times(engine, server_id: str, count: int) -> list[datetime]:
    """The oracle: a server's newest `count` round times, oldest first, by a plain per-server query."""
    stmt = select(pr.c.timestamp).where(pr.c.server_id == server_id).order_by(pr.c.timestamp.desc()).limit(count)
    with engine.connect() as conn:
        return sorted(conn.execute(stmt).scalars())


def count_statements(engine) -> list[str]:
    """A list that collects every SQL statement the engine runs from now on."""
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def beat(code: str, minute: int = 0, avg: float | None = 60.0, loss: float = 0.0) -> Beat:
    """A Beat of latency class `code` ('down' for a failed round) at T0 + minute."""
    if code == "down":
        return Beat(T0 + timedelta(minutes=minute), "down", False, None, 100.0)
    return Beat(T0 + timedelta(minutes=minute), code, True, avg, loss)


# -- the query -----------------------------------------------------------------------------------

def test_recent_rounds_are_each_servers_newest_oldest_first(seeded, engine):
    found = recent_rounds(engine, IDS, per_server=5)
    assert list(found) == IDS
    for sid in IDS:
        assert [b.timestamp for b in found[sid]] == newest_times(engine, sid, 5) == seeded["times"][-5:]
    # steady profile: server k answers in 20 + 30k ms, every packet
    assert [b.avg_time for b in found["127.0.0.4"]] == [110.0] * 5
    assert all(b.success and b.loss_percentage == 0 and b.latency_class for b in found["127.0.0.4"])


def test_recent_rounds_with_fewer_rounds_than_asked_and_none_at_all(uneven, engine):
    found = recent_rounds(engine, IDS, per_server=10)
    assert [len(found[sid]) for sid in IDS] == [10, 8, 0, 0]
    assert [b.timestamp for b in found["127.0.0.1"]] == [T0 + timedelta(minutes=m) for m in range(1, 11)]
    assert [b.timestamp for b in found["127.0.0.2"]] == [T0 + timedelta(minutes=m) for m in range(8)]


@pytest.mark.parametrize("per_server", [1, 3, 8, 11, 50])
def test_recent_rounds_keeps_per_server_rounds(uneven, engine, per_server):
    found = recent_rounds(engine, IDS, per_server=per_server)
    for sid in IDS:
        assert [b.timestamp for b in found[sid]] == newest_times(engine, sid, per_server)


def test_recent_rounds_of_nothing(uneven, engine):
    assert recent_rounds(engine, []) == {}
    assert recent_rounds(engine, ["10.9.9.9"]) == {"10.9.9.9": []}
    assert recent_rounds(engine, IDS[:2], per_server=0) == {"127.0.0.1": [], "127.0.0.2": []}


def test_recent_rounds_is_one_query_whatever_the_number_of_servers(seeded, engine):
    statements = count_statements(engine)
    recent_rounds(engine, IDS[:1], per_server=30)
    one = len(statements)
    recent_rounds(engine, IDS, per_server=30)
    assert one == 1 and len(statements) == 2


def test_recent_rounds_chunks_long_id_lists(uneven, engine, monkeypatch):
    whole = recent_rounds(engine, IDS, per_server=4)
    monkeypatch.setattr(status_q, "ID_CHUNK", 1)
    assert recent_rounds(engine, IDS, per_server=4) == whole


def test_two_rows_at_the_same_time_do_not_exceed_per_server(config, writer, engine):
    seed_history(writer, config, T0, rounds=5, interval_seconds=60)
    seed_history(writer, config, T0, rounds=1, collector="second collector")  # same time as the newest round
    found = recent_rounds(engine, IDS, per_server=3)
    assert [len(found[sid]) for sid in IDS] == [3, 3, 3, 3]
    assert found["127.0.0.1"][-1].timestamp == T0


def test_recent_rounds_statement_is_plain_sql_for_postgresql():
    sql = str(recent_rounds_stmt(IDS, 30).compile(dialect=postgresql.dialect(),
                                                 compile_kwargs={"literal_binds": True}))
    assert "LIMIT 1 OFFSET 29" in sql and "coalesce(cut.since" in sql and "row_number" not in sql


# -- the strip -----------------------------------------------------------------------------------

@pytest.mark.parametrize("b, code", [(beat("excellent"), "e"), (beat("good"), "g"), (beat("fair"), "f"),
                                     (beat("poor"), "p"), (beat("critical"), "c"), (beat("down"), "d"),
                                     (Beat(T0, None, True, 60.0, 0.0), "u"), (Beat(T0, "poor", False, 400.0, 0), "d"),
                                     (Beat(T0, "new-class", True, 60.0, 0.0), "u")])
def test_beat_code(b, code):
    assert cards.beat_code(b) == code


def test_beat_codes_put_the_newest_last_and_pad_missing_slots_grey():
    beats = [beat("good", 0), beat("down", 1), beat("fair", 2)]
    assert cards.beat_codes(beats, 5) == "mmgdf"
    assert cards.beat_codes(beats, 2) == "df"
    assert cards.beat_codes([], 3) == "mmm"
    assert cards.beat_codes(beats, 0) == ""


def test_strip_background_has_a_hard_stop_per_run():
    assert cards.strip_background("gggg") == "var(--g)"
    assert cards.strip_background("mmgd") == "linear-gradient(90deg,var(--m) 0 50%,var(--g) 0 75%,var(--d) 0 100%)"
    assert cards.strip_background("egf") == "linear-gradient(90deg,var(--e) 0 33.33%,var(--g) 0 66.67%,var(--f) 0 100%)"
    assert cards.strip_background("") == "none"


def test_every_letter_has_a_colour_in_the_stylesheet():
    rule = re.search(r"\.lm-heartbeat \{(.*?)\}", CSS.read_text(), re.S).group(1)
    defined = set(re.findall(r"--([a-z])\s*:", rule))
    assert set(cards.BEAT_CODES.values()) | set(cards.BEAT_NAMES) | {cards.NO_ROUND} <= defined
    assert "mask" in rule and "var(--n, 30)" in rule and cards.HEARTBEAT_SLOTS == 30


def test_a_server_without_rounds_gets_a_grey_strip():
    strip = cards.heartbeat([])
    assert strip.style == {"background": "var(--m)"} and strip.title == "No round stored yet"


def test_heartbeat_of_a_few_rounds():
    strip = cards.heartbeat([beat("good", 0, 60.0), beat("down", 1), beat("fair", 2, 120.0, loss=25.0)], slots=5)
    assert strip.style == {"background": cards.strip_background("mmgdf"), "--n": 5}
    lines = strip.title.split("\n")
    assert lines[0] == "Only 3 rounds stored, 12:00-12:02 UTC: 1 good, 1 fair, 1 down"
    assert lines[1] == "avg 90.0 ms, max 120.0 ms, loss 41.7%"
    assert lines[2] == "down at 12:01"


def test_heartbeat_title_lists_the_newest_down_and_critical_rounds():
    beats = [beat("down", m) for m in range(5)] + [beat("critical", 5, 600.0)] + [beat("good", m) for m in range(6, 30)]
    strip = cards.heartbeat(beats)
    assert "--n" not in strip.style
    assert strip.title.split("\n")[0] == "Last 30 rounds, 12:00-12:29 UTC: 24 good, 1 critical, 5 down"
    assert strip.title.split("\n")[2] == "down at 12:04, 12:03, 12:02 (+2 more); critical at 12:05"


def test_heartbeat_keeps_only_the_last_slots():
    beats = [beat("down", 0)] + [beat("good", m) for m in range(1, 31)]
    strip = cards.heartbeat(beats)
    assert strip.style["background"] == "var(--g)" and "down" not in strip.title


def test_heartbeat_dates_a_span_only_over_midnight():
    same_day = cards.heartbeat([beat("good", -5), beat("good", 5)], slots=2)
    assert same_day.title.startswith("Last 2 rounds, 11:55-12:05 UTC")
    late = [Beat(datetime(2026, 11, 1, 23, 59), "good", True, 50.0, 0.0),
            Beat(datetime(2026, 11, 2, 0, 1), "good", True, 50.0, 0.0)]
    assert cards.heartbeat(late, slots=2).title.startswith("Last 2 rounds, 2026-11-01 23:59 - 2026-11-02 00:01 UTC")


def test_heartbeat_takes_a_frame_too():
    frame = pd.DataFrame([{"server_id": "a", "timestamp": T0, "latency_class": "good", "success": True,
                           "avg_time": 60.0, "loss_percentage": float("nan")}])
    strip = cards.heartbeat(frame, slots=2)
    assert strip.style["background"] == cards.strip_background("mg") and "loss" not in strip.title


def test_a_strip_is_a_few_hundred_bytes():
    mixed = [beat(("good", "fair", "down")[m % 3], m, 80.0) for m in range(30)]  # the worst case: 30 runs
    assert len(to_json(cards.heartbeat(mixed))) < 900
    assert len(to_json(cards.heartbeat([beat("good", m) for m in range(30)]))) < 300


def test_tiles_give_each_server_its_own_strip():
    status = pd.DataFrame([status_row(server_id="a", country="Kenya"), status_row(server_id="b", country="Egypt")])
    tiles, _ = cards.server_tiles(status, {"a": [beat("down", 0)]}, slots=3)
    strips = {t["id"]: t["hb"] for t in tiles}
    assert strips == {"a": "mmd", "b": "mmm"}  # b has no rounds: three empty slots
    assert cards.strip_background(strips["a"]) == "linear-gradient(90deg,var(--m) 0 66.67%,var(--d) 0 100%)"


# -- the callback --------------------------------------------------------------------------------

def strips_of(parts) -> dict[str, str]:
    """Each tile's heartbeat letters by server id, from one refresh's parts."""
    return {t["id"]: t["hb"] for t in parts["tiles"]}


def test_cards_show_each_servers_last_rounds(seeded, ctx):
    parts = overview_cb.overview_now("")
    strips = strips_of(parts)
    assert sorted(strips) == IDS
    # steady profile: 20, 50, 80 and 110 ms, the same class in every round
    assert [strips[sid] for sid in IDS] == ["e" * 30, "e" * 30, "g" * 30, "f" * 30]
    assert all(t["ht"].startswith(f"Last {overview_cb.HEARTBEAT_ROUNDS} rounds") for t in parts["tiles"])


def test_cards_need_one_recent_rounds_query_for_any_number_of_servers(seeded, ctx):
    rt = ctx.server.extensions["latency_monitor"]
    statements = count_statements(rt.read_engine)
    overview_cb.overview_now("?country=Egypt")  # one server shown
    few = len(statements)
    rt.cache.clear()  # the shared status read would otherwise be served from the first call
    overview_cb.overview_now("")  # four servers
    assert len(statements) - few == few
    assert sum("WITH cut AS" in s for s in statements) == 2  # recent_rounds once per refresh


def test_cards_still_render_when_the_rounds_query_fails(seeded, ctx, monkeypatch):
    def broken(*_args, **_kwargs):
        raise RuntimeError("database is locked")
    monkeypatch.setattr(overview_cb, "recent_rounds", broken)
    assert set(strips_of(overview_cb.overview_now("")).values()) == {"m" * 30}


def test_a_server_with_few_rounds_shows_grey_slots(config, writer, ctx):
    def fast(_server, _round):
        return ProbeResult(transmitted=4, received=4, samples_ms=[30.0] * 4)
    seed_history(writer, config, T0, rounds=3, interval_seconds=60, profile=fast)
    assert strips_of(overview_cb.overview_now(""))["127.0.0.1"] == "m" * 27 + "eee"
