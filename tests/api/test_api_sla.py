"""GET /api/sla and GET /api/incidents over the seeded outages of tests/test_sla.py (issue 15)."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from api.openapi import response_validator
from queries.sla import EXTRA_FIELDS, ROW_FIELDS
from tests.conftest import make_config_dict
from tests.seeding import seed_history
from tests.helpers.sla import FIRST, outage_profile, sla_config_dict

MONTH_SECONDS = 30 * 86400


@pytest.fixture
def config_dict(tmp_path):
    """The SLA test config (targets per partner and server) on a temporary database."""
    return sla_config_dict(tmp_path)


@pytest.fixture
def history(config, writer):
    seed_history(writer, config, FIRST + timedelta(minutes=239), 240, 60, outage_profile)
    seed_history(writer, config, datetime(2026, 11, 1, 4, 59), 60, 60)


def get_json(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_sla_by_server_for_a_month(history, client):
    body = get_json(client, "/api/sla?group=server&month=2026-11")
    assert body["start"] == "2026-11-01T00:00:00Z" and body["end"] == "2026-12-01T00:00:00Z"
    rows = {r["key"]: r for r in body["rows"]}
    assert list(rows) == ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert all(set(r) == set(ROW_FIELDS + EXTRA_FIELDS) for r in rows.values())
    s0 = rows["127.0.0.1"]
    assert (s0["availability_percent"], s0["down_seconds"], s0["incidents"], s0["mttr_seconds"], s0["met"]) == \
        (93.75, 900, 1, 300, False)
    assert s0["unmeasured_seconds"] == MONTH_SECONDS - 14_400
    response_validator("/api/sla", 200).validate(body)


def test_sla_partner_and_country_with_filters(history, client):
    rows = get_json(client, "/api/sla?group=partner&month=2026-11&country=Kenya")["rows"]
    assert [(r["key"], r["down_seconds"], r["any_server_down_seconds"]) for r in rows] == [("Safari Voice", 480, 1200)]
    rows = get_json(client, "/api/sla?group=country&range=custom&start=2026-10-31T23:00:00Z"
                            "&end=2026-11-01T05:00:00Z")["rows"]
    assert {r["key"]: r["incidents"] for r in rows} == {"Egypt": 0, "Kenya": 2, "Nigeria": 0}


def test_sla_csv(history, client):
    response = client.get("/api/sla?group=partner&month=2026-11&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(table[0]) == list(ROW_FIELDS + EXTRA_FIELDS)
    lagos = next(r for r in table if r["key"] == "Lagos Link")
    assert lagos["sla_target_percent"] == "99.5" and lagos["met"] == "true" and lagos["mttr_seconds"] == ""


def test_incidents_route(history, client):
    body = get_json(client, "/api/incidents?month=2026-11&server=127.0.0.1")
    got = [(i["started_at"], i["ended_at"], i["cause"]) for i in body["incidents"]]
    assert got == [("2026-11-01T01:00:00Z", "2026-11-01T01:05:00Z", "probe error: unknown host sip.safari.example"),
                   ("2026-10-31T23:50:00Z", "2026-11-01T00:10:00Z", "no reply")]
    response_validator("/api/incidents", 200).validate(body)
    partner = get_json(client, "/api/incidents?month=2026-11&scope=partner")["incidents"]
    assert [(i["partner"], i["duration_seconds"]) for i in partner] == [("Safari Voice", 180), ("Safari Voice", 600)]


@pytest.mark.parametrize("query, param", [("month=2026-13", "month"), ("group=planet", "group"),
                                          ("format=xml", "format"), ("range=2d", "range"),
                                          ("month=2026-11&month=2026-10", "month")])
def test_bad_parameters_are_400_naming_them(client, query, param):
    response = client.get(f"/api/sla?{query}")
    assert response.status_code == 400 and response.get_json()["error"].startswith(f"{param}:")


@pytest.fixture
def maintained_client(tmp_path, history):
    """The app over the same history with Safari Voice's weekly window (Sundays 03:30-04:30 Nairobi) in config."""
    from app import create_app
    from settings import validate_config
    window = {"partner": "Safari Voice", "weekly": {"day": "sunday", "start": "03:30", "duration_minutes": 60,
                                                     "time_zone": "Africa/Nairobi"}, "comment": "patch night"}
    config = validate_config(dict(sla_config_dict(tmp_path), maintenance=[window]), source=str(tmp_path / "c.json"))
    dash_app = create_app(config, start_collector=False)
    yield dash_app.server.test_client()
    dash_app.close()


def test_a_weekly_window_is_left_out_of_api_sla_and_the_reports_table(maintained_client):
    from layouts.reports import HEADERS, sla_table
    from tests.helpers.dash_tree import text_of, walk
    rows = {r["key"]: r for r in get_json(maintained_client, "/api/sla?group=server&month=2026-11")["rows"]}
    s0 = rows["127.0.0.1"]
    # November has five Sundays: 5 x 3600 s of maintenance; the 60 rounds of 00:30-01:29 on the 1st are out,
    # and with them the 01:00-01:04 outage: down 00:00-00:09 only.
    assert s0["maintenance_seconds"] == 5 * 3600 and s0["down_seconds"] == 600 and s0["up_seconds"] == 10_200
    assert s0["unmeasured_seconds"] == MONTH_SECONDS - 10_800 - 5 * 3600 and s0["incidents"] == 0
    assert rows["127.0.0.3"]["maintenance_seconds"] == 0
    text = maintained_client.get("/api/sla?group=partner&month=2026-11&format=csv").get_data(as_text=True)
    safari = {r["key"]: r for r in csv.DictReader(io.StringIO(text))}["Safari Voice"]
    assert float(safari["maintenance_seconds"]) == 5 * 3600 and float(safari["down_seconds"]) == 300
    table = sla_table(list(rows.values()), {}, "server")
    (row,) = [c for c in walk(table) if getattr(c, "data-key", None) == "127.0.0.1"]
    assert text_of(row.children[HEADERS.index("maintenance")]) == "5 h"
