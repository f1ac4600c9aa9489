"""The real ping and fping binaries against netlab hosts of known delay, jitter and loss.

Needs root and ``ip netns`` (skipped otherwise, with the reason). All traffic goes to the
lab's namespace (10.78.0.0/16 via a veth) or to loopback. The responder draws each host's
loss and jitter from its own seeded random stream, so a run is repeatable; the tolerances
below are still set from the statistics (several standard errors), not from one lucky run.
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import time

import pytest

from collector.probes import FpingProbe, PingProbe, Target
from collector.probes.ping import parse_ping_output

try:  # tests/ may or may not become a package; support both import styles
    from tests.netlab import HostProfile, NetLab, netlab_available
except ImportError:  # pragma: no cover
    from netlab import HostProfile, NetLab, netlab_available

AVAILABLE, REASON = netlab_available()
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pingparsing.*")
needs_lab = pytest.mark.skipif(not AVAILABLE, reason=REASON)
needs_ping = pytest.mark.skipif(shutil.which("ping") is None, reason="ping is not installed")
needs_fping = pytest.mark.skipif(shutil.which("fping") is None, reason="fping is not installed")

UNIX = {"os": "unix", "count_param": "-c", "timeout_param": "-W"}
JITTERY = NetLab.address(0)   # 40 ms +/- 5 ms
STEADY = NetLab.address(1)    # 15 ms
LOSSY = NetLab.address(2)     # 10 ms, 20 % loss
SILENT = NetLab.address(3)    # never answers
ECHOED = NetLab.address(4)    # 5 ms, every reply sent twice
FLEET = [NetLab.address(100 + i) for i in range(20)]  # 20 ms each, for the concurrency test
PROFILES = {
    JITTERY: HostProfile(delay_ms=40, jitter_ms=5),
    STEADY: HostProfile(delay_ms=15),
    LOSSY: HostProfile(delay_ms=10, loss_pct=20),
    SILENT: HostProfile(silent=True),
    ECHOED: HostProfile(delay_ms=5, duplicate_pct=100),
    **{ip: HostProfile(delay_ms=20) for ip in FLEET},
}
# How far a mean RTT may sit from the configured delay: the responder's scheduling and the
# veth add well under 1 ms; the rest is room for a loaded shared machine.
DELAY_TOLERANCE_MS = 3.0


@pytest.fixture(scope="module")
def lab():
    """One lab for the whole module: building it costs ~0.3 s, the tests share its hosts."""
    if not AVAILABLE:
        pytest.skip(REASON)
    with NetLab(PROFILES, seed=20240601) as running:
        yield running


def mean_rtt(samples):
    """Mean of the replies that arrived."""
    return statistics.fmean(s for s in samples if s is not None)


@needs_ping
def test_ping_probe_delay_jitter_and_silent_host(lab):
    targets = [Target("jittery", JITTERY), Target("steady", STEADY), Target("silent", SILENT),
               Target("loopback", "127.0.0.1")]
    results = PingProbe(count=5, timeout_seconds=1, os_params=UNIX).run(targets)

    jittery, steady, silent = results["jittery"], results["steady"], results["silent"]
    assert (jittery.transmitted, jittery.received, len(jittery.samples_ms)) == (5, 5, 5)
    # Mean of 5 uniform(+/-5) draws: standard error 1.3 ms.
    assert mean_rtt(jittery.samples_ms) == pytest.approx(40, abs=DELAY_TOLERANCE_MS + 2.6)
    assert max(jittery.samples_ms) - min(jittery.samples_ms) > 0.5  # the jitter is visible...
    # ...and bounded: netem adds at most 5 ms; the margin is for the scheduler (a reply once came 8 ms late
    # on a busy 2-core machine), still far below what an unbounded or misconfigured jitter would give.
    assert max(jittery.samples_ms) < 40 + 5 + 10
    assert mean_rtt(steady.samples_ms) == pytest.approx(15, abs=DELAY_TOLERANCE_MS)
    assert steady.rtt_avg_ms == pytest.approx(15, abs=DELAY_TOLERANCE_MS)  # ping's own summary agrees
    assert (silent.transmitted, silent.received, silent.samples_ms, silent.error) == (5, 0, [], None)
    assert results["loopback"].received == 5 and max(results["loopback"].samples_ms) < 5
    print(f"\nping: jittery mean {mean_rtt(jittery.samples_ms):.2f} ms (40 +/- 5 configured), "
          f"steady mean {mean_rtt(steady.samples_ms):.2f} ms (15 configured)")


@needs_ping
def test_ping_probe_counts_duplicates_apart(lab):
    result = PingProbe(count=3, timeout_seconds=1, os_params=UNIX).run([Target("dup", ECHOED)])["dup"]
    assert (result.received, len(result.samples_ms)) == (3, 3)
    # ping exits as soon as the last original reply is in, so the last duplicate may be missed.
    assert result.duplicates in (2, 3)
    assert mean_rtt(result.samples_ms) == pytest.approx(5, abs=DELAY_TOLERANCE_MS)


@needs_ping
def test_ping_probe_runs_targets_concurrently(lab):
    probe = PingProbe(count=2, timeout_seconds=1, os_params=UNIX, concurrency=32)
    start = time.perf_counter()
    probe.run([Target("one", FLEET[0])])
    single = time.perf_counter() - start

    start = time.perf_counter()
    results = probe.run([Target(f"s{i}", ip) for i, ip in enumerate(FLEET)])
    together = time.perf_counter() - start

    assert all(r.received == 2 and r.error is None for r in results.values())
    sequential_estimate = single * len(FLEET)
    print(f"\nping x{len(FLEET)}: {together:.2f} s concurrently vs ~{sequential_estimate:.1f} s one by one")
    assert together < sequential_estimate / 5


@needs_ping
def test_real_ping_output_over_many_packets_gives_loss_and_delay(lab):
    # 300 packets at 10 ms (allowed for root) make loss measurable in 3 s; the parser then
    # has to cope with a long real output.
    completed = subprocess.run(["ping", "-c", "300", "-i", "0.01", "-W", "1", LOSSY],
                               capture_output=True, text=True, timeout=20, check=False)
    result = parse_ping_output(completed.stdout + completed.stderr, completed.returncode)
    loss_pct = 100 * (1 - result.received / result.transmitted)
    assert result.transmitted == 300 and result.error is None
    assert len(result.samples_ms) == result.received
    # 20 % loss over 300 packets: standard error 2.3 points.
    assert loss_pct == pytest.approx(20, abs=7)
    assert mean_rtt(result.samples_ms) == pytest.approx(10, abs=DELAY_TOLERANCE_MS)
    print(f"\nping -c 300 lossy host: loss {loss_pct:.1f} % (20 configured), "
          f"mean {mean_rtt(result.samples_ms):.2f} ms (10 configured)")


@needs_fping
def test_fping_probe_delay_jitter_loss_duplicates(lab):
    # 200 packets per host every 20 ms: 4 s for all hosts together.
    probe = FpingProbe(count=200, timeout_seconds=1, interval_ms=1, period_ms=20)
    targets = [Target("jittery", JITTERY), Target("steady", STEADY), Target("lossy", LOSSY),
               Target("silent", SILENT), Target("dup", ECHOED)]
    results = probe.run(targets)
    jittery, steady, lossy = results["jittery"], results["steady"], results["lossy"]
    silent, dup = results["silent"], results["dup"]

    assert jittery.received == 200
    assert mean_rtt(jittery.samples_ms) == pytest.approx(40, abs=DELAY_TOLERANCE_MS)
    # uniform(-5, +5) has a standard deviation of 5/sqrt(3) = 2.89 ms
    assert statistics.pstdev(jittery.samples_ms) == pytest.approx(5 / 3 ** 0.5, abs=0.8)
    assert mean_rtt(steady.samples_ms) == pytest.approx(15, abs=DELAY_TOLERANCE_MS)

    loss_pct = 100 * lossy.samples_ms.count(None) / lossy.transmitted
    # 20 % loss over 200 packets: standard error 2.8 points.
    assert loss_pct == pytest.approx(20, abs=8)
    assert lossy.received == 200 - lossy.samples_ms.count(None)

    assert (silent.received, silent.error, silent.samples_ms) == (0, None, [None] * 200)
    assert (dup.received, dup.duplicates) == (200, 200)
    print(f"\nfping: jittery mean {mean_rtt(jittery.samples_ms):.2f} ms sd {statistics.pstdev(jittery.samples_ms):.2f} "
          f"(40, sd 2.89 configured); steady mean {mean_rtt(steady.samples_ms):.2f} ms (15); "
          f"lossy loss {loss_pct:.1f} % (20); dups {dup.duplicates}/200")


@needs_lab
def test_lab_cleans_up_after_an_error():
    def namespaces():
        return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout

    block = "10.79.0.0/24"  # its own block, so it does not wait for the module's lab
    with pytest.raises(RuntimeError, match="boom"):
        with NetLab({NetLab.address(0, block): HostProfile()}, block=block, transit="10.77.0.4/30") as inner:
            assert inner.namespace in namespaces()
            raise RuntimeError("boom")
    assert inner.namespace not in namespaces()
    routes = subprocess.run(["ip", "route", "show", block], capture_output=True, text=True).stdout
    assert routes.strip() == ""
    assert inner.responder is None and inner.responder_stats is not None


def test_lab_refuses_hosts_outside_its_block():
    with pytest.raises(ValueError, match="outside"):
        NetLab({"192.0.2.1": HostProfile()})


def test_netlab_available_states_why_not(monkeypatch):
    # The cached answer is for this machine; call the undecorated check as a non-root user.
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    available, reason = netlab_available.__wrapped__()
    assert not available and "root" in reason
