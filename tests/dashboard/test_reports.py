"""The Reports page and the server page's incident list, drawn from the seeded outages (issue 15)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from callbacks import reports as cb
from callbacks.shell import page_for
from layouts import reports as lr
from tests.seeding import seed_history
from tests.helpers.sla import FIRST, outage_profile, sla_config_dict


@pytest.fixture
def config_dict(tmp_path):
    """The SLA test config (targets per partner and server) on a temporary database."""
    return sla_config_dict(tmp_path)


@pytest.fixture
def history(config, writer):
    seed_history(writer, config, FIRST + timedelta(minutes=239), 240, 60, outage_profile)
    seed_history(writer, config, datetime(2026, 11, 1, 4, 59), 60, 60)


def rows_of(table) -> dict:
    """data-key -> the row's className in a rendered SLA table."""
    body = table.children[1].children
    return {getattr(tr, "data-key"): tr.className for tr in body}


def test_month_report_marks_missed_targets(app, history):
    with app.server.test_request_context("/"):
        title, table, incidents, link = cb.month_report("2026-11", "server", None, "?country=Kenya")
    assert title == "Availability report, November 2026"
    assert rows_of(table) == {"127.0.0.1": "lm-sla-missed", "127.0.0.2": "lm-sla-missed"}
    assert link == "/api/sla?month=2026-11&group=server&format=csv&country=Kenya"
    assert incidents.className == "lm-table-box"  # the table scrolls in its own box
    kinds = [tr.className for tr in incidents.children.children[1].children]
    assert kinds == ["lm-incident-partner", "lm-incident-partner", "lm-incident", "lm-incident", "lm-incident",
                     "lm-incident"]


def test_target_field_rejudges_rows(app, history):
    with app.server.test_request_context("/"):
        _t, table, _i, _l = cb.month_report("2026-11", "partner", "90", "")
    assert rows_of(table)["Safari Voice"] == "lm-sla-met"
    assert cb.report_target("0") is None and cb.report_target("abc") is None and cb.report_target(99.5) == 99.5


def test_daily_strip_and_budget_bar():
    strip = lr.daily_strip([("2026-11-01", 93.75), ("2026-11-02", 100.0), ("2026-11-03", None)], 99.9)
    assert [c.className for c in strip.children] == ["lm-day lm-day-missed", "lm-day lm-day-met", "lm-day lm-day-none"]
    bar = lr.budget_bar({"error_budget_seconds": 100.0, "error_budget_left_seconds": 50.0})
    assert bar.children[0].style == {"width": "50%"} and "lm-budget-ok" in bar.children[0].className


def test_reports_path_routes_to_the_page():
    page, country_off, partner_off = page_for("/reports", "")
    assert page.className == "lm-reports" and not country_off and not partner_off


def test_server_page_lists_its_incidents(app, history):
    with app.server.test_request_context("/"):
        table = cb.refresh_server_incidents("/server/127.0.0.1", 0, "?range=custom&start=2026-10-31T00:00:00Z"
                                                                    "&end=2026-11-02T00:00:00Z")
    assert len(table.children.children[1].children) == 2
