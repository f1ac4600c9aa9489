"""Real SIP peers for the tests and the benchmark: SIPp UAS processes and a Kamailio, on loopback ports.

* :class:`SippUas` runs ``sipp`` (Debian's sip-tester) as a UAS with a scenario written by
  :func:`uas_scenario`: reply with any code after a pause, with or without Retry-After, never reply,
  or answer only every other request. UDP (``-t u1``) or TCP (``-t t1``).
* :class:`KamailioPeer` runs ``kamailio`` answering OPTIONS on UDP, TCP and TLS after an exact pause
  (``usleep`` in the worker). Debian's SIPp is built without OpenSSL (``-t l1`` answers "To use a TLS
  transport you must compile SIPp with OpenSSL"), so TLS peers are Kamailio's tls module
  (kamailio-tls-modules). Kamailio is also the accurate pause: SIPp's ``<pause>`` fires 2-10 ms late
  (its timer wheel only advances between 1 ms epoll waits, and a paused call waits several of them).
* :func:`make_certificate` writes a self-signed certificate (``cryptography``) valid for a chosen
  number of days, for 127.0.0.1, ::1 and localhost.

Processes are started with Popen and stopped by their own pid; nothing listens beyond 127.0.0.1.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Sequence

LOOPBACK = "127.0.0.1"
PORT_RANGE = (20000, 32000)  # below Linux's ephemeral range, so our own client sockets never take them
READY_TIMEOUT_S = 10.0
KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")


def sipp_available() -> bool:
    """True where the sipp binary is installed."""
    return shutil.which("sipp") is not None


def kamailio_available() -> bool:
    """True where kamailio and its tls module are installed."""
    return shutil.which("kamailio") is not None and (KAMAILIO_MODULES / "tls.so").exists()


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether both UDP and TCP can bind host:port right now."""
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        sock = socket.socket(_family(host), kind)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        finally:
            sock.close()
    return True


def free_port(count: int = 1, host: str = LOOPBACK, rng: random.Random | None = None) -> int:
    """The first of `count` consecutive ports free for UDP and TCP."""
    rng = rng or random.Random()
    for _ in range(1000):
        first = rng.randrange(PORT_RANGE[0], PORT_RANGE[1] - count)
        if all(port_is_free(first + i, host) for i in range(count)):
            return first
    raise RuntimeError("no free loopback port found")


def uas_scenario(code: int = 200, reason: str = "OK", *, pause_ms: int = 0, retry_after: int | None = None,
                 silent: bool = False, answer_every: int = 1, server: str = "SIPp UAS",
                 stamp_hold: bool = False) -> str:
    """SIPp UAS scenario XML for OPTIONS.

    code/reason after pause_ms; Retry-After: retry_after when given; silent: never answer;
    answer_every=2: answer odd-numbered calls (each OPTIONS is a new call) and stay silent on the others;
    stamp_hold: the Server header ends with held_us=<microseconds from receiving to sending, by SIPp's clock>.
    A silent call stays paused for a minute so retransmissions reach it, not a new call.
    """
    if answer_every not in (1, 2):
        raise ValueError("answer_every must be 1 or 2")
    stamp_recv = '<action><gettimeofday assign_to="s0,u0"/></action>' if stamp_hold else ""
    parity = ""
    if answer_every == 2:
        # [call_number] counts calls from 1; even ones fall through to the silent branch.
        stamp_recv = ("<action>" + ('<gettimeofday assign_to="s0,u0"/>' if stamp_hold else "")
                      + '<assignstr assign_to="n" value="[call_number]"/>'
                      + '<ereg regexp="[02468]$" search_in="var" variable="n" assign_to="even"/></action>')
        parity = '<nop next="silent" test="even"/>'
    pause = f'<pause milliseconds="{pause_ms}"/>' if pause_ms else ""
    stamp_send = ""
    held = ""
    if stamp_hold:
        stamp_send = textwrap.dedent("""\
            <nop><action>
              <gettimeofday assign_to="s1,u1"/>
              <subtract assign_to="s1" variable="s0"/>
              <multiply assign_to="s1" value="1000000"/>
              <subtract assign_to="u1" variable="u0"/>
              <add assign_to="u1" variable="s1"/>
            </action></nop>""")
        held = " held_us=[$u1]"
    extra = f"Retry-After: {retry_after}\n" if retry_after is not None else ""
    reply = (
        "<send><![CDATA[\n"
        f"SIP/2.0 {code} {reason}\n"
        "[last_Via:]\n[last_From:]\n[last_To:];tag=[pid]SIPpTag[call_number]\n[last_Call-ID:]\n[last_CSeq:]\n"
        f"Server: {server}{held}\n{extra}Content-Length: 0\n\n"
        "]]></send>"
    )
    silence = '<label id="silent"/><pause milliseconds="60000"/>'
    if silent:
        body = f'<recv request="OPTIONS"/>{silence}'
    elif answer_every == 2:
        body = f'<recv request="OPTIONS">{stamp_recv}</recv>{parity}{pause}{stamp_send}{reply}<nop next="end"/>' \
               f'{silence}<label id="end"/>'
    else:
        body = f'<recv request="OPTIONS">{stamp_recv}</recv>{pause}{stamp_send}{reply}'
    return f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="options-uas">\n{body}\n</scenario>\n'


