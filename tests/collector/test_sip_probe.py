"""The SIP OPTIONS probe against real SIP peers on loopback: SIPp UAS processes and Kamailio.

Nothing is mocked on the wire. SIPp (UDP and TCP) plays every reply code, silence and loss; Kamailio
plays TLS (Debian's SIPp has no TLS) and the exact pause (SIPp's own pause fires 2-10 ms late, see
tests/sipp.py). Timing checks follow issue 14: within 3 ms + 3 % of the pause.
"""
from __future__ import annotations

import re
import socket
import statistics
import threading
import time
import pytest

from collector.probes.certexpiry import not_after
from collector.probes.sip import SipProbe, SipRequestResult, SipTarget, code_is_up, reply_status, summarise
from collector.probes.sip_message import StreamFramer, parse_response
from tests.sipp import (KamailioPeer, SippUas, free_port, kamailio_available, make_certificate, sipp_available,
                        uas_scenario)

needs_sipp = pytest.mark.skipif(not sipp_available(), reason="sipp (Debian sip-tester) is not installed")
needs_kamailio = pytest.mark.skipif(not kamailio_available(), reason="kamailio with kamailio-tls-modules not installed")

PAUSE_MS = 80
COUNT = 4
TIMEOUT_S = 1.2  # one UDP retransmission (at 0.5 s) before the timeout


def within_issue_bound(measured_ms: float, expected_ms: float) -> bool:
    """Issue 14's accuracy bound: within 3 ms + 3 % of the expected time."""
    return abs(measured_ms - expected_ms) <= 3.0 + 0.03 * expected_ms


# --- SIPp over UDP: one round over every behaviour at once --------------------------------------------

BEHAVIOURS = {
    "ok": dict(),
    "paused": dict(pause_ms=PAUSE_MS, stamp_hold=True),
    "unavailable": dict(code=503, reason="Service Unavailable"),
    "maintenance": dict(code=503, reason="Service Unavailable", retry_after=300),
    "not_found": dict(code=404, reason="Not Found"),
    "unauthorized": dict(code=407, reason="Proxy Authentication Required"),
    "busy": dict(code=486, reason="Busy Here"),
    "request_timeout": dict(code=408, reason="Request Timeout"),
    "decline": dict(code=603, reason="Decline"),
    "silent": dict(silent=True),
    "every_other": dict(answer_every=2),
}


@pytest.fixture(scope="module")
def udp_round():
    """One probe round over a SIPp UAS per behaviour plus two closed ports; (results, peers, wall seconds)."""
    if not sipp_available():
        pytest.skip("sipp (Debian sip-tester) is not installed")
    peers = {}
    try:
        for name, kwargs in BEHAVIOURS.items():
            peers[name] = SippUas(uas_scenario(**kwargs)).start()
        targets = [SipTarget(name, "127.0.0.1", peer.port) for name, peer in peers.items()]
        # The same 404 peer seen through narrowed and widened up_codes.
        targets.append(SipTarget("narrowed", "127.0.0.1", peers["not_found"].port, up_codes=(200,)))
        targets.append(SipTarget("widened", "127.0.0.1", peers["busy"].port, up_codes=("2xx", 486)))
        # Nothing listens here: Linux answers with ICMP port unreachable. Two of them, mixed in with the
        # live peers on the same shared socket, so their pending errors land on other sends too.
        closed = free_port(2)
        targets += [SipTarget("closed_a", "127.0.0.1", closed), SipTarget("closed_b", "127.0.0.1", closed + 1)]
        started = time.perf_counter()
        results = SipProbe(COUNT, TIMEOUT_S, concurrency=64).run(targets)
        yield results, peers, time.perf_counter() - started
    finally:
        for peer in peers.values():
            peer.stop()


@pytest.mark.parametrize("name, status, failure, code, reason", [
    ("ok", "up", None, 200, "OK"),
    ("paused", "up", None, 200, "OK"),
    ("unavailable", "down", "code", 503, "Service Unavailable"),
    ("maintenance", "maintenance", "code", 503, "Service Unavailable"),
    ("not_found", "up", None, 404, "Not Found"),
    ("unauthorized", "up", None, 407, "Proxy Authentication Required"),
    ("busy", "down", "code", 486, "Busy Here"),
    ("request_timeout", "down", "code", 408, "Request Timeout"),
    ("decline", "down", "code", 603, "Decline"),
    ("narrowed", "down", "code", 404, "Not Found"),
    ("widened", "up", None, 486, "Busy Here"),
])
def test_each_reply_code_gets_its_status(udp_round, name, status, failure, code, reason):
    result = udp_round[0][name]
    assert (result.status, result.failure, result.code, result.reason) == (status, failure, code, reason)
    assert (result.sent, result.answered, result.loss_pct) == (COUNT, COUNT, 0.0)
    assert result.server_header.startswith("SIPp UAS") and result.transport == "udp"
    assert result.connect_ms is None and result.tls_verified is None


