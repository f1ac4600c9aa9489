"""Validation of the ``sip`` object of a server and of the top-level ``sip_defaults`` (issue 14).

Imports nothing from the project: the settings package is the bottom layer. Everything that ends up
in a SIP header (the Request-URI, dn_ext as its host, the From user, the TLS server name) is checked
against the RFC 3261 grammar (section 25.1), so CR, LF, spaces, angle brackets, quotes and URI
headers (``?...``) are refused when the config loads, not sent to a partner's SBC.

    errors, sip = validate_sip(server.get("sip"), "servers[2].sip", data.get("sip_defaults"), server)

``sip`` is ``{}`` when the server has no SIP check, else every key filled in: transport, port,
request_uri, up_codes (None = the probe's default list), verify, ca_file (absolute path or None),
from_user, tls_server_name (None = the server's ip).
"""
from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
import ssl
from pathlib import Path
from typing import Any

TRANSPORTS = ("udp", "tcp", "tls")
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}
KEYS = ("transport", "port", "request_uri", "up_codes", "verify", "ca_file", "from_user", "tls_server_name")
DEFAULT_KEYS = tuple(k for k in KEYS if k != "request_uri")  # one Request-URI for every server makes no sense
DEFAULT_FROM_USER = "monitor"
MAX_URI_CHARS = 512
MAX_USER_CHARS = 64

# RFC 3261 25.1. \Z, not $: "$" also matches before a trailing newline.
_UNRESERVED = r"A-Za-z0-9\-_.!~*'()"
_ESCAPED = r"%[0-9A-Fa-f]{2}"
_USER = re.compile(rf"(?:[{_UNRESERVED}&=+$,;?/]|{_ESCAPED})+\Z")
_PASSWORD = re.compile(rf"(?:[{_UNRESERVED}&=+$,]|{_ESCAPED})*\Z")
_PARAMCHAR = rf"(?:[\[\]/:&+${_UNRESERVED}]|{_ESCAPED})"
_PARAMS = re.compile(rf"(?:;{_PARAMCHAR}+(?:={_PARAMCHAR}+)?)*\Z")
_DOMAINLABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_TOPLABEL = r"[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?:{_DOMAINLABEL}\.)*{_TOPLABEL}\.?\Z")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}\Z")
_PORT = re.compile(r"\d{1,5}\Z")
_CODE_CLASS = re.compile(r"[2-6]xx\Z", re.IGNORECASE)


