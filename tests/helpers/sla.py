"""The SLA tests' history: a seed with known down and degraded spans around a month boundary."""
from __future__ import annotations

from datetime import datetime


from collector.probes.base import ProbeResult
from queries.filters import Filters
from tests.conftest import make_config_dict

FIRST = datetime(2026, 10, 31, 23, 0)  # round r of the first seed is at FIRST + r minutes
NOW = datetime(2026, 11, 1, 5, 0)
NOVEMBER = Filters(start=datetime(2026, 11, 1), end=datetime(2026, 12, 1), range="custom")
# (server index, first round, last round + 1, probe error or None): the down spans of the first seed.
DOWN = [(0, 50, 70, None), (0, 120, 125, "unknown host sip.safari.example"), (1, 55, 65, None), (1, 122, 130, None)]
DEGRADED = (2, 70, 80)  # Lagos Link at 400 ms (above latency_thresholds.fair) from 00:10 to 00:20


def outage_profile(server_index: int, round_index: int, count: int = 4) -> ProbeResult:
    """Up at 20 ms, except the DOWN spans (no reply, or a probe error) and the DEGRADED span."""
    for k, first, stop, error in DOWN:
        if k == server_index and first <= round_index < stop:
            return ProbeResult(transmitted=count, received=0, error=error)
    rtt = 400.0 if server_index == DEGRADED[0] and DEGRADED[1] <= round_index < DEGRADED[2] else 20.0
    return ProbeResult(transmitted=count, received=count, samples_ms=[rtt] * count)


def sla_config_dict(tmp_path) -> dict:
    """The test servers, 60 s rounds; Lagos Link's target 99.5, the Egypt server's own override 100."""
    data = make_config_dict(tmp_path, sla_target_percent={"partners": {"Lagos Link": 99.5}})
    data["servers"][3]["sla_target_percent"] = 100
    return data
