"""The RTT spread view starts with the servers in most trouble (down, degraded, stale), not the first by name."""
from __future__ import annotations

import pandas as pd

import callbacks.smoke as smoke_cb
from callbacks.common import filters_from_search
from common.timeutil import utcnow
from tests.seeding import seed_history
from tests.helpers.alerts import GOOD_PROBE, replies, silent


def status_rows(*rows: dict) -> pd.DataFrame:
    """server_status-like rows: server_id, status, latency_class, open_alerts."""
    return pd.DataFrame([{"server_id": r["server_id"], "status": r.get("status", "up"),
                          "latency_class": r.get("latency_class", "excellent"),
                          "open_alerts": r.get("open_alerts", [])} for r in rows])


def test_worst_first_orders_by_state_then_alert_then_class_and_keeps_config_order_in_ties():
    shown = pd.DataFrame({"server_id": ["a", "b", "c", "d", "e", "f"]})
    status = status_rows({"server_id": "a"}, {"server_id": "b", "status": "stale"},
                         {"server_id": "c", "status": "degraded", "latency_class": "poor"},
                         {"server_id": "d", "status": "down", "latency_class": "down"},
                         {"server_id": "e", "status": "degraded", "latency_class": "poor",
                          "open_alerts": [{"severity": "critical"}]},
                         {"server_id": "f", "status": "unknown", "latency_class": None})
    assert smoke_cb.worst_first(shown, status) == ["d", "e", "c", "b", "a", "f"]
    assert smoke_cb.worst_first(shown, None) == list("abcdef")


def test_the_smoke_view_opens_on_the_down_and_degraded_servers(config, writer, app):
    # Servers in config order: 127.0.0.1 and .2 (Kenya) fine, .3 (Nigeria) lossy, .4 (Egypt) down.
    probes = {0: GOOD_PROBE, 1: GOOD_PROBE, 2: replies(20, 20, 20, sent=4), 3: silent()}
    seed_history(writer, config, utcnow(), rounds=3,
                 interval_seconds=60, profile=lambda k, r: probes[k])
    with app.server.test_request_context():
        options, chosen = smoke_cb.smoke_servers("?range=1h", None)
        assert [o["value"] for o in options] == ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"]
        assert chosen == ["127.0.0.4", "127.0.0.3", "127.0.0.1", "127.0.0.2"]
        assert smoke_cb.smoke_servers("?range=1h", ["127.0.0.2"])[1] == ["127.0.0.2"]  # a choice is kept
    filters, _ = filters_from_search("?country=Kenya")
    assert smoke_cb.smoke_choices(config, filters, None)[1] == ["127.0.0.1", "127.0.0.2"]
