"""The notAfter date of an X.509 certificate in DER, read without a crypto library.

Python's ssl module only decodes a peer certificate it has verified; with ``verify: false`` (or to
say *why* verification failed: an expired certificate) we still want the expiry, so this walks the
few DER fields in front of it: Certificate -> TBSCertificate -> [version] serial signature issuer
validity{notBefore, notAfter} (RFC 5280 4.1).
"""
from __future__ import annotations

from datetime import datetime, timezone

_SEQUENCE, _UTC_TIME, _GENERALIZED_TIME, _VERSION_TAG = 0x30, 0x17, 0x18, 0xA0


def _read_tlv(der: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at offset."""
    if offset + 2 > len(der):
        raise ValueError("truncated DER")
    tag, length = der[offset], der[offset + 1]
    offset += 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4 or offset + size > len(der):
            raise ValueError("bad DER length")
        length = int.from_bytes(der[offset:offset + size], "big")
        offset += size
    if offset + length > len(der):
        raise ValueError("truncated DER")
    return tag, offset, offset + length


def _parse_time(tag: int, raw: bytes) -> datetime:
    """A UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as an aware datetime."""
    text = raw.decode("ascii")
    if tag == _UTC_TIME:
        year = int(text[:2])
        # RFC 5280 4.1.2.5.1: two-digit years 50-99 are 19xx, 00-49 are 20xx.
        text = ("19" if year >= 50 else "20") + text
    elif tag != _GENERALIZED_TIME:
        raise ValueError("validity time is neither UTCTime nor GeneralizedTime")
    return datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=timezone.utc)


def not_after(der: bytes) -> datetime:
    """When the certificate stops being valid; ValueError if der is not a certificate."""
    tag, start, _ = _read_tlv(der, 0)
    if tag != _SEQUENCE:
        raise ValueError("not a certificate")
    tag, offset, tbs_end = _read_tlv(der, start)
    if tag != _SEQUENCE:
        raise ValueError("no TBSCertificate")
    tag, _, end = _read_tlv(der, offset)
    if tag == _VERSION_TAG:  # [0] EXPLICIT version, absent in v1 certificates
        offset = end
    for _field in ("serialNumber", "signature", "issuer"):
        _, _, offset = _read_tlv(der, offset)
    tag, validity, _ = _read_tlv(der, offset)
    if tag != _SEQUENCE or offset >= tbs_end:
        raise ValueError("no validity")
    _, _, after_before = _read_tlv(der, validity)
    tag, start, end = _read_tlv(der, after_before)
    return _parse_time(tag, der[start:end])


def days_left(der: bytes, now: datetime) -> float:
    """Days (fractional) from now until the certificate expires; negative once it has."""
    return (not_after(der) - now).total_seconds() / 86400.0
