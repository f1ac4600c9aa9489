"""SIP OPTIONS probe over UDP, TCP and TLS: is each partner's SIP stack answering, how fast, with what.

One round sends ``count`` OPTIONS requests to every target, one after the other per target, each its
own transaction (new branch, Call-ID and tag) with ``timeout_seconds`` to get a final response. All
targets run at once, at most ``concurrency`` at a time, on one asyncio loop:

* UDP: one socket per address family for all targets. Replies are matched to their transaction by
  the top Via branch (and Call-ID), never by source address, so an SBC answering from another IP is
  still heard. Lost requests are retransmitted on RFC 3261's schedule (T1 = 500 ms, doubling; for a
  non-INVITE transaction the interval is capped at T2 = 4 s, which only matters past 7.5 s) and the
  response time is measured from the *first* send. 1xx responses are ignored.
* ICMP port unreachable on UDP: the shared socket has IP_RECVERR / IPV6_RECVERR set. Linux then
  reports ICMP errors on an unconnected socket too and queues each one, with a copy of the request
  that caused it and its destination, on the socket's error queue; the request's branch names the
  transaction, which ends as ``refused``. A connected socket per target would also see the error,
  but needs a descriptor per target and drops replies from any other source address, so it cannot
  be the one shared socket. One catch, handled in ``_UdpHub._send``: a pending ICMP error makes the
  next ``sendto`` on the socket fail, whatever its destination, so a send failing that way drains
  the error queue (failing the right transaction) and is retried.
* TCP and TLS: one connection per target per round, reused for its requests (reopened if the peer
  closes it), with the connect time and the TLS handshake time measured. TLS verifies the
  certificate against the system CA store, or only against ``ca_file``, or not at all
  (``verify=False``, reported as ``tls_verified = False``); the days until the certificate expires
  are read even when verification fails or is off.

Each round gives a :class:`SipRoundResult` per server id: requests sent and answered, loss, min/avg/max
response time, the most frequent final code with its reason and the Server (or User-Agent) header,
and a status: ``up`` for 2xx and 401/403/404/407/484 (the stack answers; that is how Asterisk and most
SBCs answer an unknown peer) unless the target gives its own ``up_codes``; ``maintenance`` for 503
with Retry-After; ``down`` for anything else, no reply, refusal or TLS failure. Why a server is not
up is kept as data in ``failure``: ``timeout``, ``refused``, ``tls``, ``code``, or ``error`` (could
not send at all: unknown host, no route, connection reset).
"""
from __future__ import annotations

import asyncio
import errno
import functools
import logging
import socket
import ssl
import struct
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

from .certexpiry import days_left
from .sip_message import Request, Response, StreamFramer, branch_of_request, build_options, parse_response

log = logging.getLogger(__name__)

PRODUCT = "sip-trunk-latency-monitor"
VERSION = "1.0.0"  # the API's version (api/openapi.py); one product version for both
USER_AGENT = f"{PRODUCT}/{VERSION}"

TRANSPORTS = ("udp", "tcp", "tls")
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}
STATUSES = ("up", "maintenance", "down")
FAILURES = ("timeout", "refused", "tls", "code", "error")
# Codes meaning "the SIP stack is there and answers": any 2xx, and the usual replies to a stranger.
DEFAULT_UP_CODES: tuple[int | str, ...] = ("2xx", 401, 403, 404, 407, 484)

T1_SECONDS = 0.5  # RFC 3261 17.1.2.2 timer E starts at T1 and doubles...
T2_SECONDS = 4.0  # ...up to T2
MAX_DATAGRAM = 65535
MAX_READS_PER_WAKE = 512  # datagrams read per readiness event, so one busy socket cannot starve the loop
UDP_BUFFER_BYTES = 1 << 20
STREAM_CLOSE_WAIT_SECONDS = 0.5

# Not exported by every Python's socket module; the Linux values.
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # == SCM_TIMESTAMPNS
_TIMESPEC = struct.Struct("=qq")
_SOCK_EXTENDED_ERR = struct.Struct("=IBBBBII")  # struct sock_extended_err (linux/errqueue.h)
_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, getattr(errno, "ENONET", -1)}
# A send on the shared socket fails with these when an earlier ICMP error is still pending on it.
_ICMP_ERRNOS = {errno.ECONNREFUSED} | _UNREACHABLE


