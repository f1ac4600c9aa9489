"""parse_fping_output on recorded fping 5.1 output, and FpingProbe with a fake runner."""
from __future__ import annotations

import subprocess

import pytest

from collector.probes import PingProbe, TcpProbe, make_probe, resolve_auto
from collector.probes.base import ProbeResult, Target
from collector.probes.fping import FpingProbe, parse_fping_output

# stderr of `fping -C 4 -q -t 1000 -p 200 -i 2 -r 0 -B 1` (hosts on stdin) against netlab
# hosts (40+/-5 ms; silent; 20 ms 40% loss; 5 ms 60% duplicates) plus loopback names.
# Note the padding to the longest name and the duplicate lines printed even with -q.
RECORDED = """\
10.78.1.45 : duplicate for [0], 64 bytes, 6.17 ms
10.78.1.45 : duplicate for [2], 64 bytes, 6.10 ms
10.78.0.1  : 38.3 38.3 75.7 40.6
10.78.0.10 : - - - -
10.78.0.3  : 19.8 20.0 - 21.5
10.78.1.45 : 5.26 5.45 5.11 5.12
127.0.0.1  : 0.011 0.016 0.009 0.008
::1        : 0.023 0.023 0.023 0.022
localhost  : 0.004 0.003 0.003 0.003
"""
RECORDED_HOSTS = ["10.78.0.1", "10.78.0.10", "10.78.0.3", "10.78.1.45", "127.0.0.1", "::1", "localhost"]


def test_recorded_output():
    results = parse_fping_output(RECORDED, RECORDED_HOSTS, count=4, exit_code=1)
    assert results["10.78.0.1"] == ProbeResult(4, 4, [38.3, 38.3, 75.7, 40.6])
    assert results["10.78.0.3"] == ProbeResult(4, 3, [19.8, 20.0, None, 21.5])
    assert results["10.78.1.45"] == ProbeResult(4, 4, [5.26, 5.45, 5.11, 5.12], duplicates=2)
    assert results["::1"].samples_ms == [0.023, 0.023, 0.023, 0.022]
    assert results["localhost"].received == 4


def test_silent_host_is_total_loss_not_a_failure():
    silent = parse_fping_output(RECORDED, RECORDED_HOSTS, count=4, exit_code=1)["10.78.0.10"]
    assert silent == ProbeResult(transmitted=4, received=0, samples_ms=[None] * 4)
    assert silent.error is None


def test_missing_host_with_exit_2_is_an_unknown_host():
    # With -q fping prints nothing for a name it cannot resolve; exit code 2 says why.
    results = parse_fping_output("127.0.0.1 : 0.05 0.04\n", ["127.0.0.1", "sip.partner.invalid"], count=2, exit_code=2)
    assert results["127.0.0.1"].received == 2
    assert results["sip.partner.invalid"] == ProbeResult.failed(
        2, "unknown host: fping could not resolve sip.partner.invalid")


def test_missing_host_otherwise_says_no_result():
    results = parse_fping_output("", ["10.0.0.1"], count=3, exit_code=1)
    assert results["10.0.0.1"] == ProbeResult.failed(3, "fping printed no result for 10.0.0.1")


def test_error_lines_become_failures_or_error_counts():
    text = (
        "sip.partner.invalid: Name or service not known\n"
        "10.0.0.9: error while sending ping: No route to host\n"
        "10.0.0.9: error while sending ping: No route to host\n"
        "10.0.0.8: error while sending ping: Network is unreachable\n"
        "10.0.0.9 : - - 1.20\n"
    )
    results = parse_fping_output(text, ["sip.partner.invalid", "10.0.0.9", "10.0.0.8"], count=3, exit_code=2)
    assert results["sip.partner.invalid"] == ProbeResult.failed(3, "sip.partner.invalid: Name or service not known")
    assert results["10.0.0.8"].error == "10.0.0.8: error while sending ping: Network is unreachable"
    # A host with a -C line measured something: its send errors are counted, not fatal.
    assert results["10.0.0.9"] == ProbeResult(3, 1, [None, None, 1.2], errors=2)


def test_lines_for_other_hosts_and_noise_are_ignored():
    text = "fping: some warning\n10.9.9.9 : 1.0 2.0\n10.0.0.1 : 3.0 -\n"
    results = parse_fping_output(text, ["10.0.0.1"], count=2)
    assert results == {"10.0.0.1": ProbeResult(2, 1, [3.0, None])}


def test_ipv6_error_line_keeps_the_whole_address():
    text = "2001:db8::1: error while sending ping: Network is unreachable\n"
    result = parse_fping_output(text, ["2001:db8::1"], count=1)["2001:db8::1"]
    assert result.error == "2001:db8::1: error while sending ping: Network is unreachable"


# ---------------------------------------------------------------- FpingProbe, fake runner


class FakeRun:
    """Stands in for subprocess.run: records the call, returns canned stderr/exit code."""

    def __init__(self, stderr: str = "", code: int = 0, raises: BaseException | None = None):
        self.stderr, self.code, self.raises = stderr, code, raises
        self.calls: list[tuple[list[str], dict]] = []

    def __call__(self, argv, **kwargs):
        self.calls.append((argv, kwargs))
        if self.raises is not None:
            raise self.raises
        return subprocess.CompletedProcess(argv, self.code, stdout="", stderr=self.stderr)