def _wait_listening(port: int, transport: str, proc: subprocess.Popen, what: str, log: Path,
                    host: str = LOOPBACK) -> None:
    """Block until the peer holds port (UDP: our bind fails; TCP: a connect succeeds) or fail with its output."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if transport == "udp":
            if not _can_bind_udp(host, port):
                return
        else:
            try:
                socket.create_connection((host, port), timeout=0.2).close()
                return
            except OSError:
                pass
        time.sleep(0.05)
    _stop(proc)
    output = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"{what} did not listen on {transport} {host}:{port}: {output}")


def _wait_listening_in(netns: str, port: int, transport: str, proc: subprocess.Popen, log: Path) -> None:
    """Block until something in network namespace netns listens on port (asked with ss -N)."""
    flag = "-lun" if transport == "udp" else "-ltn"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        listing = subprocess.run(["ss", "-H", "-N", netns, flag, f"sport = :{port}"], capture_output=True,
                                 text=True, timeout=10).stdout
        if listing.strip():
            return
        time.sleep(0.05)
    _stop(proc)
    output = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    raise RuntimeError(f"sipp did not listen on {transport} port {port} in {netns}: {output}")


def _family(host: str) -> int:
    """AF_INET6 for an IPv6 literal, else AF_INET."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _can_bind_udp(host: str, port: int) -> bool:
    """False while someone else holds host:port for UDP."""
    sock = socket.socket(_family(host), socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the process we started, SIGKILL it if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class SippUas:
    """One SIPp UAS process on a loopback port, as a context manager."""

    def __init__(self, scenario: str, *, transport: str = "udp", port: int | None = None, host: str = LOOPBACK,
                 extra_args: Sequence[str] = (), workdir: Path | None = None, netns: str | None = None):
        if transport not in ("udp", "tcp"):
            raise ValueError("Debian's SIPp has no TLS; use KamailioPeer for TLS")
        self.scenario = scenario
        self.transport = transport
        self.host = host
        # In a namespace (the benchmark's netlab) sipp listens on every address there, so one UAS answers a
        # whole AnyIP block; on the host it listens on `host` only.
        self.netns = netns
        self.port = port or (5060 if netns else free_port(host=host))
        self.extra_args = list(extra_args)
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="sipp-"))
        self.proc: subprocess.Popen | None = None

    def argv(self) -> list[str]:
        """The sipp command line."""
        prefix = ["ip", "netns", "exec", self.netns] if self.netns else []
        # sipp binds its -i address; 0.0.0.0 in a namespace (its replies use the request's Via, not -i).
        bind = ["-i", "0.0.0.0"] if self.netns else ["-i", self.host, "-bind_local"]
        return [*prefix, "sipp", "-sf", str(self.workdir / "uas.xml"), "-p", str(self.port), *bind,
                "-t", "u1" if self.transport == "udp" else "t1", "-nostdin", "-pause_msg_ign",
                *self.extra_args]

    def start(self) -> "SippUas":
        """Write the scenario, start sipp, wait until it listens."""
        (self.workdir / "uas.xml").write_text(self.scenario)
        # stdout is SIPp's statistics screen; nobody reads it.
        self.log = self.workdir / "sipp.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.argv(), cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=log)
        if self.netns:
            _wait_listening_in(self.netns, self.port, self.transport, self.proc, self.log)
        else:
            _wait_listening(self.port, self.transport, self.proc, "sipp", self.log, self.host)
        return self

    def stop(self) -> None:
        """Stop sipp and remove its working directory if we made it."""
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "SippUas":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info) -> None:
        self.stop()


