"""Prometheus metrics read from the database at scrape time by a custom collector on a per-app registry."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from settings import Config
from queries.rounds import last_round
from queries.status import STATUSES, server_status
from common.format import records

log = logging.getLogger(__name__)
PREFIX = "latency_monitor"
SERVER_LABELS = ["server", "partner", "country"]
# (metric name, help, column, divisor): Prometheus wants base units, so ms become seconds and % a ratio.
SERVER_GAUGES = (
    ("server_latency_seconds", "Mean round-trip time of the server's latest round.", "avg_time", 1000),
    ("server_jitter_seconds", "Jitter (mean RTT difference) of the latest round.", "jitter_time", 1000),
    ("server_packet_loss_ratio", "Share of packets lost in the latest round (0..1).", "loss_percentage", 100),
    ("server_mos", "Estimated MOS (1..4.5) of the latest round.", "mos", 1),
    ("server_r_factor", "Estimated E-model R-factor (0..100) of the latest round.", "r_factor", 1),
)
# The latest SIP OPTIONS check of each server that has one (queries/sipstatus.py prefixes its columns sip_).
SIP_GAUGES = (
    ("sip_response_seconds", "Mean SIP OPTIONS response time of the latest SIP check.", "sip_response_avg_ms", 1000),
    ("sip_status_code", "Most frequent final SIP status code of the latest SIP check.", "sip_code", 1),
)
ROUND_GAUGES = (
    ("round_duration_seconds", "Duration of the collector's last round.", "duration_ms", 1000),
    ("round_failures", "Servers that did not answer in the collector's last round.", "failures", 1),
    ("round_servers", "Servers probed in the collector's last round.", "servers", 1),
)


def epoch(value: datetime) -> float:
    """Seconds since 1970 of a stored naive-UTC datetime."""
    return value.replace(tzinfo=timezone.utc).timestamp()


class LatencyCollector(Collector):
    """Yields the per-server and per-round gauges, querying the database on every scrape."""

    def __init__(self, engine: Engine, config: Config):
        self.engine = engine
        self.config = config

    def describe(self) -> list[Metric]:
        """Nothing up front, so registering never touches the database."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Every gauge, plus scrape_error = 1 (and no other gauges) when the database cannot be read."""
        try:
            families = self._server_families() + self._round_families()
        except SQLAlchemyError:
            log.exception("metrics scrape could not read the database")
            families = []
        yield from families
        yield GaugeMetricFamily(f"{PREFIX}_scrape_error", "1 when this scrape could not read the database.",
                                value=0 if families else 1)

    def _server_families(self) -> list[Metric]:
        """Per-server value gauges, a last-check time and a one-hot status gauge."""
        frame = server_status(self.engine, self.config)
        rows = records(frame)
        families = [self._value_family(rows, *spec) for spec in SERVER_GAUGES]
        families.append(self._value_family(rows, "server_last_check_timestamp_seconds",
                                           "When the latest round was measured (Unix time).", "timestamp", None))
        families.append(_status_family(rows))
        sip_rows = [r for r in rows if r.get("has_sip") and r.get("sip_status") is not None]
        families.append(_sip_up_family(sip_rows))
        families += [self._value_family(sip_rows, *spec) for spec in SIP_GAUGES]
        families += _vantage_families(rows)
        return families

    @staticmethod
    def _value_family(rows: list[dict], name: str, doc: str, column: str, divisor: float | None) -> Metric:
        """One gauge with a sample per server that has a value in `column`."""
        family = GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=SERVER_LABELS)
        for row in rows:
            value = row.get(column)
            if value is not None:
                family.add_metric(_labels(row), epoch(value) if divisor is None else float(value) / divisor)
        return family

    def _round_families(self) -> list[Metric]:
        """The collector's last round: when it finished, how long it took, how many servers, how many failed."""
        found = last_round(self.engine)
        if not found:
            return []
        families = [GaugeMetricFamily(f"{PREFIX}_{name}", doc, value=float(found[key]) / divisor)
                    for name, doc, key, divisor in ROUND_GAUGES]
        families.append(GaugeMetricFamily(f"{PREFIX}_last_round_timestamp_seconds",
                                          "When the collector's last round finished (Unix time).",
                                          value=epoch(found["finished_at"])))
        return families


def _labels(row: dict) -> list[str]:
    return [str(row["server_id"]), str(row["partner"]), str(row["country"])]


def _status_family(rows: list[dict]) -> Metric:
    """One sample per server and status: 1 for the current status, 0 for the others (the enum pattern)."""
    family = GaugeMetricFamily(f"{PREFIX}_server_status", "1 for the server's current status, else 0.",
                               labels=[*SERVER_LABELS, "status"])
    for row in rows:
        for status in STATUSES:
            family.add_metric([*_labels(row), status], 1.0 if row["status"] == status else 0.0)
    return family


def _sip_up_family(rows: list[dict]) -> Metric:
    """1 when the server's latest SIP check was up (2xx or an up code), 0 when down or in maintenance."""
    family = GaugeMetricFamily(f"{PREFIX}_sip_up", "1 when the latest SIP OPTIONS check was up, else 0.",
                               labels=SERVER_LABELS)
    for row in rows:
        family.add_metric(_labels(row), 1.0 if row["sip_status"] == "up" else 0.0)
    return family


# Per vantage point (collector label): each collector's own latest figures, beside the merged per-server gauges.
VANTAGE_GAUGES = (("server_vantage_latency_seconds", "Mean RTT of the latest round seen from one collector.",
                   "latency_ms", 1000),
                  ("server_vantage_packet_loss_ratio", "Packet loss of the latest round seen from one collector.",
                   "loss_pct", 100))


def _vantage_families(rows: list[dict]) -> list[Metric]:
    """Each server's latency, loss and one-hot status per collector (label collector)."""
    labels = [*SERVER_LABELS, "collector"]
    families = [GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=labels) for name, doc, _key, _div in VANTAGE_GAUGES]
    status = GaugeMetricFamily(f"{PREFIX}_server_vantage_status", "1 for the server's status seen from one "
                               "collector, else 0.", labels=[*labels, "status"])
    for row in rows:
        for view in row.get("vantage_points") or []:
            names = [*_labels(row), view["collector"]]
            for family, (_name, _doc, key, divisor) in zip(families, VANTAGE_GAUGES):
                if view[key] is not None:
                    family.add_metric(names, float(view[key]) / divisor)
            for state in STATUSES:
                status.add_metric([*names, state], 1.0 if view["status"] == state else 0.0)
    return [*families, status]


def make_registry(engine: Engine, config: Config) -> CollectorRegistry:
    """A fresh registry holding only this app's collector (never the global one: tests build many apps)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LatencyCollector(engine, config))
    return registry