def test_response_time_follows_sipps_pause(udp_round):
    """Against SIPp's own clock: it stamps in the reply how long it held each request."""
    result = udp_round[0]["paused"]
    held_ms = [int(float(re.search(r"held_us=([\d.]+)", r.server_header).group(1))) / 1000 for r in result.requests]
    measured = [r.response_ms for r in result.requests]
    assert all(m >= PAUSE_MS for m in measured), measured  # a reply cannot beat the pause
    # SIPp reads the request 1-2 ms before its recv action stamps it, so compare medians.
    assert within_issue_bound(statistics.median(measured), statistics.median(held_ms)), (measured, held_ms)
    assert result.response_min_ms == min(measured) and result.response_max_ms == max(measured)
    assert result.response_avg_ms == pytest.approx(sum(measured) / COUNT)


def test_silent_server_times_out_after_retransmitting(udp_round):
    result = udp_round[0]["silent"]
    assert (result.status, result.failure, result.answered, result.loss_pct) == ("down", "timeout", 0, 100.0)
    assert result.code is None and result.server_header is None
    # Timer E: resend at 0.5 s, the next would be at 1.5 s, after the 1.2 s timeout.
    assert [r.retransmissions for r in result.requests] == [1] * COUNT
    assert result.detail == "no final response within 1.2 s (2 sends)"


def test_dropping_every_other_request_is_50_percent_loss(udp_round):
    result = udp_round[0]["every_other"]
    assert (result.status, result.answered, result.loss_pct, result.code) == ("up", 2, 50.0, 200)
    assert [r.answered for r in result.requests] == [True, False, True, False]


def test_closed_udp_port_is_refused_by_icmp_and_quickly(udp_round):
    results, _, wall_s = udp_round
    for name in ("closed_a", "closed_b"):
        result = results[name]
        assert (result.status, result.failure, result.loss_pct) == ("down", "refused", 100.0)
        assert result.detail == "ICMP port unreachable"
        assert all(r.failure == "refused" and r.retransmissions == 0 for r in result.requests)
    # The refusals did not leak into the live peers sharing the socket: they all answered everything.
    for name in BEHAVIOURS:
        if name not in ("silent", "every_other"):
            assert results[name].answered == COUNT, name
    # The whole round is bound by the silent peer's four timeouts, not by anything serial.
    assert wall_s < COUNT * TIMEOUT_S + 1.5


def test_closed_udp_port_on_ipv6_loopback_is_refused():
    port = free_port(host="::1")
    result = SipProbe(2, 1.0).run([SipTarget("v6", "::1", port)])["v6"]
    assert (result.status, result.failure, result.detail) == ("down", "refused", "ICMP port unreachable")


@needs_sipp
def test_sipp_over_ipv6_answers():
    with SippUas(uas_scenario(), host="::1") as peer:
        result = SipProbe(2, 1.0).run([SipTarget("v6", "::1", peer.port)])["v6"]
    assert (result.status, result.code, result.answered) == ("up", 200, 2)


# --- SIPp over TCP --------------------------------------------------------------------------------------

@needs_sipp
def test_tcp_transport_answers_and_measures_connect_time():
    with SippUas(uas_scenario(pause_ms=20), transport="tcp") as peer:
        result = SipProbe(COUNT, TIMEOUT_S).run([SipTarget("tcp", "127.0.0.1", peer.port, "tcp")])["tcp"]
    assert (result.status, result.code, result.answered, result.transport) == ("up", 200, COUNT, "tcp")
    assert 0 < result.connect_ms < 50 and result.tls_handshake_ms is None
    assert all(r.response_ms >= 20 for r in result.requests)