def make_certificate(directory: Path, *, days_valid: float = 365, name: str = "peer",
                     hosts: Sequence[str] = ("localhost", "127.0.0.1", "::1")) -> tuple[Path, Path]:
    """A self-signed certificate (its own CA) and key as PEM files; (cert path, key path).

    days_valid may be small (expiring soon) or negative (expired that many days ago).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    sans = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    not_after = now + datetime.timedelta(days=days_valid)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(min(now, not_after) - datetime.timedelta(days=30)).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


class KamailioPeer:
    """A Kamailio answering OPTIONS with `code` after exactly `pause_ms`, on UDP+TCP (port) and TLS (tls_port)."""

    def __init__(self, workdir: Path, *, pause_ms: int = 0, code: int = 200, reason: str = "OK",
                 cert: Path | None = None, key: Path | None = None, host: str = LOOPBACK):
        self.workdir = Path(workdir)
        self.pause_ms = pause_ms
        self.code = code
        self.reason = reason
        self.host = host
        self.port = free_port(2, host=host)
        self.tls_port = self.port + 1
        self.cert, self.key = (cert, key) if cert and key else make_certificate(self.workdir, name="kamailio")
        self.proc: subprocess.Popen | None = None

    def config(self) -> str:
        """kamailio.cfg: the listeners, the modules and a route that answers OPTIONS."""
        pause = f"usleep({self.pause_ms * 1000});" if self.pause_ms else ""
        return textwrap.dedent(f"""\
            #!KAMAILIO
            debug=1
            log_stderror=yes
            fork=yes
            children=2
            tcp_children=2
            enable_tls=yes
            auto_aliases=no
            listen=udp:{self.host}:{self.port}
            listen=tcp:{self.host}:{self.port}
            listen=tls:{self.host}:{self.tls_port}
            mpath="{KAMAILIO_MODULES}/"
            loadmodule "sl.so"
            loadmodule "cfgutils.so"
            loadmodule "textops.so"
            loadmodule "tls.so"
            modparam("tls", "config", "{self.workdir / 'tls.cfg'}")
            request_route {{
                if (is_method("OPTIONS")) {{
                    {pause}
                    sl_send_reply("{self.code}", "{self.reason}");
                    exit;
                }}
                sl_send_reply("405", "Method Not Allowed");
            }}
            """)

    def tls_config(self) -> str:
        """tls.cfg: the server certificate, no client certificate asked for."""
        return textwrap.dedent(f"""\
            [server:default]
            method = TLSv1.2+
            verify_certificate = no
            require_certificate = no
            private_key = {self.key}
            certificate = {self.cert}
            """)

    def start(self) -> "KamailioPeer":
        """Write the configs, start kamailio in the foreground (-DD), wait for its three listeners."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "kamailio.cfg").write_text(self.config())
        (self.workdir / "tls.cfg").write_text(self.tls_config())
        argv = ["kamailio", "-f", str(self.workdir / "kamailio.cfg"), "-DD", "-E", "-w", str(self.workdir),
                "-m", "32", "-M", "8"]
        self.log = self.workdir / "kamailio.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, cwd=self.workdir, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=log)
        _wait_listening(self.port, "udp", self.proc, "kamailio", self.log, self.host)
        _wait_listening(self.tls_port, "tcp", self.proc, "kamailio", self.log, self.host)
        return self

    def stop(self) -> None:
        """Stop kamailio (SIGTERM to its main process ends the workers too)."""
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None

    def __enter__(self) -> "KamailioPeer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info) -> None:
        self.stop()
