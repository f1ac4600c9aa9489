"""SLA figures and incidents against a truth built on purpose: seeded rounds every 60 s with known down spans,
a degraded span, a gap in rounds (unmeasured) and a month boundary (issue 15)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from collector.probes.base import ProbeResult
from queries.filters import Filters, QueryError
from queries.sla import ROW_FIELDS, incident_records, maintenance_seconds, month_window, sla_rows
from settings import validate_config
from storage import incidents as incident_store
from storage.migrations import init_db
from storage.schema import incidents
from tests.conftest import make_config_dict
from tests.helpers.sla import DEGRADED, DOWN, FIRST, NOVEMBER, NOW, outage_profile
from tests.seeding import seed_history

@pytest.fixture
def sla_config(tmp_path):
    """The test servers, 60 s rounds; Lagos Link's target 99.5, the Egypt server's own override 100."""
    data = make_config_dict(tmp_path, sla_target_percent={"partners": {"Lagos Link": 99.5}})
    data["servers"][3]["sla_target_percent"] = 100
    return validate_config(data, source=str(tmp_path / "config.json"))


@pytest.fixture
def seeded(sla_config, tmp_path):
    """240 rounds 23:00-02:59 with the outages, nothing 03:00-03:59 (collector stopped), 60 up rounds 04:00-04:59."""
    from storage import open_writer
    from storage.engine import make_engine
    writer = open_writer(sla_config.database_target())
    seed_history(writer, sla_config, FIRST + timedelta(minutes=239), 240, 60, outage_profile)
    seed_history(writer, sla_config, datetime(2026, 11, 1, 4, 59), 60, 60)
    engine = make_engine(sla_config.database_target(), readonly=True)
    yield writer, engine
    engine.dispose()
    writer.engine.dispose()


def by_key(rows):
    return {r["key"]: r for r in rows}


def test_server_figures_to_the_round(sla_config, seeded):
    rows = by_key(sla_rows(seeded[1], sla_config, NOVEMBER, "server", NOW))
    assert all(set(ROW_FIELDS) <= set(r) for r in rows.values())
    s0 = rows["127.0.0.1"]
    # November: 180 rounds 00:00-02:59 + 60 rounds 04:00-04:59 = 14,400 s measured; 03:00-03:59 unmeasured.
    # Down: 00:00-00:09 (the tail of the incident that began 23:50) and 01:00-01:04 = 15 rounds.
    assert s0["down_seconds"] == 900 and s0["up_seconds"] == 13_500
    assert s0["unmeasured_seconds"] == 3600 and s0["maintenance_seconds"] == 0
    assert s0["availability_percent"] == 93.75
    assert s0["incidents"] == 1  # the one that started in October is not counted in November
    assert s0["mttr_seconds"] == 300 and s0["longest_incident_seconds"] == 300 and s0["mtbf_seconds"] == 13_500
    assert s0["sla_target_percent"] == 99.9 and s0["error_budget_seconds"] == 14.4
    assert s0["error_budget_left_seconds"] == pytest.approx(14.4 - 900) and s0["met"] is False
    s1 = rows["127.0.0.2"]
    assert s1["down_seconds"] == 13 * 60 and s1["incidents"] == 1 and s1["mttr_seconds"] == 480
    lagos = rows["127.0.0.3"]
    assert lagos["degraded_seconds"] == 600 and lagos["availability_percent"] == 100 and lagos["met"] is True
    assert lagos["sla_target_percent"] == 99.5 and lagos["error_budget_seconds"] == pytest.approx(72.0)
    assert lagos["error_budget_left_seconds"] == pytest.approx(72.0) and lagos["mttr_seconds"] is None
    nile = rows["127.0.0.4"]
    assert nile["sla_target_percent"] == 100 and nile["error_budget_seconds"] == 0 and nile["met"] is True


def test_october_side_of_the_month_boundary(sla_config, seeded):
    october = Filters(start=datetime(2026, 10, 1), end=datetime(2026, 11, 1), range="custom")
    s0 = by_key(sla_rows(seeded[1], sla_config, october, "server", NOW))["127.0.0.1"]
    # 60 rounds 23:00-23:59, 10 of them down; the incident began 23:50 and ended at 00:10 (20 min).
    assert s0["up_seconds"] == 3000 and s0["down_seconds"] == 600 and s0["incidents"] == 1
    assert s0["mttr_seconds"] == 1200 and s0["unmeasured_seconds"] == 30 * 86400 + 23 * 3600


def test_partner_down_only_when_all_its_servers_are(sla_config, seeded):
    rows = by_key(sla_rows(seeded[1], sla_config, NOVEMBER, "partner", NOW))
    safari = rows["Safari Voice"]
    # Both Kenya servers were down together 23:55-00:05 (November part: 00:00-00:05) and 01:02-01:05.
    assert safari["down_seconds"] == 300 + 180
    assert safari["any_server_down_seconds"] == 600 + 600  # 00:00-00:10 and 01:00-01:10
    assert safari["incidents"] == 1 and safari["mttr_seconds"] == 180
    assert safari["up_seconds"] == 14_400 - 480
    country = by_key(sla_rows(seeded[1], sla_config, NOVEMBER, "country", NOW))
    assert country["Kenya"]["down_seconds"] == 480 and country["Nigeria"]["down_seconds"] == 0


def test_partial_hours_at_the_window_edges_come_from_raw_rows(sla_config, seeded):
    window = Filters(start=datetime(2026, 11, 1, 0, 3), end=datetime(2026, 11, 1, 1, 2), range="custom")
    s0 = by_key(sla_rows(seeded[1], sla_config, window, "server", NOW))["127.0.0.1"]
    # 59 rounds 00:03-01:01; down 00:03-00:09 (7) and 01:00-01:01 (2).
    assert s0["down_seconds"] == 9 * 60 and s0["up_seconds"] == 50 * 60


def test_incidents_stored_exactly_and_rebuilt_the_same(sla_config, seeded):
    writer, engine = seeded
    records = incident_records(engine, sla_config, Filters(start=FIRST, end=NOW, range="custom"), NOW)
    got = sorted((r["server_id"], r["started_at"], r["ended_at"], r["down_rounds"], r["cause"]) for r in records)
    at = lambda r: FIRST + timedelta(minutes=r)  # noqa: E731
    assert got == [("127.0.0.1", at(50), at(70), 20, "no reply"),
                   ("127.0.0.1", at(120), at(125), 5, "probe error: unknown host sip.safari.example"),
                   ("127.0.0.2", at(55), at(65), 10, "no reply"), ("127.0.0.2", at(122), at(130), 8, "no reply")]
    partner = incident_records(engine, sla_config, Filters(start=FIRST, end=NOW, range="custom"), NOW, "partner")
    assert [(r["partner"], r["started_at"], r["duration_seconds"]) for r in partner] == [
        ("Safari Voice", at(122), 180.0), ("Safari Voice", at(55), 600.0)]
    columns = (incidents.c.server_id, incidents.c.started_at, incidents.c.ended_at, incidents.c.down_rounds)
    with writer.engine.begin() as conn:
        before = conn.execute(select(*columns).order_by(*columns)).all()
        incident_store.rebuild(conn)
        assert conn.execute(select(*columns).order_by(*columns)).all() == before


def test_open_incident_lasts_until_now(sla_config, tmp_path):
    from storage import open_writer
    from storage.compact import t_us
    writer = open_writer(sla_config.database_target())
    down = lambda k, r: ProbeResult(4, 0) if k == 0 and r >= 3 else ProbeResult(4, 4, [20.0] * 4)  # noqa: E731
    seed_history(writer, sla_config, datetime(2026, 11, 2, 0, 9), 10, 60, down)
    window = Filters(start=datetime(2026, 11, 2), end=datetime(2026, 11, 3), range="custom")
    now = datetime(2026, 11, 2, 0, 10)
    (record,) = incident_records(writer.engine, sla_config, window, now)
    assert record["ongoing"] and record["ended_at"] is None and record["duration_seconds"] == 7 * 60
    s0 = by_key(sla_rows(writer.engine, sla_config, window, "server", now))["127.0.0.1"]
    assert s0["down_seconds"] == 420 and s0["incidents"] == 1 and s0["mttr_seconds"] is None
    assert s0["longest_incident_seconds"] == 420 and s0["unmeasured_seconds"] == 0
    writer.engine.dispose()


def test_upgrade_from_version_3_builds_incidents_from_raw_rows(sla_config, seeded):
    writer, _engine = seeded
    with writer.engine.begin() as conn:
        conn.execute(text("DROP TABLE incidents"))
        conn.execute(text("DROP TABLE availability_rollups"))
        conn.execute(text("UPDATE schema_info SET version = 3"))
    assert init_db(writer.engine) == 3
    rows = by_key(sla_rows(writer.engine, sla_config, NOVEMBER, "server", NOW))
    assert rows["127.0.0.1"]["down_seconds"] == 900 and rows["127.0.0.1"]["incidents"] == 1


def test_maintenance_spans_are_left_out():
    start, end = datetime(2026, 11, 1), datetime(2026, 11, 2)
    spans = [(datetime(2026, 10, 31, 23), datetime(2026, 11, 1, 1)), (datetime(2026, 11, 1, 0, 30),
                                                                        datetime(2026, 11, 1, 2))]
    assert maintenance_seconds("x", start, end) == 0
    assert maintenance_seconds("x", start, end, spans) == 2 * 3600


def test_month_and_group_errors_name_the_parameter():
    assert month_window("2026-12") == (datetime(2026, 12, 1), datetime(2027, 1, 1))
    with pytest.raises(QueryError, match="^month:"):
        month_window("2026-13")
    with pytest.raises(QueryError, match="^group:"):
        sla_rows(None, None, NOVEMBER, "planet", NOW)


def test_rebuild_falls_back_to_time_order_when_rows_are_not(sla_config, tmp_path):
    """Rows stored out of time order (e.g. history imported newest first) still give the right incidents."""
    from storage import open_writer
    from storage.compact import t_us
    writer = open_writer(sla_config.database_target())
    down = lambda k, r: ProbeResult(4, 0) if k == 0 and 3 <= r < 6 else ProbeResult(4, 4, [20.0] * 4)  # noqa: E731
    times = seed_history(writer, sla_config, datetime(2026, 11, 2, 0, 9), 10, 60, down)
    with writer.engine.begin() as conn:  # move the first rounds' rows to the end of the table
        conn.execute(text("UPDATE ping_compact SET id = id + 100000 WHERE t_us < :t"), {"t": t_us(times[4])})
        incident_store.rebuild(conn)
        got = conn.execute(select(incidents.c.started_at, incidents.c.ended_at, incidents.c.down_rounds)).all()
    assert got == [(times[3], times[6], 3)]
    writer.engine.dispose()


# Sunday 2026-11-01 03:30-04:30 in Nairobi (UTC+3) = 00:30-01:30 UTC: over both Safari Voice servers' 01:00 outages.
WEEKLY_SAFARI = {"partner": "Safari Voice", "comment": "patch night",
                 "weekly": {"day": "sunday", "start": "03:30", "duration_minutes": 60, "time_zone": "Africa/Nairobi"}}


@pytest.fixture
def maintained(tmp_path):
    """The seeded history of `seeded`, with a weekly maintenance window for Safari Voice in the config."""
    from storage import open_writer
    from storage.engine import make_engine
    from tests.helpers.sla import sla_config_dict
    config = validate_config(dict(sla_config_dict(tmp_path), maintenance=[WEEKLY_SAFARI]),
                             source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    seed_history(writer, config, FIRST + timedelta(minutes=239), 240, 60, outage_profile)
    seed_history(writer, config, datetime(2026, 11, 1, 4, 59), 60, 60)
    engine = make_engine(config.database_target(), readonly=True)
    yield config, engine
    engine.dispose()
    writer.engine.dispose()


def test_a_weekly_maintenance_window_is_left_out_of_the_sla(maintained):
    config, engine = maintained
    rows = by_key(sla_rows(engine, config, NOVEMBER, "server", NOW))
    s0 = rows["127.0.0.1"]
    # By hand: 240 measured rounds in November less the 60 of 00:30-01:29 = 10,800 s; of the 15 down rounds the
    # 5 of 01:00-01:04 are in the window, 10 (00:00-00:09) stay; 03:00-03:59 is still unmeasured.
    assert s0["maintenance_seconds"] == 3600 and s0["unmeasured_seconds"] == 3600
    assert s0["down_seconds"] == 600 and s0["up_seconds"] == 10_200
    assert s0["availability_percent"] == pytest.approx(100 * 10_200 / 10_800, abs=1e-4)  # 94.4444
    # The November incident (01:00) lies inside the window; the one at 23:50 began in October.
    assert s0["incidents"] == 0 and s0["mttr_seconds"] is None
    assert s0["error_budget_seconds"] == pytest.approx(10.8) and s0["error_budget_left_seconds"] == pytest.approx(10.8 - 600)
    s1 = rows["127.0.0.2"]  # down 00:00-00:04 (5) and 01:02-01:09 (8, all inside the window)
    assert (s1["down_seconds"], s1["up_seconds"], s1["incidents"]) == (300, 10_500, 0)
    lagos = rows["127.0.0.3"]  # not covered: as before
    assert lagos["maintenance_seconds"] == 0 and lagos["up_seconds"] == 14_400
    safari = by_key(sla_rows(engine, config, NOVEMBER, "partner", NOW))["Safari Voice"]
    # Both servers down together 00:00-00:05 only (01:02-01:05 is in the window); any server 00:00-00:10.
    assert (safari["down_seconds"], safari["any_server_down_seconds"], safari["maintenance_seconds"]) == (300, 600, 3600)
    assert safari["up_seconds"] == 10_500 and safari["unmeasured_seconds"] == 3600 and safari["incidents"] == 0
    kenya = by_key(sla_rows(engine, config, NOVEMBER, "country", NOW))["Kenya"]
    assert (kenya["down_seconds"], kenya["maintenance_seconds"]) == (300, 3600)


def test_an_incident_cut_by_the_window_counts_its_time_outside(maintained):
    config, engine = maintained
    # 00:00-01:02: s1's 01:02 outage is not in it; s0's window part 00:30-01:02 is maintenance (edges raw).
    window = Filters(start=datetime(2026, 11, 1, 0, 0), end=datetime(2026, 11, 1, 1, 2), range="custom")
    s0 = by_key(sla_rows(engine, config, window, "server", NOW))["127.0.0.1"]
    assert s0["maintenance_seconds"] == 32 * 60 and s0["down_seconds"] == 600 and s0["up_seconds"] == 20 * 60

