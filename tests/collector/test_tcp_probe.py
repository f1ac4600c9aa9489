"""TcpProbe against real sockets on 127.0.0.1 (listening, refusing, never answering)."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from collector.probes.base import ProbeResult, Target
from collector.probes.tcp import TcpProbe, connect_once


@pytest.fixture
def listener():
    """A listening TCP socket; the kernel completes handshakes without us calling accept()."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    yield server.getsockname()[1]
    server.close()


@pytest.fixture
def closed_port():
    """A port bound but not listening: SYNs get a RST. Kept bound so nobody else takes it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def blackhole_port():
    """A listener with a full accept queue: Linux drops further SYNs, so connects time out."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=1)
    yield port
    filler.close()
    server.close()


def test_open_port_gives_one_sample_per_attempt(listener):
    result = TcpProbe(count=3, timeout_seconds=1.0).run([Target("s1", "127.0.0.1", listener)])["s1"]
    assert (result.transmitted, result.received, result.errors, result.error) == (3, 3, 0, None)
    assert len(result.samples_ms) == 3
    # Loopback handshakes take microseconds; anything near the timeout would be a bug.
    assert all(0 < s < 100 for s in result.samples_ms)


def test_refused_port_is_loss_with_errors_not_a_failure(closed_port):
    result = TcpProbe(count=3, timeout_seconds=1.0).run([Target("s1", "127.0.0.1", closed_port)])["s1"]
    assert result == ProbeResult(transmitted=3, received=0, samples_ms=[None] * 3, errors=3)


def test_silent_port_times_out_as_loss(blackhole_port):
    start = time.perf_counter()
    result = TcpProbe(count=2, timeout_seconds=0.2).run([Target("s1", "127.0.0.1", blackhole_port)])["s1"]
    elapsed = time.perf_counter() - start
    # Silence is loss without an "error" (nothing answered "no").
    assert result == ProbeResult(transmitted=2, received=0, samples_ms=[None, None], errors=0)
    assert 0.35 < elapsed < 2.0


def test_connect_once_reports_the_kind(listener, closed_port):
    rtt, kind = connect_once(socket.AF_INET, ("127.0.0.1", listener), 1.0)
    assert rtt is not None and rtt > 0 and kind is None
    assert connect_once(socket.AF_INET, ("127.0.0.1", closed_port), 1.0) == (None, "refused")


def test_unknown_host_is_a_failure():
    # An injected resolver keeps this test from sending a real DNS query.
    def resolve(host, port, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    result = TcpProbe(count=4, timeout_seconds=1.0, resolve=resolve).run([Target("s1", "sip.partner.invalid")])["s1"]
    assert result.transmitted == 4 and result.received == 0
    assert result.error.startswith("unknown host: sip.partner.invalid")
    assert "Name or service not known" in result.error


def test_default_port_when_target_has_none(listener):
    asked = []

    def resolve(host, port, **kwargs):
        asked.append((host, port))
        return socket.getaddrinfo("127.0.0.1", listener, **kwargs)

    probe = TcpProbe(count=1, timeout_seconds=1.0, default_port=5060, resolve=resolve)
    results = probe.run([Target("a", "sip.example"), Target("b", "sip.example", 5080)])
    assert sorted(asked) == [("sip.example", 5060), ("sip.example", 5080)]  # threads: any order
    assert results["a"].received == results["b"].received == 1


def test_many_targets_map_back_by_server_id(listener, closed_port):
    targets = [Target(f"open{i}", "127.0.0.1", listener) for i in range(20)]
    targets += [Target(f"closed{i}", "127.0.0.1", closed_port) for i in range(5)]
    results = TcpProbe(count=2, timeout_seconds=1.0, concurrency=8).run(targets)
    assert set(results) == {t.server_id for t in targets}
    assert all(results[f"open{i}"].received == 2 for i in range(20))
    assert all(results[f"closed{i}"].errors == 2 for i in range(5))


def test_targets_run_concurrently(listener):
    # A barrier of 6 only opens when 6 targets are being probed at once; one by one, the first resolve
    # would wait out the barrier's timeout and every target would fail to resolve.
    barrier = threading.Barrier(6, timeout=5)

    def resolve(host, port, **kwargs):
        barrier.wait()
        return socket.getaddrinfo(host, port, **kwargs)

    targets = [Target(f"s{i}", "127.0.0.1", listener) for i in range(12)]
    results = TcpProbe(count=1, timeout_seconds=1.0, concurrency=6, resolve=resolve).run(targets)
    assert [results[t.server_id].received for t in targets] == [1] * 12