@needs_sipp
def test_tcp_reply_codes_and_silence():
    with SippUas(uas_scenario(code=503, reason="Service Unavailable", retry_after=60), transport="tcp") as busy, \
         SippUas(uas_scenario(silent=True), transport="tcp") as silent:
        results = SipProbe(2, 0.6).run([SipTarget("m", "127.0.0.1", busy.port, "tcp"),
                                        SipTarget("s", "127.0.0.1", silent.port, "tcp")])
    assert (results["m"].status, results["m"].code) == ("maintenance", 503)
    assert (results["s"].status, results["s"].failure, results["s"].loss_pct) == ("down", "timeout", 100.0)
    assert all(r.retransmissions == 0 for r in results["s"].requests)  # TCP is reliable: no resends


def test_closed_tcp_port_is_refused():
    port = free_port()
    result = SipProbe(2, 1.0).run([SipTarget("t", "127.0.0.1", port, "tcp")])["t"]
    assert (result.status, result.failure, result.detail) == ("down", "refused", "TCP connection refused")
    assert result.connect_ms is None and result.sent == 2


def test_unknown_host_is_an_error_not_a_crash():
    result = SipProbe(2, 1.0).run([SipTarget("x", "no-such-host.invalid", 5060)])["x"]
    assert (result.status, result.failure, result.sent, result.answered) == ("down", "error", 2, 0)
    assert result.detail.startswith("unknown host no-such-host.invalid")


# --- Kamailio: the exact pause on every transport, and TLS ---------------------------------------------

@pytest.fixture(scope="module")
def kamailio(tmp_path_factory):
    """A Kamailio answering 200 after exactly PAUSE_MS, with a self-signed certificate valid 30 days."""
    if not kamailio_available():
        pytest.skip("kamailio with kamailio-tls-modules is not installed")
    workdir = tmp_path_factory.mktemp("kamailio")
    cert, key = make_certificate(workdir, days_valid=30)
    with KamailioPeer(workdir, pause_ms=PAUSE_MS, cert=cert, key=key) as peer:
        # Each Kamailio worker is slow (40-60 ms) on its first message; warm them all before timing anything.
        SipProbe(4, 2.0).run([SipTarget(t, "127.0.0.1", peer.tls_port if t == "tls" else peer.port, t, verify=False)
                              for t in ("udp", "tcp", "tls")])
        yield peer


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_response_time_is_within_3ms_plus_3pct_of_the_pause(kamailio, transport):
    port = kamailio.tls_port if transport == "tls" else kamailio.port
    target = SipTarget("k", "127.0.0.1", port, transport, ca_file=str(kamailio.cert))
    result = SipProbe(5, 2.0).run([target])["k"]
    assert (result.status, result.code, result.answered) == ("up", 200, 5)
    assert result.server_header.startswith("kamailio")
    measured = [r.response_ms for r in result.requests]
    assert all(m >= PAUSE_MS for m in measured), measured  # never faster than the pause
    assert within_issue_bound(statistics.median(measured), PAUSE_MS), measured
    # On a shared 2-core machine one request in five may lose the CPU for a few ms, in Kamailio or in
    # the probe (TCP/TLS replies are timed when the loop reads them; UDP ones by the kernel), so the
    # bound holds for at least four of the five, and for the median.
    assert sum(within_issue_bound(m, PAUSE_MS) for m in measured) >= 4, measured


def test_tls_with_ca_file_is_verified_and_reports_expiry(kamailio):
    target = SipTarget("k", "127.0.0.1", kamailio.tls_port, "tls", ca_file=str(kamailio.cert))
    result = SipProbe(2, 2.0).run([target])["k"]
    assert (result.status, result.tls_verified) == ("up", True)
    assert 0 < result.connect_ms < 50 and 0 < result.tls_handshake_ms < 500
    assert result.tls_days_left == pytest.approx(30, abs=0.01)


def test_tls_self_signed_fails_verification_against_the_system_store(kamailio):
    result = SipProbe(2, 2.0).run([SipTarget("k", "127.0.0.1", kamailio.tls_port, "tls")])["k"]
    assert (result.status, result.failure, result.tls_verified, result.answered) == ("down", "tls", False, 0)
    assert result.detail.startswith("certificate verify failed: self-signed certificate")
    assert result.connect_ms is not None and result.tls_handshake_ms is None
    assert result.tls_days_left == pytest.approx(30, abs=0.01)  # read anyway, unverified


def test_tls_without_verification_is_up_but_says_unverified(kamailio):
    result = SipProbe(2, 2.0).run([SipTarget("k", "127.0.0.1", kamailio.tls_port, "tls", verify=False)])["k"]
    assert (result.status, result.code, result.tls_verified) == ("up", 200, False)
    assert result.tls_days_left == pytest.approx(30, abs=0.01)


