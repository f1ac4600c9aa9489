"""Probe backends (ping, fping, tcp) behind one interface, and the factory that picks one."""
from __future__ import annotations

import shutil
import sys
from typing import Callable, Mapping

from .base import Probe, ProbeResult, Target
from .fping import FpingProbe
from .ping import PingProbe
from .tcp import TcpProbe

__all__ = [
    "FpingProbe", "PingProbe", "Probe", "ProbeResult", "Target", "TcpProbe",
    "default_os_params", "make_probe", "resolve_auto",
]

KINDS = ("ping", "fping", "tcp")


def resolve_auto(platform_name: str = sys.platform, which: Callable[[str], str | None] = shutil.which) -> str:
    """What "auto" means here: fping where it is installed (not on Windows), else ping."""
    if platform_name.startswith("win"):
        return "ping"
    return "fping" if which("fping") else "ping"


def default_os_params(platform_name: str = sys.platform) -> dict[str, str]:
    """ping's count/timeout flags for this platform, for callers without a config entry."""
    if platform_name.startswith("win"):
        return {"os": "windows", "count_param": "-n", "timeout_param": "-w"}
    return {"os": "unix", "count_param": "-c", "timeout_param": "-W"}


def make_probe(
    kind: str,
    *,
    count: int,
    timeout_seconds: float,
    os_params: Mapping[str, str] | None = None,
    concurrency: int = 32,
    fping_interval_ms: float | None = None,
    fping_period_ms: float | None = None,
) -> Probe:
    """Build the backend named by kind ("ping", "fping", "tcp" or "auto")."""
    if kind == "auto":
        kind = resolve_auto()
    if kind == "ping":
        params = os_params if os_params is not None else default_os_params()
        return PingProbe(count, timeout_seconds, params, concurrency=concurrency)
    if kind == "fping":
        # One fping process handles all targets, so there is no concurrency to set.
        # -i / -p from the config (fping_interval_ms, fping_period_ms); None keeps fping.py's defaults.
        pacing = {k: v for k, v in (("interval_ms", fping_interval_ms), ("period_ms", fping_period_ms)) if v}
        return FpingProbe(count, timeout_seconds, **pacing)
    if kind == "tcp":
        return TcpProbe(count, timeout_seconds, concurrency=concurrency)
    raise ValueError(f"unknown probe kind {kind!r}; expected one of {', '.join(KINDS)} or 'auto'")
