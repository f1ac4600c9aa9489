"""Read routes compute once per data change: ETag and 304 until a round or an alert changes the data."""
from __future__ import annotations

import gzip
import threading
import time
from datetime import timedelta

import brotli
import pytest

from runtime.cache import ResultCache
from tests.seeding import seed_history, steady_profile
from tests.helpers.alerts import store_alert

ROUTES = ["/api/servers/status", "/api/ping-data?range=24h", "/api/ping-data?range=24h&format=csv",
          "/api/alerts?state=all"]


@pytest.mark.parametrize("path", ROUTES)
def test_a_client_with_the_etag_gets_304_until_a_new_round(path, client, seeded):
    first = client.get(path)
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == first.headers["ETag"]
    config, writer = seeded["config"], seeded["writer"]
    seed_history(writer, config, seeded["end"] + timedelta(seconds=1), rounds=1,
                 profile=lambda k, r: steady_profile(k + 3, r))
    changed = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    if "alerts" in path:  # the round is recomputed, but the alert list is the same: same tag, still 304
        assert changed.status_code == 304
    else:
        assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]


def test_an_opened_alert_changes_the_alert_list_without_a_round(client, seeded):
    first = client.get("/api/alerts?state=all")
    store_alert(seeded["writer"], seeded["config"], 0, "loss", "warning", 5.0, seeded["end"])
    second = client.get("/api/alerts?state=all", headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and len(second.get_json()["alerts"]) == len(first.get_json()["alerts"]) + 1


def same_body_three_ways(client, url: str) -> tuple:
    """(identity, br, gzip) responses of one url that carry the same ETag: the 24 h window moves each minute,
    so a triple that straddles a minute boundary holds two bodies and is asked again."""
    for _ in range(3):
        responses = tuple(client.get(url, headers={"Accept-Encoding": encoding})
                          for encoding in ("identity", "gzip, br", "gzip"))
        if len({r.headers["ETag"] for r in responses}) == 1:
            return responses
    raise AssertionError(f"{url}: the body changed between every three requests")


def test_the_cached_body_is_sent_compressed_as_the_client_asks(client, seeded):
    plain, br, gz = same_body_three_ways(client, "/api/ping-data?range=24h")
    assert "Content-Encoding" not in plain.headers
    assert br.headers["Content-Encoding"] == "br" and brotli.decompress(br.data) == plain.data
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == plain.data
    assert len(br.data) < len(plain.data) / 3 and br.headers["Vary"] == "Accept-Encoding"


def test_a_config_reload_is_never_answered_from_the_old_config(app, client, seeded, config):
    before = client.get("/api/servers/status").get_json()["servers"]
    app.runtime.services.reload(config.replace(servers=config.raw["servers"][:1]))
    after = client.get("/api/servers/status").get_json()["servers"]
    assert len(before) == 4 and [s["id"] for s in after] == [config.servers[0].id]


def test_the_status_follows_the_clock_within_seconds(client, seeded, monkeypatch):
    import api.routes
    monkeypatch.setattr(api.routes, "STATUS_CACHE_SECONDS", 0.05)
    first = client.get("/api/servers/status").get_json()["generated_at"]
    time.sleep(1.1)
    assert client.get("/api/servers/status").get_json()["generated_at"] != first


def test_concurrent_requests_for_one_key_build_it_once():
    cache, calls, started = ResultCache(), [], threading.Event()

    def build():
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return "body"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", build))) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["body"] * 20 and len(calls) == 1 and cache.misses == 1 and cache.hits == 19


def test_a_failed_build_is_not_cached_and_the_next_request_builds_again():
    cache = ResultCache()

    def broken():
        raise RuntimeError("database locked")

    with pytest.raises(RuntimeError):
        cache.get("k", broken)
    assert cache.get("k", lambda: 42) == 42


def test_the_lru_keeps_at_most_max_entries():
    cache = ResultCache(max_entries=2)
    for key in "abc":
        cache.get(key, lambda key=key: key)
    assert cache.get("a", lambda: "rebuilt") == "rebuilt"  # "a" was the least recently used


def test_the_data_stamp_is_read_once_a_second_and_a_new_round_shows_after_it(client, seeded, monkeypatch):
    import api.cache
    monkeypatch.setattr(api.cache, "STAMP_SECONDS", 3.0)
    first = client.get("/api/ping-data?range=24h")
    seed_history(seeded["writer"], seeded["config"], seeded["end"] + timedelta(seconds=1), rounds=1,
                 profile=lambda k, r: steady_profile(k + 3, r))
    soon = client.get("/api/ping-data?range=24h", headers={"If-None-Match": first.headers["ETag"]})
    time.sleep(3.1)
    later = client.get("/api/ping-data?range=24h", headers={"If-None-Match": first.headers["ETag"]})
    assert soon.status_code == 304 and later.status_code == 200
