"""Host names and addresses as config.json may give them: one check, one canonical spelling."""
from __future__ import annotations

import ipaddress
import re
from typing import Any

# Labels are at most 63 letters, digits and hyphens, never starting or ending with a hyphen.
# \Z, not $: "$" also matches before a trailing newline, which would let "host\n" through.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)\Z")
# An IPv6 zone (fe80::1%eth0) is an interface name; ipaddress accepts any text there.
_ZONE = re.compile(r"[A-Za-z0-9_.]+\Z")


def is_valid_host(host: Any) -> bool:
    """True for an IPv4/IPv6 address or a DNS name; False for anything that could be a flag or shell text."""
    if not isinstance(host, str) or not host or len(host) > 253:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        zone = getattr(address, "scope_id", None)
        return zone is None or bool(_ZONE.match(zone))
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    return all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def canonical_host(host: str) -> str:
    """One spelling per host: ::1 and 0:0:0:0:0:0:0:1 are the same address, names ignore case."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host.lower().rstrip(".")
