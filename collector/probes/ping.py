"""Probe backend that runs the system ``ping`` once per target and parses its output.

pingparsing reads the summary and the per-reply lines of iputils, BusyBox, macOS/BSD and
English Windows output. The helpers below cover what it does not: the ``+N errors`` count,
ICMP error lines on other platforms, Windows replies it misses (IPv6, ``time<1ms``) or
miscounts (Windows counts "Destination host unreachable" replies as received), and the
messages ping prints when it never got to measure (unknown host).
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import warnings
from typing import Callable, Mapping, Sequence

import pingparsing

from .base import ProbeResult, Target
from .concurrent import PerTargetProbe

# pingparsing 1.4 calls pyparsing's old camelCase names; the deprecation warnings are
# pingparsing's business and would otherwise land in the collector's log on every round.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pingparsing\b.*")

# ping sends one packet per second on every platform we support.
INTERVAL_S = 1.0
# Slack for process start-up and name resolution before the hard kill.
MARGIN_S = 2.0
# Windows prints "time<1ms" for sub-millisecond replies; the midpoint of [0, 1) is the
# least biased single value for "somewhere below one millisecond".
WINDOWS_SUB_MS = 0.5
MS_TIMEOUT_OSES = ("windows", "darwin", "macos")

_ERRORS_SUMMARY = re.compile(r"\+(\d+) errors?\b")
# ICMP error replies as each platform prints them ("From X icmp_seq=1 Destination Host
# Unreachable", "92 bytes from X: Destination Host Unreachable", "Reply from X: TTL expired
# in transit.", "General failure."). "Request timed out" is loss, not an error.
_ERROR_LINE = re.compile(
    r"unreachable|time to live exceeded|expired in transit|general failure|transmit failed"
    r"|prohibited|packet filtered",
    re.IGNORECASE,
)
_WINDOWS_REPLY = re.compile(r"^\s*Reply from .+?: (?P<rest>.*)$", re.IGNORECASE)
_WINDOWS_TIME = re.compile(r"^(?:bytes=\d+ )?time(?P<op>[=<])(?P<ms>\d+(?:\.\d+)?)ms", re.IGNORECASE)
_RESOLUTION_FAILURE = re.compile(
    r"name or service not known|temporary failure in name resolution|could not find host"
    r"|bad address|cannot resolve|unknown host|no address associated|nodename nor servname"
    r"|non-recoverable failure in name resolution",
    re.IGNORECASE,
)


def parse_ping_output(text: str, exit_code: int) -> ProbeResult:
    """Turn one ping run's combined stdout+stderr and exit code into a ProbeResult."""
    parser = pingparsing.PingParsing()
    stats = _parse_stats(parser, text)
    if stats.packet_transmit is None:
        # No statistics block: ping never measured (unknown host, bad option, no route...).
        return ProbeResult.failed(0, _failure_message(text, exit_code))
    lines = text.splitlines()
    windows = parser.parser_name == "Windows"
    return ProbeResult(
        transmitted=stats.packet_transmit,
        received=_windows_received(stats, lines) if windows else stats.packet_receive,
        samples_ms=_windows_samples(lines) if windows else _reply_samples(stats),
        duplicates=stats.packet_duplicate_count or 0,
        errors=_error_count(text, lines),
        rtt_min_ms=stats.rtt_min,
        rtt_avg_ms=stats.rtt_avg,
        rtt_max_ms=stats.rtt_max,
        rtt_mdev_ms=stats.rtt_mdev,
    )


def _parse_stats(parser: pingparsing.PingParsing, text: str) -> pingparsing.PingStats:
    """pingparsing's view of the output; an empty PingStats when it is not ping output."""
    try:
        return parser.parse(text)
    except (pingparsing.ParseError, ValueError, IndexError):
        # pingparsing raises on a statistics header with a malformed body (cut-off output).
        return pingparsing.PingStats()


def _reply_samples(stats: pingparsing.PingStats) -> list[float | None]:
    """RTTs of the echo replies in arrival order, duplicates left out."""
    return [r["time"] for r in stats.icmp_replies if "time" in r and not r.get("duplicate")]


def _windows_samples(lines: Sequence[str]) -> list[float | None]:
    """RTTs from Windows "Reply from" lines, including IPv6 ones that carry no bytes=/TTL=."""
    samples: list[float | None] = []
    for line in lines:
        reply = _WINDOWS_REPLY.match(line)
        timing = _WINDOWS_TIME.match(reply.group("rest")) if reply else None
        if timing:
            samples.append(WINDOWS_SUB_MS if timing.group("op") == "<" else float(timing.group("ms")))
    return samples