@dataclass(frozen=True)
class SipTarget:
    """One server's SIP check, as validated by settings/sip.py."""

    server_id: str
    host: str
    port: int = 5060
    transport: str = "udp"
    request_uri: str | None = None  # None: sip:<host>:<port>
    up_codes: tuple[int | str, ...] | None = None  # None: DEFAULT_UP_CODES
    verify: bool = True
    ca_file: str | None = None
    from_user: str = "monitor"
    tls_server_name: str | None = None  # name checked in the certificate (and sent as SNI); None: host

    @classmethod
    def from_settings(cls, server_id: str, host: str, sip: Mapping[str, Any]) -> "SipTarget":
        """A target from a server's id and host and its normalised ``sip`` settings."""
        up_codes = sip.get("up_codes")
        return cls(server_id=server_id, host=host, port=sip["port"], transport=sip["transport"],
                   request_uri=sip.get("request_uri"), up_codes=None if up_codes is None else tuple(up_codes),
                   verify=sip.get("verify", True), ca_file=sip.get("ca_file"),
                   from_user=sip.get("from_user") or "monitor", tls_server_name=sip.get("tls_server_name"))

    @property
    def uri(self) -> str:
        """The Request-URI actually sent."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return self.request_uri or f"sip:{host}:{self.port}"


@dataclass(frozen=True)
class SipRequestResult:
    """One OPTIONS transaction: its final response, or why there was none."""

    code: int | None = None
    reason: str | None = None
    response_ms: float | None = None
    server_header: str | None = None
    retry_after: bool = False
    failure: str | None = None  # timeout, refused, tls or error when no final response came
    detail: str | None = None
    retransmissions: int = 0

    @property
    def answered(self) -> bool:
        """True when a final response came back."""
        return self.code is not None


@dataclass(frozen=True)
class SipRoundResult:
    """One server's SIP check in one round."""

    server_id: str
    transport: str
    status: str  # up, maintenance or down
    failure: str | None  # None when up; else timeout, refused, tls, code or error
    sent: int
    answered: int
    loss_pct: float
    response_min_ms: float | None
    response_avg_ms: float | None
    response_max_ms: float | None
    code: int | None  # the most frequent final code of the round
    reason: str | None
    server_header: str | None
    detail: str | None = None  # human text for a failure: "ICMP port unreachable", the TLS error...
    connect_ms: float | None = None  # TCP/TLS: the first successful connect of the round
    tls_handshake_ms: float | None = None
    tls_days_left: float | None = None
    tls_verified: bool | None = None  # TLS only: False when verify is off or verification failed
    requests: tuple[SipRequestResult, ...] = field(default=(), repr=False)


def code_is_up(code: int, up_codes: Sequence[int | str] | None = None) -> bool:
    """Whether a final code means the stack is up: in up_codes (ints, or classes like "2xx")."""
    for entry in DEFAULT_UP_CODES if up_codes is None else up_codes:
        if isinstance(entry, str) and len(entry) == 3 and entry[1:].lower() == "xx":
            if code // 100 == int(entry[0]):
                return True
        elif code == entry:
            return True
    return False


def reply_status(code: int, retry_after: bool, up_codes: Sequence[int | str] | None = None) -> str:
    """up, maintenance (503 with Retry-After) or down for one final response."""
    if code_is_up(code, up_codes):
        return "up"
    return "maintenance" if code == 503 and retry_after else "down"


_SEVERITY = {"up": 0, "maintenance": 1, "down": 2}
# When no request got a reply, the round's failure is the most explicit one seen: a single ICMP refusal
# explains the silence of the others (kernels rate-limit ICMP errors, so later requests just time out).
_FAILURE_RANK = {"tls": 0, "refused": 1, "error": 2, "timeout": 3}


