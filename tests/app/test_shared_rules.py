"""Each rule the API and the dashboard share has one home; these tests hold the two to the same answer."""
from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

import callbacks.export as export_cb
import callbacks.graphs as graphs_cb
from callbacks.common import filters_from_search
from callbacks.urlstate import controls_from_query
from collector.alerts import rules_from_config
from common.timeutil import utcnow
from settings import ALERT_DEFAULTS, ALERT_SETTINGS, AlertConditions, validate_config
from tests.conftest import make_config_dict
from tests.seeding import seed_history


def x_step_seconds(trace) -> float:
    """The smallest distance between consecutive x values of a trace."""
    return pd.Series(pd.to_datetime(list(trace.x))).diff().dt.total_seconds().dropna().min()


@pytest.fixture
def five_minute_app(config, writer):
    """An app whose collector runs every 300 s, with 3 h of 5-minute rounds."""
    from app import create_app
    config = config.replace(interval_seconds=300)
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=36, interval_seconds=300)
    app = create_app(config, start_collector=False, writer=writer)
    yield app
    app.close()


def test_the_api_and_the_graphs_use_the_same_bucket_for_a_window(five_minute_app):
    body = five_minute_app.server.test_client().get("/api/ping-data?range=1h").get_json()
    with five_minute_app.server.test_request_context():
        latency = graphs_cb.refresh_series("?range=1h", 0, "country", False, None)[0]
    assert body["bucket_seconds"] == 300  # not finer than the collector's interval
    assert x_step_seconds(latency.data[0]) == body["bucket_seconds"]


def test_the_api_and_the_dashboard_name_an_export_the_same(app, client, seeded):
    search = "?range=custom&start=2026-11-01T00:00:00Z&end=2026-11-02T06:30:00Z"
    response = client.get("/api/export-data" + search)
    with app.server.test_request_context():
        download = export_cb.export_csv(1, search, "/")[0]
    assert response.headers["Content-Disposition"] == f'attachment; filename="{download["filename"]}"'
    assert download["filename"] == "latency-20261101T000000Z-20261102T063000Z.csv"


@pytest.mark.parametrize("search, countries", [
    ("?country=Kenya&country=Kenya,Egypt", ["Kenya", "Egypt"]),  # duplicates dropped, commas split
    ("?country=%20Kenya%20&country=", ["Kenya"]),  # blanks trimmed and dropped
])
def test_the_api_and_the_url_controls_read_repeated_parameters_alike(search, countries, client, seeded):
    filters, error = filters_from_search(search)
    assert error is None and list(filters.countries) == countries
    assert controls_from_query(search)["countries"] == countries
    series = client.get("/api/ping-data" + search + "&group=country").get_json()["series"]
    assert sorted(s["key"] for s in series) == sorted(countries)


def test_too_many_values_are_refused_by_the_api_and_flagged_by_the_dashboard(client):
    search = "?" + "&".join(f"server=127.0.{i // 250}.{i % 250}" for i in range(301))
    assert client.get("/api/ping-data" + search).status_code == 400
    _, error = filters_from_search(search)
    assert error is not None and error.startswith("server: at most 300 values")
    assert controls_from_query(search)["countries"] == []


@pytest.mark.parametrize("search, expected", [("?start=2026-11-01T00:00:00Z&end=2026-11-02T00:00:00Z", "custom"),
                                              ("?end=2026-11-02T00:00:00Z", "custom"), ("", "24h")])
def test_a_start_or_end_means_custom_for_the_api_and_the_controls(search, expected, client):
    assert controls_from_query(search)["range"] == expected
    filters, _ = filters_from_search(search)
    if expected == "custom" and "start" in search:
        assert filters.range == "custom"
        assert client.get("/api/ping-data" + search).get_json()["end"] == "2026-11-02T00:00:00Z"


def test_alert_defaults_have_one_home(tmp_path):
    declared = {s.name: s.default for s in ALERT_SETTINGS}
    assert AlertConditions().as_dict() == declared == ALERT_DEFAULTS
    assert [f.name for f in dataclasses.fields(AlertConditions)] == list(declared)
    config = validate_config(make_config_dict(tmp_path))
    rules = {r.kind: r for r in rules_from_config(config)}
    assert rules["loss"].warning == declared["max_packet_loss"]
    assert rules["loss"].critical == declared["critical_packet_loss"]
    assert rules["jitter"].warning == declared["max_jitter"]


class OneResultProbe:
    """A probe backend that answers every target with the same result."""

    name = "ping"

    def __init__(self, result):
        self.result = result

    def run(self, targets):
        """The one result for every target."""
        return {t.server_id: self.result for t in targets}


def test_the_seeder_and_the_collector_store_the_same_row(tmp_path, writer, config):
    from sqlalchemy import select

    from collector.measure import measure
    from collector.probes.base import ProbeResult
    from collector.rows import result_row, server_labels
    from collector.service import Collector
    from storage.schema import ping_results
    result = ProbeResult(transmitted=4, received=3, samples_ms=[20.0, 25.0, None, 200.0])
    collector = Collector(config, writer, probe_factory=lambda kind: OneResultProbe(result), auto_kind="ping")
    report = collector.run_round()
    with writer.engine.connect() as conn:
        stored = conn.execute(select(ping_results).where(ping_results.c.server_id == config.servers[0].id)).one()
    built = result_row(measure(result, config.thresholds), server_labels(config.servers[0], "ping"),
                       report.started_at, config.thresholds, config.alert_conditions)
    assert stored.concerns == built["concerns"] == "packet loss 25.0%; jitter 90.0 ms"
    for key in ("server_id", "partner", "country", "dn_ext", "probe", "avg_time", "jitter_time", "mos"):
        # Stored to the µs and MOS to the thousandth (schema 13, README "Compact raw rows"): half of that apart at most.
        assert getattr(stored, key) == pytest.approx(built[key], abs=5.01e-4) if isinstance(built[key], float) \
            else getattr(stored, key) == built[key]


def test_concerns_are_stored_as_data_and_the_seed_text_is_filled_from_it(tmp_path, writer, config):
    import json

    from sqlalchemy import select

    from collector.probes.base import ProbeResult
    from collector.service import Collector
    from storage.schema import ping_results
    result = ProbeResult(transmitted=4, received=3, samples_ms=[20.0, 25.0, None, 200.0])
    Collector(config, writer, probe_factory=lambda kind: OneResultProbe(result), auto_kind="ping").run_round()
    with writer.engine.connect() as conn:
        stored = conn.execute(select(ping_results.c.concerns, ping_results.c.concern_data).limit(1)).one()
    data = json.loads(stored.concern_data)
    assert [(c["kind"], c["value"], c["limit"]) for c in data] == [("loss", 25.0, 1), ("jitter", 90.0, 30)]
    assert stored.concerns == "; ".join(c["text"] for c in data)


def test_the_concern_summary_reads_kinds_from_data_and_falls_back_to_text_for_older_rows():
    from queries.warnings import concern_summary
    at = pd.Timestamp("2026-11-01 10:00")
    history = pd.DataFrame([
        {"timestamp": at, "concerns": "odd wording 12 ms",  # only the data says what kind this is
         "concern_data": '[{"kind": "jitter", "value": 12.0, "limit": 5, "text": "odd wording 12 ms"}]'},
        {"timestamp": at - pd.Timedelta(minutes=1), "concerns": "packet loss 5.0%", "concern_data": None}])
    summary = concern_summary(history).set_index("kind")
    assert summary.loc["jitter", "latest"] == "odd wording 12 ms" and summary.loc["loss", "rounds"] == 1