def _windows_received(stats: pingparsing.PingStats, lines: Sequence[str]) -> int:
    """Windows' "Received" minus the ICMP error replies it wrongly counts as received."""
    bogus = sum(1 for line in lines if _WINDOWS_REPLY.match(line) and _ERROR_LINE.search(line))
    return max(0, (stats.packet_receive or 0) - bogus)


def _error_count(text: str, lines: Sequence[str]) -> int:
    """ICMP errors: iputils' own "+N errors", else the error lines the other platforms print."""
    summary = _ERRORS_SUMMARY.search(text)
    if summary:
        return int(summary.group(1))
    return sum(1 for line in lines if _ERROR_LINE.search(line) and "time=" not in line)


def _failure_message(text: str, exit_code: int) -> str:
    """A clear one-line reason for a run that produced no statistics."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if _RESOLUTION_FAILURE.search(line):
            return f"unknown host: {line}"
    if lines:
        return f"ping failed (exit code {exit_code}): {lines[0]}"
    return f"ping exited with code {exit_code} and printed nothing"


def _timeout_argument(timeout_seconds: float, os_params: Mapping[str, str]) -> str:
    """The per-reply timeout in the unit this OS's ping expects."""
    # Windows -w and macOS -W take milliseconds; iputils and BusyBox -W take seconds.
    default_unit = "ms" if _os_name(os_params) in MS_TIMEOUT_OSES else "s"
    unit = os_params.get("timeout_unit") or default_unit
    if unit == "ms":
        return str(max(1, round(timeout_seconds * 1000)))
    # Whole seconds: BusyBox and older iputils reject fractions; never 0 (= wait forever).
    return str(max(1, math.ceil(timeout_seconds)))


def _os_name(os_params: Mapping[str, str]) -> str:
    """The configured OS family, lower-case ("unix", "windows", ...)."""
    return str(os_params.get("os", "unix")).lower()


def _deadline_seconds(count: int, timeout_seconds: float, os_params: Mapping[str, str]) -> float:
    """Hard limit for one ping process: its own schedule plus a small margin."""
    per_packet = INTERVAL_S
    if _os_name(os_params) == "windows":
        # Windows waits out each lost reply before the next send instead of overlapping.
        per_packet += timeout_seconds
    return count * per_packet + timeout_seconds + MARGIN_S


def _c_locale_env() -> dict[str, str]:
    """Environment forcing untranslated output, which is what the parser understands."""
    return {**os.environ, "LC_ALL": "C", "LANG": "C"}


def _invalid_host(host: str) -> str | None:
    """Why host cannot be handed to ping safely, or None if it can."""
    if not host or host != host.strip():
        return "invalid host: empty or surrounded by spaces"
    if host.startswith("-"):
        # ping would read it as an option.
        return f"invalid host: {host!r} starts with '-'"
    return None


class PingProbe(PerTargetProbe):
    """Runs the system ping for every target, many at once, one process per target."""

    name = "ping"

    def __init__(
        self,
        count: int,
        timeout_seconds: float,
        os_params: Mapping[str, str],
        concurrency: int = 32,
        run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    ):
        self.count = count
        self.timeout_seconds = timeout_seconds
        self.os_params = dict(os_params)
        self.concurrency = max(1, concurrency)
        self._run = run
        self.deadline_seconds = _deadline_seconds(count, timeout_seconds, self.os_params)

    def argv(self, host: str) -> list[str]:
        """The exact command line for one target (an argv list; no shell is involved)."""
        return [
            "ping",
            self.os_params.get("count_param", "-c"), str(self.count),
            self.os_params.get("timeout_param", "-W"),
            _timeout_argument(self.timeout_seconds, self.os_params),
            host,
        ]

    def probe(self, target: Target) -> ProbeResult:
        """Ping one target; any failure becomes a failed ProbeResult instead of an exception."""
        problem = _invalid_host(target.host)
        if problem:
            return ProbeResult.failed(self.count, problem)
        try:
            completed = self._run(
                self.argv(target.host), capture_output=True, text=True, errors="replace",
                timeout=self.deadline_seconds, env=_c_locale_env(), check=False,
            )
        except subprocess.TimeoutExpired:
            # subprocess.run has already killed the process.
            return ProbeResult.failed(self.count, f"ping timed out after {self.deadline_seconds:g} s")
        except FileNotFoundError:
            return ProbeResult.failed(self.count, "ping binary not found (is iputils-ping installed?)")
        except Exception as exc:  # noqa: BLE001 - one target must never break the round
            return ProbeResult.failed(self.count, f"could not run ping: {exc}")
        result = parse_ping_output((completed.stdout or "") + (completed.stderr or ""), completed.returncode)
        # The parser cannot know how many packets were asked for; a failure "costs" them all.
        return ProbeResult.failed(self.count, result.error) if result.error else result