def summarise(target: SipTarget, requests: Sequence[SipRequestResult], *, connect_ms: float | None = None,
              tls_handshake_ms: float | None = None, tls_days_left: float | None = None,
              tls_verified: bool | None = None) -> SipRoundResult:
    """A round's result from its requests: the most frequent final code decides the status, a tie
    going to the worse status and then to the later reply; without replies the most explicit failure."""
    replies = [r for r in requests if r.answered]
    times = [r.response_ms for r in replies if r.response_ms is not None]
    sent = len(requests)
    common = dict(server_id=target.server_id, transport=target.transport, sent=sent, answered=len(replies),
                  loss_pct=round(100.0 * (sent - len(replies)) / sent, 2) if sent else 100.0,
                  response_min_ms=min(times) if times else None,
                  response_avg_ms=sum(times) / len(times) if times else None,
                  response_max_ms=max(times) if times else None,
                  connect_ms=connect_ms, tls_handshake_ms=tls_handshake_ms, tls_days_left=tls_days_left,
                  tls_verified=tls_verified, requests=tuple(requests))
    if not replies:
        failure = min((r.failure or "error" for r in requests), key=lambda f: _FAILURE_RANK.get(f, 9),
                      default="error")
        detail = next((r.detail for r in reversed(requests) if r.failure == failure), None)
        return SipRoundResult(status="down", failure=failure, code=None, reason=None, server_header=None,
                              detail=detail, **common)
    counts = Counter(r.code for r in replies)
    statuses = {r.code: reply_status(r.code, r.retry_after, target.up_codes) for r in replies}
    order = {r.code: i for i, r in enumerate(replies)}  # index of each code's latest reply
    code = max(counts, key=lambda c: (counts[c], _SEVERITY[statuses[c]], order[c]))
    latest = replies[order[code]]
    status = statuses[code]
    # A 503 counts as maintenance only when the reply that carries the round's code said Retry-After.
    if code == 503 and status != "up":
        status = "maintenance" if latest.retry_after else "down"
    return SipRoundResult(status=status, failure=None if status == "up" else "code", code=code,
                          reason=latest.reason, server_header=latest.server_header,
                          detail=None if status == "up" else f"{code} {latest.reason}".strip(), **common)


def failed_round(target: SipTarget, count: int, failure: str, detail: str) -> SipRoundResult:
    """A round in which no request could even be sent (unknown host, bad ca_file, ...)."""
    return summarise(target, [SipRequestResult(failure=failure, detail=detail)] * count)


