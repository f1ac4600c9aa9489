"""Notifications: real deliveries through Apprise to a local HTTP receiver, retries, a dead receiver, filtering."""
from __future__ import annotations

import json
import logging
import socket
import threading
import time
from datetime import datetime

import pytest

from collector.alertmanager import AlertManager
from collector.alerts import AlertEvent
from settings import ConfigError, validate_config
from collector.notify import Notifier, apprise_channel, build_notifier, format_message, server_link
from tests.conftest import make_config_dict
from tests.helpers.alerts import BAD_PROBES, measured
from tests.helpers.webhook import Receiver

T0 = datetime(2026, 3, 1, 12, 0, 0)
FAST = {"backoff_seconds": 0.05, "max_attempts": 3}



@pytest.fixture
def notifiers():
    """Build started Notifiers on Apprise URLs; all are stopped at teardown."""
    made = []

    def make(*urls: str, min_severity: str = "warning", **options) -> Notifier:
        channels = [apprise_channel(url, min_severity) for url in urls]
        notifier = Notifier(channels, public_url="http://monitor.example:8050", **{**FAST, **options}).start()
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        notifier.stop(timeout=2)


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def event(action: str = "open", severity: str = "critical", **changes) -> AlertEvent:
    """A latency event on Safari Voice, Kenya."""
    fields = dict(action=action, kind="latency", condition="high latency", severity=severity,
                  server_id="127.0.0.1", partner="Safari Voice", country="Kenya", value=612.0,
                  value_text="612.0 ms", peak=612.0, peak_text="612.0 ms", started_at=T0, at=T0,
                  message="High latency on Safari Voice Kenya (127.0.0.1): 612.0 ms", collector="test")
    return AlertEvent(**{**fields, **changes})


# -- message content --------------------------------------------------------------------------------------------
def test_delivered_payload_names_partner_country_server_condition_value_and_link(receiver, notifiers):
    notifier = notifiers(receiver.url())
    notifier.submit([event()])
    assert receiver.wait_for(1)
    (body,) = receiver.delivered()
    text = body["title"] + "\n" + body["message"]
    for expected in ("Safari Voice", "Kenya", "127.0.0.1", "high latency", "612.0 ms",
                     "http://monitor.example:8050/server/127.0.0.1"):
        assert expected in text
    assert body["type"] == "failure" and body["title"].startswith("[CRITICAL]")


def test_resolve_and_escalate_messages_say_so():
    resolved = format_message(event("resolve"))
    escalated = format_message(event("escalate", previous_severity="warning"))
    assert resolved.title.startswith("[RESOLVED]") and resolved.notify_type == "success"
    assert "worsened" in escalated.title and "Severity: critical (was warning)" in escalated.body


def test_link_quotes_the_server_id_and_host_alerts_link_to_the_dashboard():
    assert server_link("http://h:5000/", "sbc.example:5061") == "http://h:5000/server/sbc.example:5061"
    assert server_link("http://h:5000", "a b") == "http://h:5000/server/a%20b"
    assert server_link("http://h:5000", None) == "http://h:5000/"


# -- retries --------------------------------------------------------------------------------------------------
def test_a_receiver_failing_twice_gets_the_message_on_the_third_attempt(notifiers, caplog):
    flaky = Receiver(statuses=[500, 500, 200])
    try:
        notifier = notifiers(flaky.url(), max_attempts=5)
        notifier.submit([event()])
        assert notifier.wait_idle(5)
        assert [status for status, _ in flaky.requests] == [500, 500, 200]
        assert len({json.dumps(body, sort_keys=True) for _, body in flaky.requests}) == 1
    finally:
        flaky.close()
    retries = [r for r in caplog.records if r.name == "collector.notify" and "retrying" in r.getMessage()]
    assert [r.levelno for r in retries] == [logging.WARNING, logging.WARNING]


def test_backoff_doubles_between_attempts(notifiers):
    flaky = Receiver(statuses=[500, 500, 200])
    try:
        notifier = notifiers(flaky.url(), max_attempts=5, backoff_seconds=0.2)
        started = time.monotonic()
        notifier.submit([event()])
        assert notifier.wait_idle(5)
        # 0.2 s then 0.4 s of backoff before the third attempt
        assert time.monotonic() - started >= 0.6
    finally:
        flaky.close()


def test_a_message_is_dropped_after_max_attempts_and_the_next_one_still_goes(notifiers, caplog):
    failing = Receiver(statuses=[500, 500, 500])
    try:
        notifier = notifiers(failing.url(), max_attempts=3)
        notifier.submit([event(), event("resolve")])
        assert notifier.wait_idle(5)
        assert [(status, body["title"][:10]) for status, body in failing.requests] == \
            [(500, "[CRITICAL]"), (500, "[CRITICAL]"), (500, "[CRITICAL]"), (200, "[RESOLVED]")]
    finally:
        failing.close()
    assert any(r.levelno == logging.ERROR and "dropped after 3 attempts" in r.getMessage() for r in caplog.records)


def test_messages_of_a_channel_keep_their_order_across_retries(notifiers):
    flaky = Receiver(statuses=[500])
    try:
        notifier = notifiers(flaky.url())
        notifier.submit([event()])
        notifier.submit([event("resolve")])
        assert notifier.wait_idle(5)
        assert [body["title"][:10] for _, body in flaky.requests] == ["[CRITICAL]", "[CRITICAL]", "[RESOLVED]"]
    finally:
        flaky.close()


