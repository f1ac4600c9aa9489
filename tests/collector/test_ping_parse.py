"""parse_ping_output against recorded outputs, and PingProbe with a fake subprocess runner.

Fixture provenance (tests/fixtures/ping/): ``linux_iputils_*`` and ``busybox_*`` were recorded
on the dev machine (iputils 20221126, BusyBox 1.35.0) against 127.0.0.1 and netlab hosts
(delay/jitter/loss/duplicate profiles, an unanswered ARP for "unreachable"; name errors in a
namespace with a files-only resolver), except ``linux_iputils_partial_errors`` which is
typed in iputils' format. ``macos_*`` and ``windows_*`` (CRLF line ends) are typed in those
tools' exact formats.
"""
from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import pytest

from collector.probes.base import ProbeResult, Target
from collector.probes.ping import PingProbe, parse_ping_output

# pytest re-enables DeprecationWarnings per test; pingparsing's pyparsing ones are not ours.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pingparsing.*")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ping"
UNIX = {"os": "unix", "count_param": "-c", "timeout_param": "-W"}
WINDOWS = {"os": "windows", "count_param": "-n", "timeout_param": "-w"}

# fixture -> (exit code the tool returned, expected transmitted, received, samples, duplicates, errors)
MEASUREMENTS = {
    "linux_iputils_localhost.txt": (0, 4, 4, [0.035, 0.041, 0.055, 0.057], 0, 0),
    "linux_iputils_localhost_name.txt": (0, 3, 3, [0.019, 0.053, 0.041], 0, 0),
    "linux_iputils_jitter.txt": (0, 5, 5, [38.9, 37.0, 39.0, 41.8, 43.4], 0, 0),
    "linux_iputils_partial_loss.txt": (0, 8, 4, [21.3, 22.0, 21.4, 19.4], 0, 0),
    "linux_iputils_total_loss.txt": (1, 3, 0, [], 0, 0),
    "linux_iputils_duplicates.txt": (0, 5, 5, [5.95, 5.44, 5.37, 5.28, 5.32], 2, 0),
    "linux_iputils_unreachable.txt": (1, 6, 0, [], 0, 3),
    "linux_iputils_partial_errors.txt": (1, 5, 3, [12.4, 12.9, 13.1], 0, 2),
    "busybox_localhost.txt": (0, 4, 4, [0.047, 0.071, 0.068, 0.082], 0, 0),
    "busybox_partial_loss.txt": (0, 8, 6, [20.119, 20.289, 20.248, 19.647, 18.926, 21.219], 0, 0),
    "busybox_total_loss.txt": (1, 3, 0, [], 0, 0),
    "busybox_duplicates.txt": (0, 5, 5, [5.587, 5.302, 5.359, 5.514, 5.251], 1, 0),
    "macos_success.txt": (0, 4, 4, [3.452, 4.105, 3.881, 5.017], 0, 0),
    "macos_partial_loss.txt": (0, 5, 3, [31.218, 29.874, 30.502], 0, 0),
    "macos_total_loss.txt": (2, 3, 0, [], 0, 0),
    "macos_duplicates.txt": (0, 3, 3, [0.081, 0.093, 0.102], 4, 0),
    "macos_unreachable.txt": (2, 3, 0, [], 0, 2),
    "windows_success.txt": (0, 4, 4, [3.0, 2.0, 4.0, 3.0], 0, 0),
    "windows_partial_loss.txt": (0, 4, 3, [31.0, 30.0, 32.0], 0, 0),
    "windows_total_loss.txt": (1, 4, 0, [], 0, 0),
    # Windows prints "time<1ms" below one millisecond: read as the midpoint 0.5.
    "windows_sub_ms.txt": (0, 4, 4, [0.5, 1.0, 0.5, 0.5], 0, 0),
    "windows_ipv6.txt": (0, 4, 4, [0.5, 0.5, 0.5, 0.5], 0, 0),
    # Windows counts "Destination host unreachable" replies as received; they are errors.
    "windows_unreachable.txt": (0, 4, 0, [], 0, 4),
    "windows_partial_errors.txt": (0, 4, 2, [12.0, 14.0], 0, 1),
}