class SipProbe:
    """Sends ``count`` OPTIONS per target per round, all targets concurrently (bounded)."""

    name = "sip"

    def __init__(
        self,
        count: int,
        timeout_seconds: float,
        concurrency: int = 256,
        clock: Callable[[], float] = time.perf_counter,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        resolve: Callable[..., list] = socket.getaddrinfo,
        user_agent: str = USER_AGENT,
        t1_seconds: float = T1_SECONDS,
        t2_seconds: float = T2_SECONDS,
        bind_ipv4: str = "0.0.0.0",
        bind_ipv6: str = "::",
        kernel_timestamps: bool = True,
    ):
        if count < 1 or timeout_seconds <= 0:
            raise ValueError("count must be at least 1 and timeout_seconds positive")
        self.count = count
        self.timeout_seconds = timeout_seconds
        self.concurrency = max(1, concurrency)
        self.clock = clock
        self.now = now
        self.user_agent = user_agent
        self.t1_seconds = t1_seconds
        self.t2_seconds = t2_seconds
        self.bind = {socket.AF_INET: bind_ipv4, socket.AF_INET6: bind_ipv6}
        self.kernel_timestamps = kernel_timestamps
        self._resolve = resolve

    def run(self, targets: Sequence[SipTarget]) -> dict[str, SipRoundResult]:
        """Probe every target once; one result per server id, never raises for one bad target."""
        if not targets:
            return {}
        return asyncio.run(self._round(list(targets)))

    async def _round(self, targets: list[SipTarget]) -> dict[str, SipRoundResult]:
        """All targets on one loop, sharing the UDP sockets and the TLS contexts."""
        hub = _UdpHub(self)
        limit = asyncio.Semaphore(self.concurrency)
        contexts: dict[tuple, ssl.SSLContext] = {}
        try:
            results = await asyncio.gather(*(self._guarded(limit, t, hub, contexts) for t in targets))
        finally:
            hub.close()
        return {t.server_id: r for t, r in zip(targets, results)}

    async def _guarded(self, limit: asyncio.Semaphore, target: SipTarget, hub: "_UdpHub",
                       contexts: dict) -> SipRoundResult:
        """One target under the concurrency bound; an unexpected error fails that target only."""
        async with limit:
            try:
                if target.transport == "udp":
                    return await self._probe_udp(target, hub)
                if target.transport in ("tcp", "tls"):
                    return await _StreamSession(self, target, contexts).run()
                return failed_round(target, self.count, "error", f"unknown transport {target.transport!r}")
            except Exception as exc:  # noqa: BLE001 - one target must never break the round
                log.exception("SIP probe of %s failed", target.server_id)
                return failed_round(target, self.count, "error", f"{type(exc).__name__}: {exc}")

    async def resolve(self, target: SipTarget, socktype: int) -> tuple[int, tuple] | str:
        """(family, sockaddr) of the target, or an error text. IP literals skip the resolver thread."""
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socktype, flags=socket.AI_NUMERICHOST)
        except (socket.gaierror, UnicodeError, ValueError):
            loop = asyncio.get_running_loop()
            try:
                infos = await loop.run_in_executor(
                    None, functools.partial(self._resolve, target.host, target.port, type=socktype))
            except (OSError, UnicodeError, ValueError) as exc:
                return f"unknown host {target.host}: {exc}"
        usable = [i for i in infos if i[0] in (socket.AF_INET, socket.AF_INET6)]
        if not usable:
            return f"unknown host {target.host}: no IPv4 or IPv6 address"
        return usable[0][0], usable[0][4]

    async def _probe_udp(self, target: SipTarget, hub: "_UdpHub") -> SipRoundResult:
        """count sequential transactions over the shared UDP socket of the target's address family."""
        address = await self.resolve(target, socket.SOCK_DGRAM)
        if isinstance(address, str):
            return failed_round(target, self.count, "error", address)
        family, sockaddr = address
        results = [await hub.transact(family, sockaddr, target) for _ in range(self.count)]
        return summarise(target, results)


class _UdpTransaction:
    """A request in flight on a shared UDP socket."""

    def __init__(self, request: Request, sockaddr: tuple, future: asyncio.Future):
        self.request = request
        self.sockaddr = sockaddr
        self.future = future
        self.started: float | None = None
        self.retransmissions = 0
        self.proceeding = False  # a 1xx came: keep retransmitting, at T2
        self.timer: asyncio.TimerHandle | None = None

    def finish(self, outcome: tuple) -> None:
        """Resolve with ("reply", Response, received) or ("failure", class, detail), once."""
        if not self.future.done():
            self.future.set_result(outcome)


