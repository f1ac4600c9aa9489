"""A throw-away network lab: simulated hosts with known delay, jitter and loss.

This kernel has no netem, so the lab is built from plain parts:

* a network namespace and a veth pair (root side ``10.77.0.1``, namespace side ``10.77.0.2``);
* an AnyIP route in the namespace (``local 10.78.0.0/16 dev lo``) so it accepts packets for
  every address of the block, and a route in the root namespace sending the block there;
* ``icmp_echo_ignore_all=1`` in the namespace, and ``netlab_responder.py`` answering echo
  requests itself with a per-host :class:`HostProfile`.

Probes in the root namespace then see thousands of "hosts" with chosen behaviour, and no
packet ever leaves the machine. Typical use::

    hosts = {NetLab.address(0): HostProfile(delay_ms=40, jitter_ms=5)}
    with NetLab(hosts) as lab:
        ...  # ping NetLab.address(0)

Everything (responder, routes, veth, namespace, temp files) is removed on exit, also
after errors. Two labs with the same block or transit net on one machine would fight over
the routes, so a lab holds file locks on both for its lifetime; a second one waits.
"""
from __future__ import annotations

import dataclasses
import fcntl
import functools
import ipaddress
import json
import os
import re
import secrets
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

DEFAULT_BLOCK = "10.78.0.0/16"
DEFAULT_TRANSIT = "10.77.0.0/30"
RESPONDER = Path(__file__).with_name("netlab_responder.py")
LOCK_DIR = Path("/run/lock") if Path("/run/lock").is_dir() else Path(tempfile.gettempdir())
NS_PREFIX = "netlab-"
READY_TIMEOUT_S = 10.0
LOCK_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class HostProfile:
    """How one simulated host answers pings: mean delay, +/- uniform jitter, random loss."""

    # Same fields as netlab_responder.Profile, which is built from this via asdict().

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss_pct: float = 0.0
    silent: bool = False
    duplicate_pct: float = 0.0


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run one ``ip`` command (argv list, never a shell)."""
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


@functools.lru_cache(maxsize=1)
def netlab_available() -> tuple[bool, str]:
    """Whether a lab can be built here, and if not, why (root and ``ip netns`` are needed)."""
    if sys.platform != "linux":
        return False, "netlab needs Linux network namespaces"
    if os.geteuid() != 0:
        return False, "netlab needs root (network namespaces, raw sockets, routes)"
    if shutil.which("ip") is None:
        return False, "netlab needs the iproute2 'ip' command"
    # The only reliable test is to try: containers often lack CAP_SYS_ADMIN.
    probe = f"{NS_PREFIX}probe-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        made = _ip("netns", "add", probe, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"'ip netns' is unavailable: {exc}"
    if made.returncode != 0:
        return False, f"'ip netns add' failed: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return True, "ok"


class NetLab:
    """Context manager owning one namespace full of simulated hosts."""

    def __init__(
        self,
        hosts: Mapping[str, HostProfile],
        *,
        block: str = DEFAULT_BLOCK,
        transit: str = DEFAULT_TRANSIT,
        default: HostProfile | None = None,
        seed: int = 1,
    ):
        self.block = ipaddress.ip_network(block)
        transit_net = ipaddress.ip_network(transit)
        self.root_ip, self.ns_ip = (str(ip) for ip in list(transit_net.hosts())[:2])
        self.transit = transit_net
        self.transit_prefix = transit_net.prefixlen
        self.hosts = dict(hosts)
        self._check_hosts_in_block()
        self.default = default
        self.seed = seed
        token = secrets.token_hex(3)
        self.namespace = f"{NS_PREFIX}{os.getpid()}-{token}"
        self.veth_root, self.veth_ns = f"nlr{token}", f"nln{token}"  # <= 15 chars (IFNAMSIZ)
        self.responder: subprocess.Popen | None = None
        self.responder_stats: dict | None = None
        self._config_path: str | None = None
        self._locks: list = []

    @staticmethod
    def address(index: int, block: str = DEFAULT_BLOCK) -> str:
        """The index-th host address of the block (0 -> 10.78.0.1), to build many hosts."""
        net = ipaddress.ip_network(block)
        if not 0 <= index < net.num_addresses - 2:
            raise ValueError(f"index {index} does not fit in {block}")
        return str(net.network_address + 1 + index)

    def _check_hosts_in_block(self) -> None:
        """Refuse profiles outside the block: their pings would leave the machine."""
        outside = [ip for ip in self.hosts if ipaddress.ip_address(ip) not in self.block]
        if outside:
            raise ValueError(f"hosts outside {self.block}: {outside[:5]}")

    def __enter__(self) -> "NetLab":
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> None:
        """Build namespace, links, routes and start the responder."""
        self._acquire_locks()
        _remove_stale_namespaces()
        self._build_network()
        self._start_responder()

    def _acquire_locks(self) -> None:
        """Serialise labs sharing a block or transit net on this machine (routes are global)."""
        # Always in the same (sorted) order, so two labs can never wait on each other.
        for net in sorted({str(self.block), str(self.transit)}):
            self._locks.append(_wait_for_lock(LOCK_DIR / f"netlab-{re.sub(r'[^0-9A-Za-z]+', '_', net)}.lock"))

    def _build_network(self) -> None:
        """Namespace + veth pair + AnyIP route; the kernel's own echo replies switched off."""
        ns = self.namespace
        _ip("netns", "add", ns)
        _ip("link", "add", self.veth_root, "type", "veth", "peer", "name", self.veth_ns, "netns", ns)
        _ip("addr", "add", f"{self.root_ip}/{self.transit_prefix}", "dev", self.veth_root)
        _ip("link", "set", self.veth_root, "up")
        _ip("-n", ns, "addr", "add", f"{self.ns_ip}/{self.transit_prefix}", "dev", self.veth_ns)
        _ip("-n", ns, "link", "set", self.veth_ns, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("netns", "exec", ns, "sysctl", "-qw", "net.ipv4.icmp_echo_ignore_all=1")
        # AnyIP: every address of the block is local inside the namespace.
        _ip("-n", ns, "route", "add", "local", str(self.block), "dev", "lo")
        # replace, not add: a crashed earlier lab may have left a stale route behind.
        _ip("route", "replace", str(self.block), "via", self.ns_ip, "dev", self.veth_root)

    def _start_responder(self) -> None:
        """Write the profiles to a file and start the responder inside the namespace."""
        config = {
            "hosts": {ip: dataclasses.asdict(p) for ip, p in self.hosts.items()},
            "default": dataclasses.asdict(self.default) if self.default else None,
        }
        fd, self._config_path = tempfile.mkstemp(prefix="netlab-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(config, handle)
        argv = ["ip", "netns", "exec", self.namespace, sys.executable, str(RESPONDER),
                "--config", self._config_path, "--seed", str(self.seed)]
        self.responder = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Block until the responder prints READY (it has its sockets open)."""
        assert self.responder is not None and self.responder.stdout is not None
        ready, _, _ = select.select([self.responder.stdout], [], [], READY_TIMEOUT_S)
        line = self.responder.stdout.readline() if ready else ""
        if line.strip() != "READY":
            raise RuntimeError(f"netlab responder did not start (got {line!r})")

    def close(self) -> None:
        """Tear everything down; safe to call twice and after a half-finished start."""
        self._stop_responder()
        if self._locks:
            # Deleting the veth also drops the root route that goes through it.
            _ip("link", "del", self.veth_root, check=False)
            _ip("netns", "del", self.namespace, check=False)
        while self._locks:
            self._locks.pop().close()  # closing the file releases the flock
        if self._config_path:
            Path(self._config_path).unlink(missing_ok=True)
            self._config_path = None

    def _stop_responder(self) -> None:
        """SIGTERM the responder (it prints its counters), kill it if it lingers."""
        if self.responder is None:
            return
        proc, self.responder = self.responder, None
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=5)
            self.responder_stats = _last_json_line(out)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def _wait_for_lock(path: Path):
    """Open path and hold an exclusive flock on it, waiting up to LOCK_TIMEOUT_S."""
    handle = open(path, "w")  # noqa: SIM115 - stays open for the lab's lifetime
    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except BlockingIOError:
            if time.monotonic() > deadline:
                handle.close()
                raise TimeoutError(f"another netlab holds {path.name}") from None
            time.sleep(0.2)


def _last_json_line(text: str | None) -> dict | None:
    """The responder's final counters line, if it printed one."""
    for line in reversed((text or "").splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None


def _remove_stale_namespaces() -> None:
    """Delete namespaces left by labs whose process died without cleaning up."""
    listing = _ip("netns", "list", check=False).stdout
    for name in re.findall(rf"^({NS_PREFIX}(\d+)-[0-9a-f]+)", listing, flags=re.M):
        ns, pid = name
        if not Path(f"/proc/{pid}").exists():
            _ip("netns", "del", ns, check=False)