# fixture -> (exit code, text the failure message must contain)
FAILURES = {
    "linux_iputils_unknown_host.txt": (2, "Name or service not known"),
    "linux_iputils_dns_failure.txt": (2, "Temporary failure in name resolution"),
    "busybox_unknown_host.txt": (1, "bad address"),
    "macos_unknown_host.txt": (68, "cannot resolve"),
    "windows_unknown_host.txt": (1, "could not find host"),
}


def read_fixture(name: str) -> str:
    """A fixture exactly as the tool printed it (CRLF kept for Windows)."""
    return (FIXTURES / name).read_bytes().decode()


def test_every_fixture_has_expectations():
    on_disk = {p.name for p in FIXTURES.glob("*.txt")}
    assert on_disk == set(MEASUREMENTS) | set(FAILURES)


@pytest.mark.parametrize("name", sorted(MEASUREMENTS))
def test_measurements(name):
    exit_code, transmitted, received, samples, duplicates, errors = MEASUREMENTS[name]
    result = parse_ping_output(read_fixture(name), exit_code)
    assert result.error is None
    assert (result.transmitted, result.received) == (transmitted, received)
    assert result.samples_ms == pytest.approx(samples)
    assert (result.duplicates, result.errors) == (duplicates, errors)


@pytest.mark.parametrize("name", sorted(FAILURES))
def test_unknown_host_is_a_failure_with_the_tools_words(name):
    exit_code, words = FAILURES[name]
    result = parse_ping_output(read_fixture(name), exit_code)
    assert result.error.startswith("unknown host")
    assert words in result.error
    assert "sip.partner" in result.error
    assert (result.received, result.samples_ms) == (0, [])


def test_summary_rtts_are_what_the_tool_printed():
    result = parse_ping_output(read_fixture("linux_iputils_jitter.txt"), 0)
    assert (result.rtt_min_ms, result.rtt_avg_ms, result.rtt_max_ms, result.rtt_mdev_ms) == (
        37.018, 40.034, 43.411, 2.274)
    mac = parse_ping_output(read_fixture("macos_success.txt"), 0)
    assert (mac.rtt_min_ms, mac.rtt_avg_ms, mac.rtt_max_ms, mac.rtt_mdev_ms) == (3.452, 4.114, 5.017, 0.572)


def test_total_loss_is_a_measurement_not_a_failure():
    result = parse_ping_output(read_fixture("linux_iputils_total_loss.txt"), 1)
    assert result.error is None and result.received == 0 and result.transmitted == 3
    assert result.rtt_avg_ms is None


@pytest.mark.parametrize("text, exit_code, expected", [
    ("ping: connect: Network is unreachable\n", 2, "ping failed (exit code 2): ping: connect: Network is unreachable"),
    ("", 2, "ping exited with code 2 and printed nothing"),
    ("ping: invalid argument: 'x'\nUsage\n  ping [options] <destination>\n", 2, "ping failed (exit code 2): ping: invalid argument: 'x'"),
])
def test_other_failures_quote_the_first_line(text, exit_code, expected):
    assert parse_ping_output(text, exit_code) == ProbeResult.failed(0, expected)


def test_truncated_statistics_do_not_raise():
    text = read_fixture("linux_iputils_jitter.txt").split("rtt min")[0].rsplit("\n", 2)[0] + "\n"
    result = parse_ping_output(text, 0)
    assert result.error is not None


# ---------------------------------------------------------------- PingProbe, fake runner


class FakeRun:
    """Stands in for subprocess.run: records calls, returns canned output per host."""

    def __init__(self, outputs: dict[str, tuple[str, int]] | None = None, raises: BaseException | None = None):
        self.outputs = outputs or {}
        self.raises = raises
        self.calls: list[tuple[list[str], dict]] = []
        self.lock = threading.Lock()

    def __call__(self, argv, **kwargs):
        with self.lock:
            self.calls.append((argv, kwargs))
        if self.raises is not None:
            raise self.raises
        text, code = self.outputs[argv[-1]]
        return subprocess.CompletedProcess(argv, code, stdout=text, stderr="")