class _UdpHub:
    """The round's UDP sockets (one per address family) and the transactions in flight on them."""

    def __init__(self, probe: SipProbe):
        self.probe = probe
        self.loop = asyncio.get_running_loop()
        self.sockets: dict[int, socket.socket] = {}
        self.pending: dict[str, _UdpTransaction] = {}
        self._local_ips: dict[tuple, str] = {}

    def socket_for(self, family: int) -> socket.socket:
        """The shared socket of a family, opened on first use with ICMP errors reported."""
        sock = self.sockets.get(family)
        if sock is None:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.setblocking(False)
                if family == socket.AF_INET:
                    sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
                else:
                    sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
                # Replies from hundreds of servers can arrive at once.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_BUFFER_BYTES)
                if self.probe.kernel_timestamps:
                    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                sock.bind((self.probe.bind[family], 0))
            except OSError:
                sock.close()
                raise
            self.loop.add_reader(sock.fileno(), self._on_readable, sock)
            self.sockets[family] = sock
        return sock

    def local_ip(self, family: int, sockaddr: tuple) -> str:
        """The source address the kernel would use towards sockaddr (for Via and From); cached."""
        key = (family, sockaddr[0])
        if key not in self._local_ips:
            probe = socket.socket(family, socket.SOCK_DGRAM)
            try:
                probe.connect(sockaddr)  # UDP connect sends nothing: it only picks the route
                self._local_ips[key] = probe.getsockname()[0]
            except OSError:
                self._local_ips[key] = self.probe.bind[family]
            finally:
                probe.close()
        return self._local_ips[key]

    async def transact(self, family: int, sockaddr: tuple, target: SipTarget) -> SipRequestResult:
        """One OPTIONS transaction: send, retransmit on timer E, wait for a final response or the timeout."""
        try:
            sock = self.socket_for(family)
        except OSError as exc:
            return SipRequestResult(failure="error", detail=f"cannot open UDP socket: {exc.strerror or exc}")
        request = build_options(request_uri=target.uri, transport="udp", local_host=self.local_ip(family, sockaddr),
                                local_port=sock.getsockname()[1], from_user=target.from_user,
                                user_agent=self.probe.user_agent)
        tx = _UdpTransaction(request, sockaddr, self.loop.create_future())
        self.pending[request.branch] = tx
        deadline = self.loop.call_later(self.probe.timeout_seconds, tx.finish,
                                        ("failure", "timeout", None))
        try:
            tx.started = self.probe.clock()
            error = self._send(sock, tx)
            if error is not None and not tx.future.done():
                return SipRequestResult(failure="error", detail=f"cannot send: {error.strerror or error}")
            tx.timer = self.loop.call_later(self.probe.t1_seconds, self._retransmit, sock, tx, self.probe.t1_seconds)
            outcome = await tx.future
        finally:
            deadline.cancel()
            if tx.timer is not None:
                tx.timer.cancel()
            self.pending.pop(request.branch, None)
        return self._result(tx, outcome)

    def _result(self, tx: _UdpTransaction, outcome: tuple) -> SipRequestResult:
        """The transaction's outcome as a request result."""
        if outcome[0] == "reply":
            response, received = outcome[1], outcome[2]
            return SipRequestResult(code=response.code, reason=response.reason,
                                    response_ms=(received - tx.started) * 1000.0,
                                    server_header=response.server_header, retry_after=response.retry_after,
                                    retransmissions=tx.retransmissions)
        failure, detail = outcome[1], outcome[2]
        if failure == "timeout":
            detail = (f"no final response within {self.probe.timeout_seconds:g} s "
                      f"({1 + tx.retransmissions} sends)")
        return SipRequestResult(failure=failure, detail=detail, retransmissions=tx.retransmissions)

    def _send(self, sock: socket.socket, tx: _UdpTransaction) -> OSError | None:
        """sendto, retried after draining ICMP errors that belong to other transactions."""
        error: OSError | None = None
        for _ in range(4):
            if tx.future.done():
                return None
            try:
                sock.sendto(tx.request.data, tx.sockaddr)
                return None
            except BlockingIOError:
                return None  # send buffer full: the next retransmission tries again
            except OSError as exc:
                error = exc
                if exc.errno not in _ICMP_ERRNOS:
                    return exc
                # The error may be another transaction's ICMP reply, raised on this unrelated send.
                self._drain_errors(sock)
        return error

    def _retransmit(self, sock: socket.socket, tx: _UdpTransaction, interval: float) -> None:
        """Timer E: resend, then wait twice as long (at most T2; T2 at once after a 1xx)."""
        if tx.future.done():
            return
        self._send(sock, tx)
        tx.retransmissions += 1
        interval = self.probe.t2_seconds if tx.proceeding else min(interval * 2, self.probe.t2_seconds)
        tx.timer = self.loop.call_later(interval, self._retransmit, sock, tx, interval)

    def _on_readable(self, sock: socket.socket) -> None:
        """Read every waiting datagram (timestamped on arrival), then the ICMP error queue."""
        for _ in range(MAX_READS_PER_WAKE):
            try:
                data, ancillary, _flags, _source = sock.recvmsg(MAX_DATAGRAM, 64)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                # With IP_RECVERR a queued ICMP error is reported by the next receive; it is read below.
                self._drain_errors(sock)
                continue
            self._on_datagram(data, self._arrival(ancillary))
        self._drain_errors(sock)

    def _arrival(self, ancillary: list) -> float:
        """When the datagram reached the kernel, on the probe's clock.

        The loop may be busy sending other servers' requests when a reply arrives; the kernel's receive
        timestamp (SO_TIMESTAMPNS, wall clock) says how long it waited, and that age is taken off now.
        """
        now = self.probe.clock()
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(payload) >= _TIMESPEC.size:
                seconds, nanoseconds = _TIMESPEC.unpack_from(payload)
                age = time.time() - (seconds + nanoseconds / 1e9)
                # A wall-clock step between arrival and now would make the age nonsense: ignore it then.
                if 0.0 <= age < self.probe.timeout_seconds:
                    return now - age
        return now

    def _on_datagram(self, data: bytes, received: float) -> None:
        """Match a reply to its transaction by Via branch and Call-ID; 1xx only mark it proceeding."""
        response = parse_response(data)
        if response is None or response.branch is None:
            return
        tx = self.pending.get(response.branch)
        if tx is None or tx.future.done() or response.call_id != tx.request.call_id:
            return  # a late reply to a finished transaction, or not ours
        if response.code < 200:
            tx.proceeding = True
            return
        tx.finish(("reply", response, received))

    def _drain_errors(self, sock: socket.socket) -> None:
        """Read the socket's error queue: port unreachable -> refused, host/net unreachable -> error."""
        level, kind = ((socket.IPPROTO_IP, IP_RECVERR) if sock.family == socket.AF_INET
                       else (socket.IPPROTO_IPV6, IPV6_RECVERR))
        for _ in range(MAX_READS_PER_WAKE):
            try:
                data, ancillary, _flags, offender = sock.recvmsg(MAX_DATAGRAM, 512, socket.MSG_ERRQUEUE)
            except InterruptedError:
                continue
            except OSError:
                return  # EAGAIN: the queue is empty
            code = next((_SOCK_EXTENDED_ERR.unpack_from(payload)[0] for lvl, typ, payload in ancillary
                         if lvl == level and typ == kind and len(payload) >= _SOCK_EXTENDED_ERR.size), None)
            tx = self._transaction_of(data, offender)
            if tx is None or code is None:
                continue
            if code == errno.ECONNREFUSED:
                tx.finish(("failure", "refused", "ICMP port unreachable"))
            elif code in _UNREACHABLE:
                tx.finish(("failure", "error", f"ICMP: {errno.errorcode.get(code, code)}"))

    def _transaction_of(self, returned: bytes, offender: Any) -> _UdpTransaction | None:
        """The transaction an ICMP error is about: by the branch in the returned request, else by address."""
        tx = self.pending.get(branch_of_request(returned) or "")
        if tx is not None or not offender:
            return tx
        # The returned copy can be cut short by the ICMP size limit; fall back to the oldest request there.
        return next((t for t in self.pending.values()
                     if t.sockaddr[:2] == tuple(offender[:2]) and not t.future.done()), None)

    def close(self) -> None:
        """Stop reading and close the sockets; transactions still pending end as errors."""
        for tx in list(self.pending.values()):
            tx.finish(("failure", "error", "probe round ended"))
        for sock in self.sockets.values():
            self.loop.remove_reader(sock.fileno())
            sock.close()
        self.sockets.clear()


