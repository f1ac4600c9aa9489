"""SIP OPTIONS requests and responses on the wire (RFC 3261): building one request, parsing one reply.

Pure functions, no sockets: the prober in sip.py owns the transport. Everything read from a reply is
untrusted text from a partner's SBC, so what is kept (reason phrase, Server header) is cleaned and cut.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 8.1.1.7: branches of compliant clients start with it
MAX_TEXT_CHARS = 200  # reason phrase and Server header are stored and shown: keep them short
MAX_HEADER_BYTES = 16384  # a stream reply whose header block grows past this is garbage, not SIP

# RFC 3261 7.3.3 compact header names, mapped to the long ones this module reads.
_COMPACT = {"v": "via", "i": "call-id", "l": "content-length", "f": "from", "t": "to"}
_STATUS_LINE = re.compile(r"SIP/2\.0[ \t]+([1-6][0-9][0-9])(?:[ \t]+(.*))?\Z", re.IGNORECASE)
_BRANCH = re.compile(r";\s*branch\s*=\s*([^;,\s]+)", re.IGNORECASE)
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Request:
    """One OPTIONS request ready to send, with the identifiers its reply is matched by."""

    data: bytes
    branch: str
    call_id: str


@dataclass(frozen=True)
class Response:
    """The parts of a SIP response the prober uses."""

    code: int
    reason: str
    branch: str | None
    call_id: str | None
    cseq_method: str | None
    server_header: str | None
    retry_after: bool


def new_branch() -> str:
    """A fresh transaction id: the RFC 3261 magic cookie plus 64 random bits."""
    return BRANCH_MAGIC + secrets.token_hex(8)


def host_for_header(host: str) -> str:
    """An IP or name as it appears in a Via or URI: IPv6 literals go in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def build_options(*, request_uri: str, transport: str, local_host: str, local_port: int,
                  from_user: str, user_agent: str, branch: str | None = None,
                  call_id: str | None = None) -> Request:
    """An RFC 3261 OPTIONS request: Via with branch and rport, Max-Forwards 70, tagged From, To,
    Call-ID, CSeq 1, Accept: application/sdp, Content-Length: 0 and our User-Agent.

    Each request is its own transaction and its own call (new branch, Call-ID and tag), so a UAS
    such as SIPp treats every one separately. request_uri and from_user must already be checked
    against the SIP grammar (settings/sip.py); nothing here escapes them.
    """
    branch = branch or new_branch()
    sent_by = f"{host_for_header(local_host)}:{local_port}"
    call_id = call_id or f"{secrets.token_hex(12)}@{host_for_header(local_host)}"
    lines = (
        f"OPTIONS {request_uri} SIP/2.0",
        f"Via: SIP/2.0/{transport.upper()} {sent_by};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:{from_user}@{sent_by}>;tag={secrets.token_hex(6)}",
        f"To: <{request_uri}>",
        f"Call-ID: {call_id}",
        "CSeq: 1 OPTIONS",
        f"Contact: <sip:{from_user}@{sent_by};transport={transport.lower()}>",
        "Accept: application/sdp",
        f"User-Agent: {user_agent}",
        "Content-Length: 0",
    )
    return Request(data=("\r\n".join(lines) + "\r\n\r\n").encode("ascii"), branch=branch, call_id=call_id)


def clean_text(value: str | None) -> str | None:
    """Untrusted header text made safe to store and show: no control characters, at most 200 chars."""
    if value is None:
        return None
    text = _UNPRINTABLE.sub(" ", value).strip()
    return text[:MAX_TEXT_CHARS] or None


def _header_lines(head: str) -> list[str]:
    """Header lines with RFC 3261 7.3.1 line folding undone (a line starting with SP/HT continues)."""
    lines: list[str] = []
    for line in head.split("\n"):
        line = line.rstrip("\r")
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()
        elif line:
            lines.append(line)
    return lines


def _headers(lines: list[str]) -> dict[str, list[str]]:
    """Header values by lower-case long name, in order; a comma-separated Via counts as several."""
    headers: dict[str, list[str]] = {}
    for line in lines:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        key = _COMPACT.get(key, key)
        headers.setdefault(key, []).append(value.strip())
    return headers


def parse_response(data: bytes) -> Response | None:
    """The response in one datagram or stream frame, or None when it is not a SIP response
    (a request sent to us, a keep-alive, garbage)."""
    text = data.decode("utf-8", errors="replace")
    head = text.split("\r\n\r\n", 1)[0].split("\n\n", 1)[0]
    lines = _header_lines(head)
    if not lines:
        return None
    match = _STATUS_LINE.match(lines[0].strip())
    if not match:
        return None
    headers = _headers(lines[1:])
    via = headers.get("via", [""])[0]
    branch = _BRANCH.search(via.split(",", 1)[0])
    cseq = headers.get("cseq", [""])[0].split()
    server = headers.get("server") or headers.get("user-agent")
    return Response(
        code=int(match.group(1)),
        reason=clean_text(match.group(2)) or "",
        branch=branch.group(1) if branch else None,
        call_id=headers.get("call-id", [None])[0],
        cseq_method=cseq[1].upper() if len(cseq) == 2 else None,
        server_header=clean_text(server[0]) if server else None,
        retry_after="retry-after" in headers,
    )


def branch_of_request(data: bytes) -> str | None:
    """The top Via branch of a request we sent (used on the copy an ICMP error returns)."""
    text = data.decode("ascii", errors="replace")
    for line in text.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() in ("via", "v"):
            found = _BRANCH.search(value)
            return found.group(1) if found else None
    return None


class StreamFramer:
    """Cuts a TCP/TLS byte stream into SIP messages by the header end and Content-Length (RFC 3261 18.3)."""

    def __init__(self, max_header_bytes: int = MAX_HEADER_BYTES):
        self._buffer = bytearray()
        self.max_header_bytes = max_header_bytes

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; returns the complete messages now available. Raises ValueError on garbage."""
        self._buffer += data
        messages = []
        while True:
            # RFC 5626 keep-alives (CRLF) between messages carry no message.
            while self._buffer[:2] == b"\r\n":
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > self.max_header_bytes:
                    raise ValueError("SIP header block too long")
                return messages
            head = bytes(self._buffer[:end]).decode("utf-8", errors="replace")
            length = _content_length(_headers(_header_lines(head)))
            total = end + 4 + length
            if len(self._buffer) < total:
                return messages
            messages.append(bytes(self._buffer[:total]))
            del self._buffer[:total]


def _content_length(headers: dict[str, list[str]]) -> int:
    """Body length of a stream message; it must be present on streams, a missing one counts as 0."""
    raw = headers.get("content-length", ["0"])[0]
    if not raw.isdigit() or int(raw) > 1_000_000:
        raise ValueError(f"bad Content-Length {raw!r}")
    return int(raw)
