"""Failed logins are limited per client IP and per user name: 429 with Retry-After, reset after the window."""
from __future__ import annotations

import threading

import pytest

from security.ratelimit import SWEEP_AT_KEYS, FailureLimiter
from tests.helpers.auth import PASSWORD, USERS, clear_secret_environment, login, secure_app

WINDOW = 300


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def limited(tmp_path, clock, monkeypatch):
    """An app allowing 3 failures per 300 s, on the fake clock; yields (client, clock, limiter)."""
    clear_secret_environment(monkeypatch)
    app = secure_app(tmp_path, users=USERS, max_failed_logins=3, failed_login_window_seconds=WINDOW)
    limiter = app.server.extensions["latency_monitor_security"].limiter
    limiter.clock = clock
    yield app.server.test_client(), clock, limiter
    app.close()


# -- the limiter itself ---------------------------------------------------------------------------

def test_a_key_is_locked_at_the_limit_until_its_oldest_failure_leaves_the_window(clock):
    limiter = FailureLimiter(3, WINDOW, clock)
    for _ in range(3):
        assert limiter.retry_after(["ip:a"]) == 0
        limiter.record_failure(["ip:a"])
        clock.now += 10
    # failures at 1000, 1010, 1020; now 1030: the one at 1000 expires at 1300
    assert limiter.retry_after(["ip:a"]) == 270
    clock.now = 1299.5
    assert limiter.retry_after(["ip:a"]) == 1
    clock.now = 1300
    assert limiter.retry_after(["ip:a"]) == 0


def test_keys_are_counted_separately_and_the_longest_wait_wins(clock):
    limiter = FailureLimiter(2, WINDOW, clock)
    limiter.record_failure(["ip:a", "user:x"])
    clock.now += 100
    limiter.record_failure(["ip:a", "user:y"])
    assert limiter.retry_after(["ip:b", "user:x"]) == 0
    assert limiter.retry_after(["ip:a", "user:z"]) == WINDOW - 100
    limiter.reset("ip:a")
    assert limiter.retry_after(["ip:a"]) == 0


def test_expired_keys_are_swept_so_random_names_cannot_fill_memory(clock):
    limiter = FailureLimiter(5, WINDOW, clock)
    limiter.record_failure([f"user:{i}" for i in range(SWEEP_AT_KEYS)])
    clock.now += WINDOW + 1
    limiter.record_failure(["user:last"])
    assert len(limiter._failures) == 1


def test_concurrent_failures_are_all_counted(clock):
    limiter = FailureLimiter(10_000, WINDOW, clock)
    threads = [threading.Thread(target=lambda: [limiter.record_failure(["ip:a"]) for _ in range(500)])
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(limiter._failures["ip:a"]) == 4000


# -- on the login page ----------------------------------------------------------------------------

def test_too_many_failures_for_a_user_get_429_with_retry_after(limited):
    client, clock, _ = limited
    for _ in range(3):
        assert login(client, "ops", "wrong password").status_code == 401
        clock.now += 1
    blocked = login(client, "ops", PASSWORD)  # even the right password: otherwise guessing could go on
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) == WINDOW - 3
    assert "Too many failed logins" in blocked.get_data(as_text=True)


def test_the_limit_resets_after_the_window(limited):
    client, clock, _ = limited
    for _ in range(3):
        login(client, "ops", "wrong password")
    assert login(client, "ops", PASSWORD).status_code == 429
    clock.now += WINDOW
    assert login(client, "ops", PASSWORD).status_code == 302


def test_the_limit_is_per_client_ip(limited):
    client, clock, _ = limited
    for name in ("a", "b", "c"):  # three different names from one address
        login(client, name, "wrong password")
    assert login(client, "ops", PASSWORD).status_code == 429
    other = client.application.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    assert login(other, "ops", PASSWORD).status_code == 302


def test_the_limit_is_per_user_name_across_addresses(limited):
    client, clock, _ = limited
    for i in range(3):
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{i + 1}"
        login(client, "OPS", "wrong password")  # names are counted case-insensitively
    client.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert login(client, "ops", PASSWORD).status_code == 429


def test_a_success_clears_the_users_count(limited):
    client, clock, limiter = limited
    for _ in range(2):
        login(client, "ops", "wrong password")
    assert login(client, "ops", PASSWORD).status_code == 302
    assert limiter.retry_after(["user:ops"]) == 0 and "user:ops" not in limiter._failures


def test_a_missing_csrf_token_is_not_counted_as_a_failure(limited):
    client, clock, limiter = limited
    client.get("/login")
    for _ in range(5):
        assert client.post("/login", data={"username": "ops", "password": "x"}).status_code == 400
    assert limiter._failures == {}
