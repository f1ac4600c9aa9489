"""JSON and CSV responses built once per data change and sent to every client, with ETag and 304.

The key is the route, its canonical query string, the data stamp (newest round, alerts), the config's
generation and, for views of a window that slides with the clock, the current minute. The body is kept
compressed (brotli and gzip) next to the plain bytes, so a cached answer costs no JSON encoding or
compression either; flask-compress leaves a response that already has a Content-Encoding alone.
"""
from __future__ import annotations

import gzip
import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable

import brotli
from flask import Response, request

from queries.stamps import data_stamp
from runtime import get_runtime

# Responses smaller than this are sent as they are: compressing them would save less than its headers cost.
MIN_COMPRESS_BYTES = 500
# The data stamp is read at most this often: a new round shows within a second, and 500 requests a second
# share one stamp query instead of making one each.
STAMP_SECONDS = 1.0
_stamps: dict[int, tuple[float, tuple]] = {}  # id(engine) -> (monotonic time read, stamp)


def current_stamp(engine) -> tuple:
    """data_stamp(engine), read again once it is STAMP_SECONDS old."""
    now = time.monotonic()
    seen = _stamps.get(id(engine))
    if seen is None or now - seen[0] >= STAMP_SECONDS:
        seen = _stamps[id(engine)] = (now, data_stamp(engine))
    return seen[1]


@dataclass
class CachedBody:
    """One response body in every encoding a client may ask for, and its entity tag."""

    body: bytes
    mimetype: str
    etag: str = ""
    encoded: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self):
        self.etag = hashlib.blake2b(self.body, digest_size=12).hexdigest()
        if len(self.body) >= MIN_COMPRESS_BYTES:
            self.encoded = {"br": brotli.compress(self.body, quality=5), "gzip": gzip.compress(self.body, 6)}


def request_key(time_bucket_seconds: float | None) -> tuple:
    """The cache key of the current request (see the module docstring)."""
    rt = get_runtime()
    args = tuple(sorted(request.args.items(multi=True)))
    moving = None
    if time_bucket_seconds:
        from common.timeutil import utcnow
        moving = int(utcnow().timestamp() // time_bucket_seconds)
    return request.path, args, current_stamp(rt.read_engine), rt.generation, moving


def cached_response(build: Callable[[], tuple[bytes, str]], *, time_bucket_seconds: float | None = 60) -> Response:
    """The response of build() (body bytes, mimetype), computed once per key; 304 for a matching If-None-Match."""
    rt = get_runtime()
    entry: CachedBody = rt.cache.get(request_key(time_bucket_seconds), lambda: CachedBody(*build()))
    # no-cache: a client (or proxy) may keep the body but must ask again, sending If-None-Match.
    headers = {"Cache-Control": "no-cache", "Vary": "Accept-Encoding"}
    if request.if_none_match.contains_weak(entry.etag):
        response = Response(status=304, headers=headers)
    else:
        body, encoding = entry.body, choose_encoding(entry)
        if encoding:
            body, headers["Content-Encoding"] = entry.encoded[encoding], encoding
        response = Response(body, mimetype=entry.mimetype, headers=headers)
    response.set_etag(entry.etag)
    return response


def json_body(payload) -> tuple[bytes, str]:
    """A payload as the (body, mimetype) pair cached_response() takes, encoded by the app's JSON provider."""
    from flask import current_app
    return current_app.json.dumps(payload).encode(), "application/json"


def choose_encoding(entry: CachedBody) -> str | None:
    """The best encoding the client accepts that this body has (br before gzip), or None for plain bytes."""
    accepted = request.accept_encodings
    return next((name for name in ("br", "gzip") if name in entry.encoded and accepted[name]), None)