class _StreamProtocol(asyncio.Protocol):
    """A TCP/TLS connection's receive side: frames SIP messages and resolves the matching requests."""

    def __init__(self, clock: Callable[[], float], loop: asyncio.AbstractEventLoop):
        self.clock = clock
        self.framer = StreamFramer()
        self.pending: dict[str, tuple[Request, asyncio.Future]] = {}
        self.transport: asyncio.BaseTransport | None = None
        self.closed = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        received = self.clock()
        try:
            messages = self.framer.feed(data)
        except ValueError as exc:
            self._fail_all(f"unreadable reply: {exc}")
            if self.transport is not None:
                self.transport.abort()
            return
        for message in messages:
            response = parse_response(message)
            if response is None or response.code < 200 or response.branch not in self.pending:
                continue  # requests from the peer, keep-alives, 1xx, replies we no longer wait for
            request, future = self.pending[response.branch]
            if response.call_id == request.call_id and not future.done():
                future.set_result(("reply", response, received))

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail_all("connection closed by the server" if exc is None else f"connection lost: {exc}")
        if not self.closed.done():
            self.closed.set_result(None)

    def _fail_all(self, detail: str) -> None:
        """Every request still waiting on this connection fails as an error."""
        for _request, future in self.pending.values():
            if not future.done():
                future.set_result(("failure", "error", detail))

    @property
    def is_open(self) -> bool:
        """True until the connection is lost or closing."""
        return not self.closed.done() and self.transport is not None and not self.transport.is_closing()