def test_tls_name_mismatch_fails(kamailio):
    target = SipTarget("k", "127.0.0.1", kamailio.tls_port, "tls", ca_file=str(kamailio.cert),
                       tls_server_name="sbc.other.example")
    result = SipProbe(1, 2.0).run([target])["k"]
    assert (result.status, result.failure) == ("down", "tls")
    assert "sbc.other.example" in result.detail


def test_tls_to_a_plain_sip_port_is_a_tls_failure(kamailio):
    result = SipProbe(1, 1.0).run([SipTarget("k", "127.0.0.1", kamailio.port, "tls", verify=False)])["k"]
    assert (result.status, result.failure) == ("down", "tls")


@needs_kamailio
@pytest.mark.parametrize("days_valid", [2.5, -3])
def test_expiring_and_expired_certificates(tmp_path, days_valid):
    cert, key = make_certificate(tmp_path, days_valid=days_valid)
    with KamailioPeer(tmp_path, cert=cert, key=key) as peer:
        result = SipProbe(1, 2.0).run([SipTarget("k", "127.0.0.1", peer.tls_port, "tls", ca_file=str(cert))])["k"]
    assert result.tls_days_left == pytest.approx(days_valid, abs=0.01)
    if days_valid > 0:
        assert (result.status, result.tls_verified) == ("up", True)
    else:
        assert (result.status, result.failure, result.tls_verified) == ("down", "tls", False)
        assert "certificate has expired" in result.detail


# --- Pure parts: status rules, parsing, certificate dates ---------------------------------------------

def reply(code: int, retry_after: bool = False, ms: float = 10.0) -> SipRequestResult:
    return SipRequestResult(code=code, reason=f"R{code}", response_ms=ms, retry_after=retry_after)


@pytest.mark.parametrize("code, retry_after, up_codes, status", [
    (200, False, None, "up"), (202, False, None, "up"), (401, False, None, "up"), (403, False, None, "up"),
    (404, False, None, "up"), (407, False, None, "up"), (484, False, None, "up"), (302, False, None, "down"),
    (405, False, None, "down"), (408, False, None, "down"), (500, False, None, "down"), (503, False, None, "down"),
    (503, True, None, "maintenance"), (600, False, None, "down"), (404, False, (200,), "down"),
    (486, False, ("2xx", 486), "up"), (503, True, ("5xx",), "up"),
])
def test_reply_status(code, retry_after, up_codes, status):
    assert reply_status(code, retry_after, up_codes) == status


def test_code_classes():
    assert code_is_up(299, ("2xx",)) and not code_is_up(300, ("2xx",)) and code_is_up(486, (486,))


def test_most_frequent_code_wins_and_ties_go_to_the_worse_status():
    target = SipTarget("s", "h")
    result = summarise(target, [reply(200), reply(503), reply(200), SipRequestResult(failure="timeout")])
    assert (result.code, result.status, result.loss_pct) == (200, "up", 25.0)
    tie = summarise(target, [reply(200), reply(503), reply(503), reply(200)])
    assert (tie.code, tie.status, tie.failure, tie.detail) == (503, "down", "code", "503 R503")
    maintenance = summarise(target, [reply(503, True), reply(503, True), reply(200)])
    assert (maintenance.status, maintenance.failure) == ("maintenance", "code")


def test_round_without_replies_takes_the_most_explicit_failure():
    target = SipTarget("s", "h")
    # One ICMP refusal among timeouts (the peer's kernel rate-limits its ICMP errors): refused.
    result = summarise(target, [SipRequestResult(failure="timeout"), SipRequestResult(failure="refused", detail="x"),
                                SipRequestResult(failure="timeout"), SipRequestResult(failure="refused", detail="y")])
    assert (result.status, result.failure, result.detail) == ("down", "refused", "y")
    tls_first = summarise(target, [SipRequestResult(failure="timeout"), SipRequestResult(failure="tls")])
    assert tls_first.failure == "tls"


def test_request_uri_defaults_to_host_and_port():
    assert SipTarget("s", "10.0.0.1", 5070).uri == "sip:10.0.0.1:5070"
    assert SipTarget("s", "2001:db8::1").uri == "sip:[2001:db8::1]:5060"
    assert SipTarget("s", "h", request_uri="sip:x@y").uri == "sip:x@y"


