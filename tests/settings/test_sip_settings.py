"""settings/sip.py: the sip object, sip_defaults, defaults, and SIP-grammar checks that stop header injection."""
from __future__ import annotations

import pytest

from collector.probes.sip import SipTarget
from collector.probes.sip_message import build_options, parse_response
from settings.sip import sip_host_error, sip_uri_error, sip_user_error, validate_sip, validate_sip_defaults

SERVER = {"partner": "P", "country": "C", "ip": "192.0.2.10", "dn_ext": "sip.partner.example"}
WHERE = "servers[2].sip"


def check(value, server=SERVER, defaults=None, **kwargs):
    """validate_sip with the usual key path."""
    return validate_sip(value, WHERE, defaults, server, **kwargs)


def test_true_means_every_default_with_dn_ext_as_request_uri_host():
    errors, sip = check(True)
    assert errors == []
    assert sip == {"transport": "udp", "port": 5060, "request_uri": "sip:sip.partner.example:5060",
                   "up_codes": None, "verify": True, "ca_file": None, "from_user": "monitor",
                   "tls_server_name": None}


def test_tls_defaults_to_port_5061_and_the_ip_without_dn_ext():
    errors, sip = check({"transport": "TLS"}, server={**SERVER, "dn_ext": ""})
    assert errors == [] and sip["transport"] == "tls" and sip["port"] == 5061
    assert sip["request_uri"] == "sip:192.0.2.10:5061"


def test_ipv6_ip_is_bracketed_in_the_default_uri():
    _, sip = check(True, server={**SERVER, "ip": "2001:db8::5", "dn_ext": ""})
    assert sip["request_uri"] == "sip:[2001:db8::5]:5060"


def test_no_sip_key_or_false_means_no_check():
    assert check(None) == ([], {})
    assert check(False) == ([], {})


def test_probe_sip_implies_a_check_and_refuses_false():
    errors, sip = check(None, server={**SERVER, "probe": "sip"})
    assert errors == [] and sip["transport"] == "udp"
    errors, _ = check(False, server={**SERVER, "probe": "sip"})
    assert errors == [f'{WHERE}: false, but "probe": "sip" makes SIP the only check of this server']


def test_sip_defaults_merge_under_the_servers_own_keys():
    defaults = {"transport": "tcp", "port": 5080, "up_codes": [200], "from_user": "noc"}
    errors, sip = check({"port": 5090}, defaults=defaults)
    assert errors == []
    assert (sip["transport"], sip["port"], sip["up_codes"], sip["from_user"]) == ("tcp", 5090, (200,), "noc")
    assert sip["request_uri"] == "sip:sip.partner.example:5090"


def test_sip_defaults_errors_name_their_key_and_refuse_a_shared_request_uri():
    errors, valid = validate_sip_defaults({"transport": "sctp", "request_uri": "sip:x.example", "veryfy": True})
    assert errors == [
        "sip_defaults.request_uri: a Request-URI is per server; set it in the server's sip object",
        'sip_defaults.veryfy: unknown key (did you mean "verify"?)',
        'sip_defaults.transport: "sctp" is not one of udp, tcp, tls',
    ]
    assert valid == {}
    assert validate_sip_defaults([1]) == (["sip_defaults: must be an object with any of transport, port, "
                                           "up_codes, verify, ca_file, from_user, tls_server_name"], {})


@pytest.mark.parametrize("value, error", [
    ({"transport": "sctp"}, f'{WHERE}.transport: "sctp" is not one of udp, tcp, tls'),
    ({"port": 0}, f"{WHERE}.port: 0 must be a whole number from 1 to 65535"),
    ({"port": True}, f"{WHERE}.port: true must be a whole number from 1 to 65535"),
    ({"up_codes": []}, f"{WHERE}.up_codes: [] must be a non-empty list of SIP codes such as [200, 404]"),
    ({"up_codes": [200, 180]}, f'{WHERE}.up_codes[1]: 180 must be a final SIP code 200-699 or a class such as "2xx"'),
    ({"up_codes": ["7xx"]}, f'{WHERE}.up_codes[0]: "7xx" must be a final SIP code 200-699 or a class such as "2xx"'),
    ({"transport": "tls", "verify": "no"}, f'{WHERE}.verify: "no" must be true or false'),
    ({"verify": False}, f'{WHERE}.verify: only used with "transport": "tls" (this server uses udp)'),
    ({"transprt": "tcp"}, f'{WHERE}.transprt: unknown key (did you mean "transport"?)'),
    ({"request_uri": "sips:sip.partner.example"}, f'{WHERE}.request_uri: a "sips:" URI needs "transport": "tls"'),
    ("yes", f'{WHERE}: "yes" must be true, false or an object with any of transport, port, request_uri, '
            "up_codes, verify, ca_file, from_user, tls_server_name"),
])
def test_bad_values_are_named_by_key_path(value, error):
    errors, sip = check(value)
    assert errors == [error] and sip == {}


def test_up_codes_accept_classes_and_drop_duplicates():
    _, sip = check({"up_codes": [200, "2XX", 200, 486]})
    assert sip["up_codes"] == (200, "2xx", 486)


