"""Probe backend that runs ONE ``fping -C`` process per round for all targets.

fping interleaves its packets over all hosts, so a round over thousands of hosts costs one
process instead of thousands. With ``-C N -q`` it prints one line per host on stderr when
done, ``host : 0.10 0.12 - 0.11``, where ``-`` is a lost packet; duplicates show up as
``host : duplicate for [2], 64 bytes, 6.10 ms``. With ``-q`` fping prints nothing at all for
a name it cannot resolve (it only sets exit code 2), so a host without a line is a failure.
"""
from __future__ import annotations

import re
import subprocess
from typing import Callable, Iterable, Sequence

from .base import ProbeResult, Target

# -p: gap between two packets to the same host. 1 s, like ping, keeps the two backends'
# numbers comparable and is what partners' rate limits expect.
DEFAULT_PERIOD_MS = 1000.0
# -i: gap between any two packets fping sends. 2 ms = at most 500 packets/s (~0.3 Mbit/s),
# gentle for any link, above the 1 ms floor non-root fping enforces, and it lets one
# round cover 2000 hosts x 5 packets in about 20 s.
DEFAULT_INTERVAL_MS = 2.0
# fping resolves every name before sending; leave room for that and for process start-up.
MARGIN_S = 5.0
# fping exit codes 0-2 mean "ran": all alive / some unreachable / some names not found.
EXIT_NAME_NOT_FOUND = 2
EXIT_RAN = (0, 1, EXIT_NAME_NOT_FOUND)

_RESULT_LINE = re.compile(r"^(?P<host>\S+)\s+: (?P<rest>.*)$")
_ERROR_LINE = re.compile(r"^(?P<host>\S+): (?P<message>.+)$")
_DUPLICATE = re.compile(r"^duplicate for \[\d+\]")
_SAMPLE = re.compile(r"^(?:-|\d+(?:\.\d+)?)$")


def parse_fping_output(
    text: str, hosts: Sequence[str], count: int = 0, exit_code: int = 0
) -> dict[str, ProbeResult]:
    """Map each host to its ProbeResult, from the stderr of ``fping -C count -q``."""
    samples: dict[str, list[float | None]] = {}
    duplicates: dict[str, int] = {}
    errors: dict[str, list[str]] = {}
    wanted = set(hosts)
    for line in text.splitlines():
        _classify_line(line.rstrip(), wanted, samples, duplicates, errors)
    return {
        host: _host_result(host, samples, duplicates, errors, count, exit_code) for host in hosts
    }


def _classify_line(
    line: str,
    wanted: set[str],
    samples: dict[str, list[float | None]],
    duplicates: dict[str, int],
    errors: dict[str, list[str]],
) -> None:
    """File one output line under its host as samples, a duplicate or an error message."""
    result = _RESULT_LINE.match(line)
    if result and result.group("host") in wanted:
        host, rest = result.group("host"), result.group("rest")
        if _DUPLICATE.match(rest):
            duplicates[host] = duplicates.get(host, 0) + 1
        elif all(_SAMPLE.match(token) for token in rest.split()):
            samples[host] = _parse_samples(rest)
        return
    error = _ERROR_LINE.match(line)
    if error and error.group("host") in wanted:
        errors.setdefault(error.group("host"), []).append(error.group("message"))


def _parse_samples(rest: str) -> list[float | None]:
    """``0.10 - 0.12`` -> [0.10, None, 0.12]."""
    return [None if token == "-" else float(token) for token in rest.split()]


def _host_result(
    host: str,
    samples: dict[str, list[float | None]],
    duplicates: dict[str, int],
    errors: dict[str, list[str]],
    count: int,
    exit_code: int,
) -> ProbeResult:
    """One host's result: its -C line if it has one, otherwise a failure saying why."""
    messages = errors.get(host, [])
    if host in samples:
        values = samples[host]
        return ProbeResult(
            transmitted=len(values),
            received=sum(v is not None for v in values),
            samples_ms=values,
            duplicates=duplicates.get(host, 0),
            errors=len(messages),
        )
    if messages:
        return ProbeResult.failed(count, f"{host}: {messages[-1]}")
    if exit_code == EXIT_NAME_NOT_FOUND:
        return ProbeResult.failed(count, f"unknown host: fping could not resolve {host}")
    return ProbeResult.failed(count, f"fping printed no result for {host}")


