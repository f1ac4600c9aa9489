"""GET /api/logs: newest first, limited, filtered by minimum level, module prefix, time and text."""
from __future__ import annotations

from datetime import timedelta

import pytest

from common.timeutil import utcnow

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
MODULES = ["collector.service", "app", "collector.probes.ping"]


@pytest.fixture
def log_rows(writer) -> list[dict]:
    """30 log rows a minute apart (oldest first), cycling through the levels and modules."""
    now = utcnow().replace(microsecond=0)
    rows = [{"timestamp": now - timedelta(minutes=30 - i), "level": LEVELS[i % 5], "module": MODULES[i % 3],
             "message": f"message {i}", "traceback": None, "collector": "test"} for i in range(30)]
    writer.write_logs(rows)
    return rows


def messages(client, query: str = "") -> list[str]:
    return [line["message"] for line in client.get(f"/api/logs?{query}").get_json()["logs"]]


def test_default_is_the_ten_newest(log_rows, client):
    body = client.get("/api/logs").get_json()
    assert [line["message"] for line in body["logs"]] == [r["message"] for r in reversed(log_rows)][:10]
    newest = body["logs"][0]
    assert newest["timestamp"] == log_rows[-1]["timestamp"].isoformat() + "Z"
    assert (newest["level"], newest["module"]) == (log_rows[-1]["level"], log_rows[-1]["module"])
    assert isinstance(newest["id"], int)


def test_limit_caps_the_count(log_rows, client):
    assert len(messages(client, "limit=3")) == 3
    assert len(messages(client, "limit=1000")) == len(log_rows)


@pytest.mark.parametrize("level", ["warning", "WARNING", "Warn", "error"])
def test_level_is_a_case_insensitive_minimum(log_rows, client, level):
    floor = LEVELS.index("WARNING" if level.lower().startswith("warn") else level.upper())
    expected = [r["message"] for r in reversed(log_rows) if LEVELS.index(r["level"]) >= floor]
    assert messages(client, f"level={level}&limit=1000") == expected


def test_module_is_a_prefix(log_rows, client):
    expected = [r["message"] for r in reversed(log_rows) if r["module"].startswith("collector")]
    assert messages(client, "module=collector&limit=1000") == expected


def test_module_wildcards_are_literal(log_rows, client):
    assert messages(client, "module=%25") == [] and messages(client, "module=_pp") == []


def test_since_keeps_only_newer_lines(log_rows, client):
    since = log_rows[25]["timestamp"]
    assert messages(client, f"since={since.isoformat()}Z&limit=1000") == \
        [r["message"] for r in reversed(log_rows[25:])]


def test_search_matches_message_text(log_rows, client):
    assert messages(client, "search=message 2&limit=1000") == \
        [r["message"] for r in reversed(log_rows) if "message 2" in r["message"]]


def test_empty_table_gives_an_empty_list(client):
    assert client.get("/api/logs").get_json() == {"logs": []}
