"""Loses nothing under load: concurrent API clients on a real waitress server while the collector writes.

A bounded version of tests/soak/load_soak.py (50 clients x 60 s, results in docs/reliability.md): 20 clients
for 8 s against every route while the embedded collector stores a round every 0.2 s. Every response must be
a 200 without a lock error, nothing may be logged at WARNING or worse, and the rounds stored must be
exactly the rounds the collector ran, each with all of its rows.
"""
from __future__ import annotations

from tests.soak.loadlib import ROUTES, run


def test_twenty_clients_for_eight_seconds_while_rounds_are_written(tmp_path):
    result, rounds, logged = run(tmp_path, clients=20, seconds=8, servers=20, interval=0.2)
    assert result.problems == [], result.problems[:5]
    assert set(result.statuses) == {200} and result.requests >= 2 * len(ROUTES), result.statuses
    assert logged == []
    assert rounds["lost"] == 0 and rounds["partial"] == 0
    assert rounds["stored"] == rounds["run"] and rounds["run"] >= 10, rounds  # a round every 0.2 s for 8 s
