"""One ping_results row from one measurement: the collector, the test seeder and the benchmark generator all
build rows here, so stored history is the same whichever of them wrote it."""
from __future__ import annotations

from datetime import datetime

import json

from collector.measure import Measurement, find_concerns
from settings import AlertConditions, Server


def server_labels(server: Server, probe: str) -> dict:
    """The columns that say which server (and which probe backend) a row is about."""
    return {"server_id": server.id, "server_ip": server.ip, "country": server.country, "partner": server.partner,
            "dn_ext": server.dn_ext, "probe": probe}


def result_row(m: Measurement, labels: dict, at: datetime, thresholds: dict[str, float],
               limits: AlertConditions) -> dict:
    """The row of one server's round: measured values, labels, and the concerns the limits find."""
    found = find_concerns(m, thresholds, limits.max_packet_loss, limits.max_jitter)
    # The seed's text column stays, filled from the same data that concern_data stores structured.
    return dict(m.as_row(), **labels, timestamp=at, concerns="; ".join(c.text for c in found) or None,
                concern_data=json.dumps([c.as_dict() for c in found]) if found else None)