def test_parse_response_reads_compact_and_folded_headers():
    data = (b"SIP/2.0 404 Not  Found\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b;branch=z9hG4bK2\r\n"
            b"i: abc@h\r\nCSeq: 1 OPTIONS\r\nUser-Agent: Asterisk\r\n PBX 20\r\nRetry-After: 5\r\nl: 0\r\n\r\n")
    response = parse_response(data)
    assert (response.code, response.reason, response.branch) == (404, "Not  Found", "z9hG4bK1")
    assert response.call_id == "abc@h"
    assert (response.server_header, response.retry_after, response.cseq_method) == ("Asterisk PBX 20", True, "OPTIONS")
    assert parse_response(b"OPTIONS sip:x SIP/2.0\r\n\r\n") is None and parse_response(b"\r\n\r\n") is None


def test_stream_framer_cuts_by_content_length_across_chunks():
    framer = StreamFramer()
    first = b"SIP/2.0 200 OK\r\nContent-Length: 4\r\n\r\nbody"
    second = b"SIP/2.0 486 Busy\r\nl: 0\r\n\r\n"
    stream = b"\r\n\r\n" + first + second
    got = []
    for i in range(0, len(stream), 7):
        got += framer.feed(stream[i:i + 7])
    assert got == [first, second]
    with pytest.raises(ValueError):
        StreamFramer().feed(b"SIP/2.0 200 OK\r\nContent-Length: x\r\n\r\n")


@pytest.mark.parametrize("days", [2.5, -3, 10000])  # 10000 days is past 2049: a GeneralizedTime
def test_not_after_matches_cryptography(tmp_path, days):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding
    cert_path, _ = make_certificate(tmp_path, days_valid=days)
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert not_after(cert.public_bytes(Encoding.DER)) == cert.not_valid_after_utc.replace(microsecond=0)
    with pytest.raises(ValueError):
        not_after(b"\x30\x03\x02\x01\x01")


def test_probe_refuses_nonsense_parameters():
    with pytest.raises(ValueError):
        SipProbe(0, 1.0)
    with pytest.raises(ValueError):
        SipProbe(1, 0)
    assert SipProbe(1, 1.0).run([]) == {}


def test_clock_is_injectable():
    """Response times come from the clock given: one running 1000x fast turns a ~0.3 ms loopback reply
    into hundreds of "ms"."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))

        def answer():
            data, addr = server.recvfrom(65535)
            lines = data.decode().split("\r\n")
            via = next(line for line in lines if line.startswith("Via:"))
            call_id = next(line for line in lines if line.startswith("Call-ID:"))
            time.sleep(0.002)
            server.sendto(f"SIP/2.0 200 OK\r\n{via}\r\n{call_id}\r\nCSeq: 1 OPTIONS\r\n"
                          f"Content-Length: 0\r\n\r\n".encode(), addr)

        thread = threading.Thread(target=answer)
        thread.start()
        probe = SipProbe(1, 2.0, clock=lambda: time.perf_counter() * 1000)
        result = probe.run([SipTarget("c", "127.0.0.1", server.getsockname()[1])])["c"]
        thread.join()
    assert result.status == "up" and result.response_avg_ms > 1000  # 2 ms of real time, 1000 x


def test_arrival_time_comes_from_the_kernel_timestamp():
    """A reply that waited 30 ms in the socket buffer (the loop was busy) is dated when it arrived."""
    import asyncio
    import struct as struct_module
    from collector.probes import sip as sip_module

    async def arrival(ancillary):
        hub = sip_module._UdpHub(SipProbe(1, 2.0, clock=lambda: 100.0))
        return hub._arrival(ancillary)

    arrived = time.time() - 0.030
    stamp = struct_module.pack("=qq", int(arrived), int((arrived % 1) * 1e9))
    got = asyncio.run(arrival([(socket.SOL_SOCKET, sip_module.SO_TIMESTAMPNS, stamp)]))
    assert got == pytest.approx(100.0 - 0.030, abs=0.002)
    assert asyncio.run(arrival([])) == 100.0  # no timestamp: now
    future = struct_module.pack("=qq", int(time.time() + 60), 0)  # wall clock stepped: ignored
    assert asyncio.run(arrival([(socket.SOL_SOCKET, sip_module.SO_TIMESTAMPNS, future)])) == 100.0
