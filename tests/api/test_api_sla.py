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