def sip_host_error(host: Any) -> str | None:
    """Why host cannot be the host of a SIP URI (hostname, IPv4 or [IPv6]), or None when it can."""
    if not isinstance(host, str) or not host:
        return "must be a non-empty string"
    if host.startswith("["):
        inner = host[1:-1] if host.endswith("]") else ""
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return "is not an IPv6 reference such as [2001:db8::1]"
        return None
    if _IPV4.match(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return "is not a valid IPv4 address"
        return None
    if len(host) > 253 or not _HOSTNAME.match(host) or any(len(label) > 63 for label in host.split(".")):
        return "is not a SIP host name (letters, digits, hyphens and dots; the last label starts with a letter)"
    return None


def sip_user_error(user: Any) -> str | None:
    """Why user cannot be the user part of a SIP URI, or None when it can."""
    if not isinstance(user, str) or not user:
        return "must be a non-empty string"
    if len(user) > MAX_USER_CHARS:
        return f"is longer than {MAX_USER_CHARS} characters"
    if not _USER.match(user):
        return "is not a SIP user part (letters, digits and -_.!~*'()&=+$,;?/ or %XX escapes)"
    return None


def sip_uri_error(uri: Any) -> str | None:
    """Why uri cannot be a Request-URI (RFC 3261 SIP-URI / SIPS-URI without headers), or None."""
    if not isinstance(uri, str) or not uri:
        return "must be a non-empty string"
    if len(uri) > MAX_URI_CHARS:
        return f"is longer than {MAX_URI_CHARS} characters"
    if not uri.isascii() or any(c.isspace() or ord(c) < 0x20 or c == "\x7f" for c in uri):
        return "must not contain spaces, line breaks, control or non-ASCII characters"
    scheme, sep, rest = uri.partition(":")
    if not sep or scheme.lower() not in ("sip", "sips"):
        return 'must start with "sip:" or "sips:"'
    if "@" in rest:
        userinfo, _, rest = rest.rpartition("@")
        user, _, password = userinfo.partition(":")
        if not _USER.match(user) or not _PASSWORD.match(password):
            return "has a user part that is not valid SIP (RFC 3261 userinfo)"
    if "?" in rest:
        return 'must not carry URI headers ("?..."): they are not allowed in a Request-URI'
    hostport, _, params = rest.partition(";")
    params = ";" + params if params else ""
    if hostport.startswith("["):
        host, _, after = hostport.partition("]")
        host += "]"
        port = after[1:] if after.startswith(":") else None
        if after and port is None:
            return "has text after the IPv6 reference that is not :port"
    else:
        host, _, port = hostport.partition(":") if ":" in hostport else (hostport, "", None)
    problem = sip_host_error(host)
    if problem:
        return f"has a host that {problem}"
    if port is not None and (not _PORT.match(port) or not 1 <= int(port) <= 65535):
        return "has a port that is not a number from 1 to 65535"
    if not _PARAMS.match(params):
        return "has URI parameters that are not valid SIP (;name or ;name=value)"
    return None


def _unknown_key_errors(given: dict, allowed: tuple[str, ...], where: str) -> list[str]:
    """One error per unknown key, with a suggestion when it looks like a typo."""
    errors = []
    for key in given:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f' (did you mean "{close[0]}"?)' if close else f" (known: {', '.join(allowed)})"
        errors.append(f"{where}.{key}: unknown key{hint}")
    return errors


def _check_up_codes(value: Any, where: str, errors: list[str]) -> tuple | None:
    """A non-empty list of final codes 200-699 or classes "2xx".."6xx"; deduplicated, classes lower-case."""
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        errors.append(f"{where}: {json.dumps(value)} must be a non-empty list of SIP codes such as [200, 404]")
        return None
    codes: list = []
    for i, code in enumerate(value):
        if isinstance(code, int) and not isinstance(code, bool) and 200 <= code <= 699:
            entry = code
        elif isinstance(code, str) and _CODE_CLASS.match(code):
            entry = code.lower()
        else:
            errors.append(f"{where}[{i}]: {json.dumps(code)} must be a final SIP code 200-699 "
                          f'or a class such as "2xx"')
            continue
        if entry not in codes:
            codes.append(entry)
    return tuple(codes)


def _check_ca_file(value: Any, where: str, errors: list[str], base_dir: Path | None) -> str | None:
    """A readable PEM file of CA certificates; relative paths are taken from base_dir (the config's folder)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{where}: {json.dumps(value)} must be the path of a PEM file of CA certificates")
        return None
    path = Path(value)
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    if not path.is_file() or not os.access(path, os.R_OK):
        errors.append(f"{where}: {json.dumps(value)} is not a readable file")
        return None
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError) as exc:
        errors.append(f"{where}: {json.dumps(value)} holds no usable PEM CA certificate ({exc})")
        return None
    return str(path.resolve())


def _check_fields(given: dict, where: str, errors: list[str], base_dir: Path | None) -> dict:
    """Type and grammar checks of the keys present; returns the valid ones, normalised."""
    out: dict[str, Any] = {}
    if "transport" in given:
        value = given["transport"]
        if isinstance(value, str) and value.lower() in TRANSPORTS:
            out["transport"] = value.lower()
        else:
            errors.append(f"{where}.transport: {json.dumps(value)} is not one of {', '.join(TRANSPORTS)}")
    if "port" in given:
        value = given["port"]
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535:
            out["port"] = value
        else:
            errors.append(f"{where}.port: {json.dumps(value)} must be a whole number from 1 to 65535")
    if given.get("request_uri") is not None:
        problem = sip_uri_error(given["request_uri"])
        if problem:
            errors.append(f"{where}.request_uri: {json.dumps(given['request_uri'])} {problem}")
        else:
            out["request_uri"] = given["request_uri"]
    if "up_codes" in given:
        before = len(errors)
        codes = _check_up_codes(given["up_codes"], f"{where}.up_codes", errors)
        if len(errors) == before:
            out["up_codes"] = codes
    if "verify" in given:
        if isinstance(given["verify"], bool):
            out["verify"] = given["verify"]
        else:
            errors.append(f"{where}.verify: {json.dumps(given['verify'])} must be true or false")
    if given.get("ca_file") is not None:
        ca_file = _check_ca_file(given["ca_file"], f"{where}.ca_file", errors, base_dir)
        if ca_file:
            out["ca_file"] = ca_file
    if given.get("from_user") is not None:
        problem = sip_user_error(given["from_user"])
        if problem:
            errors.append(f"{where}.from_user: {json.dumps(given['from_user'])} {problem}")
        else:
            out["from_user"] = given["from_user"]
    if given.get("tls_server_name") is not None:
        name = given["tls_server_name"]
        problem = sip_host_error(name)
        if problem or (isinstance(name, str) and name.startswith("[")):
            errors.append(f"{where}.tls_server_name: {json.dumps(name)} "
                          f"{problem or 'must be a host name or a bare IP address'}")
        else:
            out["tls_server_name"] = name
    return out


def validate_sip_defaults(value: Any, where: str = "sip_defaults",
                          base_dir: Path | None = None) -> tuple[list[str], dict]:
    """Check the top-level sip_defaults object; (errors, the valid keys normalised)."""
    if value is None:
        return [], {}
    if not isinstance(value, dict):
        return [f"{where}: must be an object with any of {', '.join(DEFAULT_KEYS)}"], {}
    errors: list[str] = []
    if "request_uri" in value:
        errors.append(f"{where}.request_uri: a Request-URI is per server; set it in the server's sip object")
    errors += _unknown_key_errors({k: v for k, v in value.items() if k != "request_uri"}, DEFAULT_KEYS, where)
    fields = _check_fields({k: v for k, v in value.items() if k in DEFAULT_KEYS}, where, errors, base_dir)
    return errors, fields


def _server_where(where: str) -> str:
    """servers[2].sip -> servers[2], for errors about the server's own keys (dn_ext, ip, probe)."""
    return where[:-len(".sip")] if where.endswith(".sip") else where


def _default_host(server: dict, where: str, errors: list[str]) -> str | None:
    """The Request-URI host when none is given: dn_ext if set, else the ip (IPv6 in brackets)."""
    server_where = _server_where(where)
    dn_ext = server.get("dn_ext")
    if isinstance(dn_ext, str) and dn_ext.strip():
        problem = sip_host_error(dn_ext)
        if problem:
            errors.append(f"{server_where}.dn_ext: {json.dumps(dn_ext)} {problem}; it would be the host of "
                          f"the SIP Request-URI, so fix it or give {where}.request_uri")
            return None
        return dn_ext
    ip = server.get("ip")
    if not isinstance(ip, str) or not ip:
        return None  # the server's own check reports the missing ip
    host = f"[{ip}]" if ":" in ip else ip
    problem = sip_host_error(host)
    if problem:
        errors.append(f"{server_where}.ip: {json.dumps(ip)} cannot be the host of the SIP Request-URI "
                      f"({problem}); give {where}.request_uri")
        return None
    return host


def validate_sip(value: Any, where: str, defaults: dict | None, server: dict, *,
                 base_dir: Path | None = None) -> tuple[list[str], dict]:
    """Check one server's ``sip`` entry merged over sip_defaults; (errors, normalised settings or {}).

    value is the server's "sip" (absent/None, true, false or an object); defaults the raw sip_defaults
    (its own errors are reported once by validate_sip_defaults, not here); server the server's object,
    whose "probe" should be the effective one: "sip" means SIP is the only check, so it needs one.
    """
    probe_is_sip = server.get("probe") == "sip"
    if value is None:
        value = True if probe_is_sip else False
    if value is False:
        if probe_is_sip:
            return [f'{where}: false, but "probe": "sip" makes SIP the only check of this server'], {}
        return [], {}
    if value is not True and not isinstance(value, dict):
        return [f"{where}: {json.dumps(value)} must be true, false or an object with any of {', '.join(KEYS)}"], {}
    own = value if isinstance(value, dict) else {}
    errors = _unknown_key_errors(own, KEYS, where)
    fields = _check_fields({k: v for k, v in own.items() if k in KEYS}, where, errors, base_dir)
    _, inherited = validate_sip_defaults(defaults, base_dir=base_dir)
    merged = {**inherited, **fields}
    transport = merged.get("transport", "udp")
    if transport != "tls":
        for key in ("verify", "ca_file", "tls_server_name"):
            if own.get(key) is not None:
                errors.append(f'{where}.{key}: only used with "transport": "tls" (this server uses {transport})')
    port = merged.get("port", DEFAULT_PORTS.get(transport, 5060))
    request_uri = merged.get("request_uri")
    if request_uri is None and "request_uri" not in _reported_keys(errors, where):
        host = _default_host(server, where, errors)
        request_uri = f"sip:{host}:{port}" if host else None
    if isinstance(request_uri, str) and request_uri.lower().startswith("sips:") and transport != "tls":
        errors.append(f'{where}.request_uri: a "sips:" URI needs "transport": "tls"')
    if errors:
        return errors, {}
    return [], {
        "transport": transport,
        "port": port,
        "request_uri": request_uri,
        "up_codes": merged.get("up_codes"),
        "verify": merged.get("verify", True),
        "ca_file": merged.get("ca_file"),
        "from_user": merged.get("from_user", DEFAULT_FROM_USER),
        "tls_server_name": merged.get("tls_server_name"),
    }


def _reported_keys(errors: list[str], where: str) -> set[str]:
    """The sip keys already reported in errors (so a bad request_uri is not also replaced by a default)."""
    prefix = where + "."
    return {e[len(prefix):].split(":", 1)[0].split("[", 1)[0] for e in errors if e.startswith(prefix)}