def test_a_dead_channel_does_not_hold_back_a_working_one(receiver, notifiers):
    # The dead channel is tried first and its retry is a minute away; the working one must not wait for it.
    notifier = notifiers(f"json://127.0.0.1:{closed_port()}/hook", receiver.url(), max_attempts=4,
                         backoff_seconds=60.0)
    dead = notifier.channels[0]
    notifier.submit([event()])
    assert receiver.wait_for(1, timeout=10)
    assert (dead.attempts, len(dead.pending)) == (1, 1)  # tried once, its retry still ahead


# -- never in the way of a round ------------------------------------------------------------------------------------
def test_dead_receiver_does_not_slow_on_round(config, writer, notifiers, caplog):
    notifier = notifiers(f"json://127.0.0.1:{closed_port()}/hook", max_attempts=2)
    channel = notifier.channels[0]
    real_send, release, sent = channel.send, threading.Event(), []

    def held_send(message):
        """The delivery to the dead receiver, held until the test lets it go."""
        release.wait(10)
        sent.append(message)
        return real_send(message)

    channel.send = held_send
    manager = AlertManager(config, writer, notifier=notifier, name="test")
    probe = BAD_PROBES["very slow"][0]
    for i in range(2):
        events = manager.on_round([(config.servers[0], measured(config, probe))], T0.replace(minute=i))
    assert [e.action for e in events] == ["open"]
    assert sent == []  # on_round returned while the delivery was still held: it only queued it
    release.set()
    assert notifier.wait_idle(5)
    assert any("dropped after 2 attempts" in r.getMessage() for r in caplog.records)


def test_submit_returns_at_once_while_the_worker_is_busy():
    sending, release, finished = threading.Event(), threading.Event(), []

    def send(message):
        """A send that hangs until released."""
        sending.set()
        release.wait(10)
        finished.append(message)
        return True

    channel = apprise_channel("json://127.0.0.1:9/unused")
    channel.send = send
    notifier = Notifier([channel], **FAST).start()
    try:
        notifier.submit([event()])
        assert sending.wait(5)  # the worker is inside the first send
        notifier.submit([event("resolve")])
        assert finished == []  # submit() returned while the worker was still busy
        release.set()
        assert notifier.wait_idle(5)
        assert len(finished) == 2
    finally:
        notifier.stop(timeout=2)


def test_a_channel_that_raises_is_logged_and_retried(caplog):
    calls = []

    def send(message):
        calls.append(message)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return True

    channel = apprise_channel("json://127.0.0.1:9/unused")
    channel.send = send
    notifier = Notifier([channel], **FAST).start()
    try:
        notifier.submit([event()])
        assert notifier.wait_idle(5)
    finally:
        notifier.stop(timeout=2)
    assert len(calls) == 2
    assert any(r.levelno == logging.ERROR and "raised" in r.getMessage() for r in caplog.records)


# -- filtering and configuration -----------------------------------------------------------------------------------
def test_min_severity_critical_skips_warnings_but_gets_escalations(receiver, notifiers):
    notifier = notifiers(receiver.url(), min_severity="critical")
    notifier.submit([event(severity="warning")])
    notifier.submit([event("escalate", previous_severity="warning")])
    notifier.submit([event("update")])  # peak changes are never sent
    assert notifier.wait_idle(5)
    assert [body["title"][:10] for body in receiver.delivered()] == ["[CRITICAL]"]
    assert "worsened" in receiver.delivered()[0]["title"]


def test_build_notifier_reads_the_config(tmp_path, receiver, caplog):
    # "nosuchscheme://" passes config validation (it looks like a URL) but Apprise has no such service:
    # it is logged and skipped, and the good channel still works.
    entries = [{"url": receiver.url(), "min_severity": "critical"}, {"url": "nosuchscheme://x"}]
    config = validate_config(make_config_dict(tmp_path, notifications=entries, public_url="https://noc.example"))
    notifier = build_notifier(config)
    assert [c.min_severity for c in notifier.channels] == ["critical"]
    assert notifier.public_url == "https://noc.example"
    ours = [r for r in caplog.records if r.name == "collector.notify" and r.levelno == logging.ERROR]
    assert len(ours) == 1


def test_malformed_notification_entries_are_rejected_when_the_config_loads(tmp_path):
    entries = [{"url": "not a url"}, {"url": "json://127.0.0.1/x", "min_severity": "loud"}, "json://x"]
    with pytest.raises(ConfigError) as excinfo:
        validate_config(make_config_dict(tmp_path, notifications=entries))
    assert [line.split(":")[0] for line in str(excinfo.value).splitlines()] == [
        "notifications[0].url", "notifications[1].min_severity", "notifications[2].url"]


def test_no_notifications_configured_means_no_notifier(config):
    assert build_notifier(config) is None


def test_stop_is_safe_twice_and_start_again_works(receiver):
    notifier = Notifier([apprise_channel(receiver.url())], **FAST)
    notifier.start()
    notifier.stop(timeout=2)
    notifier.stop(timeout=2)
    assert not notifier.is_alive()
    notifier.start().submit([event()])
    try:
        assert receiver.wait_for(1)
    finally:
        notifier.stop(timeout=2)
