"""ICMP echo responder for the test network lab; runs inside the lab's network namespace.

The namespace has ``net.ipv4.icmp_echo_ignore_all=1`` so the kernel stays quiet and this
process answers instead, per destination address, with a configured delay, jitter, loss
or duplicate rate. Replies are scheduled on a heap and sent from one loop, so thousands
of hosts and hundreds of packets per second cost one thread and no timers per packet.

Usage: python netlab_responder.py --config profiles.json [--seed N]
where profiles.json is {"hosts": {"10.78.0.1": {"delay_ms": 40, ...}}, "default": null}.
Prints READY once listening; on SIGTERM prints one JSON line of counters and exits.
"""
from __future__ import annotations

import argparse
import heapq
import json
import random
import select
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass

ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
# Linux SOL_RAW/ICMP_FILTER: a bitmask of ICMP types the kernel should NOT hand us.
SOL_RAW = 255
ICMP_FILTER = 1
# A duplicate is sent this long after the original so the pinger sees two packets.
DUPLICATE_GAP_S = 0.001


@dataclass(frozen=True)
class Profile:
    """How one simulated host answers."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0
    silent: bool = False
    duplicate_pct: float = 0.0


def checksum(data: bytes) -> int:
    """Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def parse_echo_request(packet: bytes) -> tuple[str, str, bytes] | None:
    """Return (source, destination, icmp message) if packet is an IPv4 echo request."""
    if len(packet) < 28 or packet[0] >> 4 != 4:
        return None
    header_len = (packet[0] & 0x0F) * 4
    icmp = packet[header_len:]
    if len(icmp) < 8 or icmp[0] != ICMP_ECHO_REQUEST or icmp[1] != 0:
        return None
    return socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20]), icmp


def build_echo_reply(src: str, dst: str, request: bytes) -> bytes:
    """IPv4 packet answering ``request``: same id, sequence and payload, from src to dst."""
    body = bytes([ICMP_ECHO_REPLY, 0, 0, 0]) + request[4:]
    icmp = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    # id 0 and checksum 0 let the kernel fill both in (IP_HDRINCL semantics).
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, socket.IPPROTO_ICMP, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    )
    return header + icmp


class Responder:
    """Decides each request's fate and keeps a heap of replies that are due later."""

    def __init__(self, profiles: dict[str, Profile], default: Profile | None, seed: int):
        self.profiles = profiles
        self.default = default
        self.seed = seed
        # One RNG per host so a host's loss pattern does not depend on other hosts' traffic.
        self.rngs: dict[str, random.Random] = {}
        self.queue: list[tuple[float, int, str, bytes]] = []
        self.counter = 0
        self.stats = {"requests": 0, "replies": 0, "dropped": 0, "max_late_ms": 0.0}

    def rng(self, host: str) -> random.Random:
        """The host's own deterministic random stream."""
        if host not in self.rngs:
            self.rngs[host] = random.Random(f"{self.seed}/{host}")
        return self.rngs[host]

    def on_request(self, packet: bytes, now: float) -> None:
        """Schedule the reply (and maybe a duplicate) for one incoming packet."""
        parsed = parse_echo_request(packet)
        if parsed is None:
            return
        src, dst, icmp = parsed
        self.stats["requests"] += 1
        profile = self.profiles.get(dst, self.default)
        rng = self.rng(dst)
        if profile is None or profile.silent or rng.random() * 100 < profile.loss_pct:
            self.stats["dropped"] += 1
            return
        delay_s = max(0.0, profile.delay_ms + rng.uniform(-profile.jitter_ms, profile.jitter_ms)) / 1000
        reply = build_echo_reply(dst, src, icmp)
        self.push(now + delay_s, src, reply)
        if rng.random() * 100 < profile.duplicate_pct:
            self.push(now + delay_s + DUPLICATE_GAP_S, src, reply)

    def push(self, due: float, dst: str, packet: bytes) -> None:
        """Queue a packet to be sent at monotonic time ``due``."""
        self.counter += 1  # tie-breaker so equal due times never compare packets
        heapq.heappush(self.queue, (due, self.counter, dst, packet))

    def send_due(self, sender: socket.socket, now: float) -> None:
        """Send every queued packet whose time has come."""
        while self.queue and self.queue[0][0] <= now:
            due, _, dst, packet = heapq.heappop(self.queue)
            self.stats["max_late_ms"] = max(self.stats["max_late_ms"], (now - due) * 1000)
            try:
                sender.sendto(packet, (dst, 0))
                self.stats["replies"] += 1
            except OSError:
                self.stats["dropped"] += 1

    def wait_seconds(self, now: float) -> float | None:
        """How long the loop may sleep before the next reply is due (None: until a packet)."""
        return max(0.0, self.queue[0][0] - now) if self.queue else None


def open_sockets() -> tuple[socket.socket, socket.socket]:
    """A raw socket that receives echo requests and a header-including one to send replies."""
    receiver = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    # Only echo requests interest us; let the kernel drop the rest before they reach Python.
    receiver.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", 0xFFFFFFFF & ~(1 << ICMP_ECHO_REQUEST)))
    # A big buffer absorbs fping's bursts to thousands of hosts.
    receiver.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
    receiver.setblocking(False)
    # IPPROTO_RAW implies IP_HDRINCL: we choose the source address (the probed host).
    sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024 * 1024)
    return receiver, sender


def drain(receiver: socket.socket, responder: Responder) -> None:
    """Read every packet waiting on the socket."""
    while True:
        try:
            packet = receiver.recv(65535)
        except BlockingIOError:
            return
        responder.on_request(packet, time.monotonic())


def serve(responder: Responder) -> None:
    """Main loop: wait for packets or the next due reply, whichever comes first."""
    receiver, sender = open_sockets()
    print("READY", flush=True)
    while True:
        readable, _, _ = select.select([receiver], [], [], responder.wait_seconds(time.monotonic()))
        if readable:
            drain(receiver, responder)
        responder.send_due(sender, time.monotonic())


def load_profiles(path: str) -> tuple[dict[str, Profile], Profile | None]:
    """Read the JSON profile file written by NetLab."""
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    hosts = {ip: Profile(**values) for ip, values in config.get("hosts", {}).items()}
    default = config.get("default")
    return hosts, Profile(**default) if default else None


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse arguments, serve until SIGTERM, print counters."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    hosts, default = load_profiles(args.config)
    responder = Responder(hosts, default, args.seed)

    def stop(signum, frame):  # noqa: ARG001 - signal handler signature
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        serve(responder)
    finally:
        print(json.dumps(responder.stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