class _StreamSession:
    """One target's TCP or TLS connection for one round, and the round's requests over it."""

    def __init__(self, probe: SipProbe, target: SipTarget, contexts: dict):
        self.probe = probe
        self.target = target
        self.contexts = contexts
        self.loop = asyncio.get_running_loop()
        self.protocol: _StreamProtocol | None = None
        self.connect_ms: float | None = None
        self.handshake_ms: float | None = None
        self.days_left: float | None = None
        self.verified: bool | None = None
        self.expiry_read = False

    async def run(self) -> SipRoundResult:
        """Resolve once, then count requests, (re)connecting when there is no open connection."""
        address = await self.probe.resolve(self.target, socket.SOCK_STREAM)
        if isinstance(address, str):
            return failed_round(self.target, self.probe.count, "error", address)
        results = []
        try:
            for _ in range(self.probe.count):
                results.append(await self.request(*address))
        finally:
            await self.close()
        tls = self.target.transport == "tls"
        return summarise(self.target, results, connect_ms=self.connect_ms,
                         tls_handshake_ms=self.handshake_ms if tls else None,
                         tls_days_left=self.days_left if tls else None,
                         tls_verified=self.verified if tls else None)

    async def request(self, family: int, sockaddr: tuple) -> SipRequestResult:
        """One transaction on the connection; connecting first counts against its timeout."""
        deadline = self.loop.time() + self.probe.timeout_seconds
        if self.protocol is None or not self.protocol.is_open:
            failure = await self.connect(family, sockaddr, deadline)
            if failure is not None:
                return failure
        protocol = self.protocol
        assert protocol is not None and protocol.transport is not None
        local = protocol.transport.get_extra_info("sockname")
        request = build_options(request_uri=self.target.uri, transport=self.target.transport,
                                local_host=local[0], local_port=local[1], from_user=self.target.from_user,
                                user_agent=self.probe.user_agent)
        future = self.loop.create_future()
        protocol.pending[request.branch] = (request, future)
        try:
            started = self.probe.clock()
            protocol.transport.write(request.data)
            outcome = await asyncio.wait_for(future, max(0.0, deadline - self.loop.time()))
        except asyncio.TimeoutError:
            return SipRequestResult(failure="timeout",
                                    detail=f"no final response within {self.probe.timeout_seconds:g} s")
        finally:
            protocol.pending.pop(request.branch, None)
        if outcome[0] == "failure":
            return SipRequestResult(failure=outcome[1], detail=outcome[2])
        response: Response = outcome[1]
        return SipRequestResult(code=response.code, reason=response.reason,
                                response_ms=(outcome[2] - started) * 1000.0,
                                server_header=response.server_header, retry_after=response.retry_after)

    async def connect(self, family: int, sockaddr: tuple, deadline: float) -> SipRequestResult | None:
        """TCP connect (timed), then the TLS handshake (timed); a failed request result, or None."""
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            started = self.probe.clock()
            await asyncio.wait_for(self.loop.sock_connect(sock, sockaddr), max(0.0, deadline - self.loop.time()))
            connect_ms = (self.probe.clock() - started) * 1000.0
        except asyncio.TimeoutError:
            sock.close()
            return SipRequestResult(failure="timeout", detail="TCP connect timed out")
        except ConnectionRefusedError:
            sock.close()
            return SipRequestResult(failure="refused", detail="TCP connection refused")
        except OSError as exc:
            sock.close()
            return SipRequestResult(failure="error", detail=f"TCP connect failed: {exc.strerror or exc}")
        self.connect_ms = connect_ms if self.connect_ms is None else self.connect_ms
        try:
            transport, protocol = await self.loop.create_connection(
                lambda: _StreamProtocol(self.probe.clock, self.loop), sock=sock)
        except OSError as exc:
            sock.close()
            return SipRequestResult(failure="error", detail=f"TCP connection lost at once: {exc.strerror or exc}")
        if self.target.transport == "tls":
            failure = await self.handshake(transport, protocol, family, sockaddr, deadline)
            if failure is not None:
                return failure
        self.protocol = protocol
        return None

    def context(self, verify: bool) -> ssl.SSLContext:
        """The TLS client context for (verify, ca_file), made once per round and shared by targets."""
        key = (verify, self.target.ca_file if verify else None)
        if key not in self.contexts:
            if verify:
                # With a ca_file only that file is trusted; without one, the system store.
                context = ssl.create_default_context(cafile=self.target.ca_file)
            else:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self.contexts[key] = context
        return self.contexts[key]

    async def handshake(self, transport: asyncio.Transport, protocol: _StreamProtocol, family: int,
                        sockaddr: tuple, deadline: float) -> SipRequestResult | None:
        """Upgrade the connection to TLS; on success record handshake time, verification and expiry."""
        try:
            context = self.context(self.target.verify)
        except (ssl.SSLError, OSError) as exc:
            transport.abort()
            return SipRequestResult(failure="tls", detail=f"cannot load ca_file {self.target.ca_file}: {exc}")
        started = self.probe.clock()
        try:
            tls_transport = await self.loop.start_tls(
                transport, protocol, context, server_hostname=self.target.tls_server_name or self.target.host,
                ssl_handshake_timeout=max(0.001, deadline - self.loop.time()))
        except ssl.SSLCertVerificationError as exc:
            transport.abort()
            self.verified = False
            if not self.expiry_read:
                self.expiry_read = True
                self.days_left = await self.peek_expiry(family, sockaddr, deadline)
            return SipRequestResult(failure="tls", detail=f"certificate verify failed: {exc.verify_message}")
        except (ssl.SSLError, OSError, asyncio.TimeoutError, ConnectionError) as exc:
            transport.abort()
            timed_out = isinstance(exc, asyncio.TimeoutError)
            return SipRequestResult(failure="tls",
                                    detail="TLS handshake timed out" if timed_out else f"TLS handshake failed: {exc}")
        if self.handshake_ms is None:
            self.handshake_ms = (self.probe.clock() - started) * 1000.0
        protocol.transport = tls_transport
        self.verified = self.target.verify
        self.days_left = self.expiry_of(tls_transport.get_extra_info("ssl_object"))
        return None

    def expiry_of(self, ssl_object: ssl.SSLObject | None) -> float | None:
        """Days until the peer certificate expires (read from its DER, so also when not verified)."""
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            return None
        try:
            return round(days_left(der, self.probe.now()), 2)
        except ValueError:
            return None

    async def peek_expiry(self, family: int, sockaddr: tuple, deadline: float) -> float | None:
        """After a failed verification, an unverified handshake just to read the certificate's expiry."""
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        transport = None
        try:
            await asyncio.wait_for(self.loop.sock_connect(sock, sockaddr), max(0.001, deadline - self.loop.time()))
            transport, protocol = await self.loop.create_connection(
                lambda: _StreamProtocol(self.probe.clock, self.loop), sock=sock)
            tls_transport = await self.loop.start_tls(
                transport, protocol, self.context(False),
                server_hostname=self.target.tls_server_name or self.target.host,
                ssl_handshake_timeout=max(0.001, deadline - self.loop.time()))
            transport = tls_transport
            return self.expiry_of(tls_transport.get_extra_info("ssl_object"))
        except (ssl.SSLError, OSError, asyncio.TimeoutError, ConnectionError):
            return None
        finally:
            if transport is not None:
                transport.abort()
            else:
                sock.close()

    async def close(self) -> None:
        """Close the connection politely (TLS close_notify), but never wait long for the peer."""
        protocol = self.protocol
        if protocol is None or protocol.transport is None:
            return
        protocol.transport.close()
        try:
            await asyncio.wait_for(asyncio.shield(protocol.closed), STREAM_CLOSE_WAIT_SECONDS)
        except asyncio.TimeoutError:
            protocol.transport.abort()