def _invalid_host(host: str) -> bool:
    """Hosts fping would misread from its target list (options, comments, blanks)."""
    return not host or host.startswith(("-", "#")) or any(c.isspace() for c in host)


def _unique(hosts: Iterable[str]) -> list[str]:
    """Hosts in first-seen order without repeats: each host is pinged once per round."""
    return list(dict.fromkeys(hosts))


def _fmt(number: float) -> str:
    """Compact number for the command line: 1000.0 -> '1000', 2.5 -> '2.5'."""
    return f"{number:g}"


class FpingProbe:
    """All targets of a round in a single fping process."""

    name = "fping"

    def __init__(
        self,
        count: int,
        timeout_seconds: float,
        interval_ms: float = DEFAULT_INTERVAL_MS,
        period_ms: float = DEFAULT_PERIOD_MS,
        run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    ):
        self.count = count
        self.timeout_seconds = timeout_seconds
        self.interval_ms = interval_ms
        self.period_ms = period_ms
        self._run = run

    def argv(self) -> list[str]:
        """fping's command line; targets go to stdin so thousands fit and none looks like an option."""
        return [
            "fping", "-C", str(self.count), "-q",
            # -t may exceed -p: fping >= 4 matches replies by sequence number, so a slow
            # reply to packet 1 still counts after packet 2 has been sent.
            "-t", _fmt(self.timeout_seconds * 1000),
            "-p", _fmt(self.period_ms),
            "-i", _fmt(self.interval_ms),
            # In count mode each packet is sent once; no retries and no back-off keep the
            # packet count and the timeout exactly as configured.
            "-r", "0", "-B", "1",
        ]

    def deadline_seconds(self, host_count: int) -> float:
        """Hard limit for one round: fping's own schedule, the last timeout and a margin."""
        per_host_ms = (self.count - 1) * self.period_ms
        # fping never sends faster than one packet per -i, whatever -p says.
        global_ms = host_count * self.count * self.interval_ms
        return max(per_host_ms, global_ms) / 1000 * 1.1 + self.timeout_seconds + MARGIN_S

    def run(self, targets: Sequence[Target]) -> dict[str, ProbeResult]:
        """Probe every target in one fping run; one result per server id, never raises."""
        valid = [t for t in targets if not _invalid_host(t.host)]
        by_host = self._probe_hosts(_unique(t.host for t in valid)) if valid else {}
        invalid = ProbeResult.failed(self.count, "invalid host for fping")
        return {t.server_id: by_host.get(t.host, invalid) for t in targets}

    def _probe_hosts(self, hosts: list[str]) -> dict[str, ProbeResult]:
        """Run fping over hosts and parse what it printed."""
        deadline = self.deadline_seconds(len(hosts))
        try:
            completed = self._run(
                self.argv(), input="\n".join(hosts) + "\n", capture_output=True, text=True,
                errors="replace", timeout=deadline, check=False,
            )
        except subprocess.TimeoutExpired:
            return self._all_failed(hosts, f"fping timed out after {deadline:.0f} s")
        except FileNotFoundError:
            return self._all_failed(hosts, "fping binary not found (install fping or use probe: ping)")
        except Exception as exc:  # noqa: BLE001 - a broken round must still yield results
            return self._all_failed(hosts, f"could not run fping: {exc}")
        results = parse_fping_output(completed.stderr or "", hosts, self.count, completed.returncode)
        if completed.returncode in EXIT_RAN:
            return results
        # Exit 3/4: fping gave up; hosts it did report keep their numbers, the rest get its reason.
        crash = ProbeResult.failed(self.count, _crash_message(completed))
        return {host: crash if result.error else result for host, result in results.items()}

    def _all_failed(self, hosts: Iterable[str], message: str) -> dict[str, ProbeResult]:
        """The same failure for every host (fping itself could not do the round)."""
        return {host: ProbeResult.failed(self.count, message) for host in hosts}


def _crash_message(completed: subprocess.CompletedProcess) -> str:
    """fping's own complaint when it exits with 3 (bad arguments) or 4 (system call failed)."""
    lines = [line.strip() for line in (completed.stderr or "").splitlines() if line.strip()]
    # Skip per-host result lines: the reason is the line that is not a measurement.
    complaints = [line for line in lines if not _RESULT_LINE.match(line)]
    detail = complaints[0] if complaints else "no message"
    return f"fping failed (exit code {completed.returncode}): {detail}"