def test_argv_unix_uses_seconds_and_windows_milliseconds():
    assert PingProbe(5, 1.0, UNIX).argv("10.0.0.1") == ["ping", "-c", "5", "-W", "1", "10.0.0.1"]
    assert PingProbe(4, 1.5, WINDOWS).argv("h") == ["ping", "-n", "4", "-w", "1500", "h"]
    # Fractions round up for unix (BusyBox rejects them; 0 would mean "wait forever").
    assert PingProbe(3, 0.2, UNIX).argv("h")[4] == "1"
    assert PingProbe(3, 2.5, UNIX).argv("h")[4] == "3"
    # macOS -W is the wait for a reply in milliseconds.
    assert PingProbe(3, 1.5, {**UNIX, "os": "darwin"}).argv("h")[4] == "1500"


def test_probe_passes_argv_list_deadline_and_c_locale():
    fake = FakeRun({"10.0.0.1": (read_fixture("linux_iputils_jitter.txt"), 0)})
    probe = PingProbe(5, 1.0, UNIX, run=fake)
    results = probe.run([Target("s1", "10.0.0.1")])
    argv, kwargs = fake.calls[0]
    assert argv == ["ping", "-c", "5", "-W", "1", "10.0.0.1"]
    assert kwargs["timeout"] == pytest.approx(5 * 1.0 + 1.0 + 2.0)  # count*interval + timeout + margin
    assert kwargs["env"]["LC_ALL"] == "C" and "shell" not in kwargs
    assert results["s1"].samples_ms == [38.9, 37.0, 39.0, 41.8, 43.4]


def test_windows_deadline_allows_a_timeout_per_packet():
    assert PingProbe(4, 2.0, WINDOWS).deadline_seconds == pytest.approx(4 * (1 + 2) + 2 + 2)


def test_timeout_kills_and_reports():
    fake = FakeRun(raises=subprocess.TimeoutExpired(["ping"], 8))
    result = PingProbe(5, 1.0, UNIX, run=fake).run([Target("s1", "10.0.0.1")])["s1"]
    assert result == ProbeResult.failed(5, "ping timed out after 8 s")


def test_missing_binary_fails_every_target_clearly():
    fake = FakeRun(raises=FileNotFoundError("ping"))
    results = PingProbe(3, 1.0, UNIX, run=fake).run([Target("a", "h1"), Target("b", "h2")])
    assert set(results) == {"a", "b"}
    for result in results.values():
        assert result.transmitted == 3 and result.received == 0
        assert "ping binary not found" in result.error


def test_failure_costs_the_whole_count_and_other_targets_still_measure():
    fake = FakeRun({
        "good": (read_fixture("linux_iputils_localhost.txt"), 0),
        "bad.invalid": (read_fixture("linux_iputils_unknown_host.txt"), 2),
        "silent": (read_fixture("linux_iputils_total_loss.txt"), 1),
    })
    results = PingProbe(4, 1.0, UNIX, run=fake).run(
        [Target("g", "good"), Target("b", "bad.invalid"), Target("s", "silent")])
    assert results["g"].received == 4 and results["g"].error is None
    assert results["b"].transmitted == 4 and results["b"].error.startswith("unknown host")
    assert results["s"].received == 0 and results["s"].error is None


def test_unexpected_exception_in_one_target_does_not_escape():
    fake = FakeRun(raises=PermissionError("denied"))
    result = PingProbe(2, 1.0, UNIX, run=fake).run([Target("a", "h")])["a"]
    assert result.error == "could not run ping: denied"


@pytest.mark.parametrize("host", ["-f", "", " padded "])
def test_option_like_or_empty_hosts_are_never_run(host):
    fake = FakeRun()
    result = PingProbe(2, 1.0, UNIX, run=fake).run([Target("a", host)])["a"]
    assert result.error.startswith("invalid host") and fake.calls == []


def test_targets_run_concurrently_up_to_the_limit():
    # A barrier of 4 only opens if 4 pings are in flight at once; sequential would time out.
    barrier = threading.Barrier(4, timeout=5)
    text = read_fixture("linux_iputils_localhost.txt")

    def run(argv, **kwargs):
        barrier.wait()
        return subprocess.CompletedProcess(argv, 0, stdout=text, stderr="")

    targets = [Target(f"s{i}", f"h{i}") for i in range(8)]
    results = PingProbe(4, 1.0, UNIX, concurrency=4, run=run).run(targets)
    assert [results[t.server_id].received for t in targets] == [4] * 8


def test_no_targets_no_work():
    fake = FakeRun()
    assert PingProbe(2, 1.0, UNIX, run=fake).run([]) == {}
