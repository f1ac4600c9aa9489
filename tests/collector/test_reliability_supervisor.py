"""A collector thread that dies for any reason (here a BaseException out of its loop) is restarted, with a log line."""
from __future__ import annotations

import logging
import os
import signal
import threading

import pytest

from app import create_app
from collector import cli
from settings import validate_config
from collector.service import Collector
from runtime import EXTENSION_KEY, collector_state
from tests.helpers.fakes import FakeFactory, replies
from tests.helpers.waiting import wait_for


class Fatal(BaseException):
    """Not an Exception: the loop's `except Exception` lets it through and the thread dies."""


def fatal_first_round(factory: FakeFactory) -> FakeFactory:
    """Make the first probe call raise Fatal; later rounds answer normally."""
    state = {"calls": 0}

    def outcome(targets):
        state["calls"] += 1
        if state["calls"] == 1:
            raise Fatal("escaped the round loop")
        return {t.server_id: replies() for t in targets}

    factory.outcomes["ping"] = outcome
    return factory


@pytest.fixture
def fast_config(config):
    """The test config with a 0.05 s interval and one ping server."""
    server = dict(config.raw["servers"][0], probe="ping")
    return validate_config(dict(config.raw, interval_seconds=0.05, servers=[server]), source=config.source)


def test_the_app_restarts_a_collector_thread_that_died(fast_config, writer, caplog):
    app = create_app(fast_config, start_collector=False)
    runtime = app.server.extensions[EXTENSION_KEY]
    factory = fatal_first_round(FakeFactory())
    make = lambda config, w: Collector(config, w, probe_factory=factory, auto_kind="ping")  # noqa: E731
    with caplog.at_level(logging.INFO):
        runtime.services.start_collector(make, supervise_every=0.05)
        try:
            wait_for(lambda: runtime.services.supervisor.restarts == 1, "the supervisor's restart")
            wait_for(lambda: runtime.collector.rounds_run >= 3, "rounds after the restart")
            state = collector_state(runtime)
        finally:
            app.close()
    messages = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert ("collector.service", "ERROR", "collector thread died: Fatal: escaped the round loop") in messages
    assert ("collector.supervisor", "ERROR", "collector thread died unexpectedly (Fatal: escaped the round loop); "
            "restarting it (restart 1)") in messages
    assert state["running"] is True and state["last_error"] is None


def test_health_says_so_while_the_thread_is_dead(fast_config, writer):
    app = create_app(fast_config, start_collector=False)
    runtime = app.server.extensions[EXTENSION_KEY]
    factory = fatal_first_round(FakeFactory())
    runtime.collector = Collector(fast_config, writer, probe_factory=factory, auto_kind="ping").start()
    try:
        wait_for(lambda: runtime.collector.crashed(), "the thread to die")  # no supervisor: it stays dead
        response = app.server.test_client().get("/healthz")
        body = response.get_json()
        assert response.status_code == 503 and body["collector"]["running"] is False
        assert body["collector"]["last_error"] == ("the collector thread is not running "
                                                   "(Fatal: escaped the round loop)")
    finally:
        app.close()


def test_pinger_forever_mode_restarts_a_collector_thread_that_died(fast_config, writer, caplog):
    collector = Collector(fast_config, writer, probe_factory=fatal_first_round(FakeFactory()), auto_kind="ping")
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def stop_after_recovery():
        wait_for(lambda: collector.rounds_run >= 2, "rounds after the restart")
        os.kill(os.getpid(), signal.SIGTERM)  # what `kill` does to pinger.py; run_forever only sets a flag

    threading.Thread(target=stop_after_recovery, daemon=True).start()
    try:
        with caplog.at_level(logging.INFO):
            cli.run_forever(collector)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        collector.stop(timeout=5)
    assert collector.rounds_run >= 2 and not collector.is_alive()
    assert any(r.name == "collector.supervisor" and "restarting it (restart 1)" in r.getMessage()
               for r in caplog.records)