def test_one_process_for_all_targets_with_safe_options():
    fake = FakeRun(RECORDED, code=1)
    targets = [Target("a", "10.78.0.1"), Target("b", "127.0.0.1"), Target("c", "10.78.0.10")]
    results = FpingProbe(4, 0.8, run=fake).run(targets)
    assert len(fake.calls) == 1
    argv, kwargs = fake.calls[0]
    assert argv == ["fping", "-C", "4", "-q", "-t", "800", "-p", "1000", "-i", "2", "-r", "0", "-B", "1"]
    assert kwargs["input"] == "10.78.0.1\n127.0.0.1\n10.78.0.10\n"
    assert results["a"].samples_ms == [38.3, 38.3, 75.7, 40.6]
    assert results["c"].received == 0 and results["c"].error is None


def test_repeated_hosts_are_pinged_once_and_shared():
    fake = FakeRun("127.0.0.1 : 0.01 0.02\n")
    results = FpingProbe(2, 1.0, run=fake).run([Target("x", "127.0.0.1"), Target("y", "127.0.0.1")])
    assert fake.calls[0][1]["input"] == "127.0.0.1\n"
    assert results["x"] == results["y"] == ProbeResult(2, 2, [0.01, 0.02])


def test_deadline_covers_the_schedule():
    probe = FpingProbe(5, 1.0, interval_ms=2, period_ms=1000)
    # few hosts: limited by the per-host period (4 gaps of 1 s)
    assert probe.deadline_seconds(10) == pytest.approx(4.0 * 1.1 + 1.0 + 5.0)
    # many hosts: limited by the global interval (3000 hosts * 5 packets * 2 ms = 30 s)
    assert probe.deadline_seconds(3000) == pytest.approx(30.0 * 1.1 + 1.0 + 5.0)


def test_deadline_is_passed_to_the_runner():
    fake = FakeRun("10.0.0.1 : 1.0\n")
    probe = FpingProbe(1, 0.5, run=fake)
    probe.run([Target("a", "10.0.0.1")])
    assert fake.calls[0][1]["timeout"] == probe.deadline_seconds(1)


def test_timeout_fails_every_target():
    fake = FakeRun(raises=subprocess.TimeoutExpired(["fping"], 9))
    probe = FpingProbe(3, 1.0, run=fake)
    results = probe.run([Target("a", "h1"), Target("b", "h2")])
    expected = f"fping timed out after {probe.deadline_seconds(2):.0f} s"
    assert results == {"a": ProbeResult.failed(3, expected), "b": ProbeResult.failed(3, expected)}


def test_missing_binary_fails_every_target():
    results = FpingProbe(3, 1.0, run=FakeRun(raises=FileNotFoundError("fping"))).run(
        [Target("a", "h1"), Target("b", "h2")])
    assert all("fping binary not found" in r.error and r.transmitted == 3 for r in results.values())


def test_fping_crash_keeps_reported_hosts_and_explains_the_rest():
    fake = FakeRun("h1 : 1.0 2.0\nfping: can't create socket (must run as root?)\n", code=4)
    results = FpingProbe(2, 1.0, run=fake).run([Target("a", "h1"), Target("b", "h2")])
    assert results["a"].received == 2
    assert results["b"].error == "fping failed (exit code 4): fping: can't create socket (must run as root?)"


@pytest.mark.parametrize("host", ["-f", "#comment", "two words", ""])
def test_invalid_hosts_never_reach_fping(host):
    fake = FakeRun("ok : 1.0\n")
    results = FpingProbe(1, 1.0, run=fake).run([Target("bad", host), Target("good", "ok")])
    assert results["bad"].error == "invalid host for fping"
    assert fake.calls[0][1]["input"] == "ok\n"


def test_no_valid_targets_no_process():
    fake = FakeRun()
    assert FpingProbe(1, 1.0, run=fake).run([Target("bad", "-x")])["bad"].error
    assert fake.calls == []


# ---------------------------------------------------------------- choosing fping: the factory


def test_auto_prefers_fping_where_installed():
    assert resolve_auto("linux", which=lambda name: "/usr/bin/fping") == "fping"
    assert resolve_auto("darwin", which=lambda name: None) == "ping"
    # Windows has no fping worth using, even if something answers to the name.
    assert resolve_auto("win32", which=lambda name: "C:/fping.exe") == "ping"


def test_make_probe_builds_each_kind():
    unix = {"os": "unix", "count_param": "-c", "timeout_param": "-W"}
    ping = make_probe("ping", count=3, timeout_seconds=1.0, os_params=unix, concurrency=7)
    assert isinstance(ping, PingProbe) and ping.concurrency == 7 and ping.argv("h")[:3] == ["ping", "-c", "3"]
    fping = make_probe("fping", count=3, timeout_seconds=1.0, os_params=unix, concurrency=7)
    assert isinstance(fping, FpingProbe) and fping.name == "fping"
    tcp = make_probe("tcp", count=3, timeout_seconds=1.0, os_params=unix, concurrency=7)
    assert isinstance(tcp, TcpProbe) and (tcp.count, tcp.concurrency) == (3, 7)
    with pytest.raises(ValueError, match="unknown probe kind"):
        make_probe("icmp", count=3, timeout_seconds=1.0, os_params=unix, concurrency=7)