def test_ca_file_must_be_a_readable_pem_and_is_made_absolute(tmp_path):
    from tests.sipp import make_certificate
    cert, _key = make_certificate(tmp_path)
    errors, sip = check({"transport": "tls", "ca_file": cert.name}, base_dir=tmp_path)
    assert errors == [] and sip["ca_file"] == str(cert.resolve())
    (tmp_path / "junk.pem").write_text("not a certificate")
    errors, _ = check({"transport": "tls", "ca_file": "junk.pem"}, base_dir=tmp_path)
    assert len(errors) == 1 and errors[0].startswith(f'{WHERE}.ca_file: "junk.pem" holds no usable PEM CA certificate')
    errors, _ = check({"transport": "tls", "ca_file": "missing.pem"}, base_dir=tmp_path)
    assert errors == [f'{WHERE}.ca_file: "missing.pem" is not a readable file']


# --- the grammar: what would end up in a header ---------------------------------------------------------

INJECTIONS = [
    "sip:sip.partner.example\r\nX-Injected: 1",
    "sip:sip.partner.example\nVia: SIP/2.0/UDP evil.example",
    "sip:sip.partner.example\rX: 1",
    "sip:a b@sip.partner.example",
    "sip:sip.partner.example>;tag=1",
    "sip:\"x\"@sip.partner.example",
    "sip:sip.partner.example?Route=%3Csip:evil.example%3E",
    "sip:user@sip.partner.example\x00",
    "sip:us\u00e9r@sip.partner.example",
    "sip:sip.partner.example;lr,<sip:evil.example>",
]


@pytest.mark.parametrize("uri", INJECTIONS)
def test_request_uri_injection_is_refused(uri):
    assert sip_uri_error(uri) is not None
    errors, sip = check({"request_uri": uri})
    assert len(errors) == 1 and errors[0].startswith(f"{WHERE}.request_uri: ") and sip == {}


@pytest.mark.parametrize("uri", [
    "sip:sip.partner.example", "SIP:sip.partner.example:5070", "sip:+254700000000@192.0.2.10:5060;user=phone",
    "sip:ping;x=1@sip.partner.example;transport=tcp;lr", "sips:[2001:db8::1]:5061", "sip:%41lice:pw@h.example",
])
def test_valid_request_uris_pass(uri):
    assert sip_uri_error(uri) is None


@pytest.mark.parametrize("dn_ext", ["Sales trunk", "sip.partner.example\r\nX: 1", "-bad.example", "a..b", "123"])
def test_dn_ext_that_would_be_a_bad_uri_host_is_refused_naming_dn_ext(dn_ext):
    errors, sip = check(True, server={**SERVER, "dn_ext": dn_ext})
    assert len(errors) == 1 and errors[0].startswith("servers[2].dn_ext: ") and sip == {}
    # Naming a request_uri instead makes dn_ext irrelevant to SIP.
    assert check({"request_uri": "sip:192.0.2.10"}, server={**SERVER, "dn_ext": dn_ext})[0] == []


@pytest.mark.parametrize("user", ["noc\r\nX: 1", "no c", "a@b", "<x>", "x" * 65])
def test_from_user_injection_is_refused(user):
    assert sip_user_error(user) is not None
    errors, _ = check({"from_user": user})
    assert len(errors) == 1 and errors[0].startswith(f"{WHERE}.from_user: ")


def test_tls_server_name_is_a_host_name():
    assert check({"transport": "tls", "tls_server_name": "sbc.partner.example"})[0] == []
    errors, _ = check({"transport": "tls", "tls_server_name": "sbc\r\n.example"})
    assert len(errors) == 1 and errors[0].startswith(f"{WHERE}.tls_server_name: ")


@pytest.mark.parametrize("host, ok", [("sip.example", True), ("10.0.0.1", True), ("[::1]", True),
                                      ("::1", False), ("999.1.1.1", False), ("a_b.example", False)])
def test_sip_host_grammar(host, ok):
    assert (sip_host_error(host) is None) is ok


def test_a_validated_config_builds_a_request_with_exactly_the_expected_header_lines():
    """End to end: normalised settings -> SipTarget -> the bytes on the wire have no extra headers."""
    _, sip = check({"request_uri": "sip:ping;x=1@sip.partner.example;transport=udp", "from_user": "noc"})
    target = SipTarget.from_settings("192.0.2.10", SERVER["ip"], sip)
    request = build_options(request_uri=target.uri, transport="udp", local_host="192.0.2.1", local_port=5062,
                            from_user=target.from_user, user_agent="t/1")
    text = request.data.decode()
    assert text.endswith("\r\n\r\n") and "\n" not in text.replace("\r\n", "")
    names = [line.split(":", 1)[0] for line in text.split("\r\n")[1:] if line]
    assert names == ["Via", "Max-Forwards", "From", "To", "Call-ID", "CSeq", "Contact", "Accept",
                     "User-Agent", "Content-Length"]
    assert text.startswith("OPTIONS sip:ping;x=1@sip.partner.example;transport=udp SIP/2.0\r\n")
    assert f"branch={request.branch};rport" in text and request.branch.startswith("z9hG4bK")
    assert "From: <sip:noc@192.0.2.1:5062>;tag=" in text


def test_reply_text_is_cleaned_before_it_is_kept():
    reply = (b"SIP/2.0 200 OK\x1b[31m\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\nCall-ID: c\r\n"
             b"CSeq: 1 OPTIONS\r\nServer: evil\x07 " + b"x" * 300 + b"\r\nContent-Length: 0\r\n\r\n")
    response = parse_response(reply)
    assert response.reason == "OK [31m" and "\x07" not in response.server_header
    assert len(response.server_header) == 200
