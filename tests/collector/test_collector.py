"""The collector service with fake probes: cadence, life cycle, failure isolation, rows and logs."""
from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from settings import validate_config
from collector.logsetup import DatabaseHandler, configure_logging
from collector.probes.base import ProbeResult
from collector.schedule import next_slot
from collector import service
from collector.service import Collector, default_probe_factory, os_params
from storage.schema import logs, ping_results, rounds
from tests.conftest import make_config_dict
from tests.helpers.fakes import FakeClock, FakeFactory, SteppingStop, replies, ticking_now

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 5, 1, 10, 0, 0)
SERVERS = [
    {"partner": "Safari Voice", "country": "Kenya", "ip": "127.0.0.1", "probe": "ping"},
    {"partner": "Safari Voice", "country": "Kenya", "ip": "127.0.0.2", "probe": "ping"},
    {"partner": "Lagos Link", "country": "Nigeria", "ip": "127.0.0.3", "probe": "tcp", "port": 5061},
    {"partner": "Nile Telecom", "country": "Egypt", "ip": "127.0.0.4"},  # probe "auto"
]
IDS = ["127.0.0.1", "127.0.0.2", "127.0.0.3:5061", "127.0.0.4"]


@pytest.fixture
def cfg(tmp_path):
    return validate_config(make_config_dict(tmp_path, servers=[dict(s) for s in SERVERS]))


@pytest.fixture
def factory():
    return FakeFactory()


@pytest.fixture
def collector(cfg, writer, factory):
    c = Collector(cfg, writer, probe_factory=factory, auto_kind="ping", now=ticking_now(), name="lab-1")
    yield c
    c.stop(timeout=5)


def stored_results(writer) -> dict[str, dict]:
    with writer.engine.connect() as conn:
        return {r["server_id"]: dict(r) for r in conn.execute(select(ping_results).order_by(ping_results.c.id)).mappings()}


def stored_logs(writer, module: str = "collector.service") -> list[dict]:
    with writer.engine.connect() as conn:
        query = select(logs).where(logs.c.module == module).order_by(logs.c.id)
        return [dict(r) for r in conn.execute(query).mappings()]


# --- one round ------------------------------------------------------------------------------------

def test_a_round_stores_a_row_per_server_in_config_order(collector, writer, factory):
    factory.results["127.0.0.2"] = ProbeResult(4, 3, [30.0, None, 30.0, 30.0])
    report = collector.run_round()
    assert [s.id for s, _ in report.results] == IDS
    assert report.started_at == T0
    rows = stored_results(writer)
    assert list(rows) == IDS
    with writer.engine.connect() as conn:
        rnd = conn.execute(select(rounds)).mappings().one()
    assert (rnd["id"], rnd["collector"], rnd["started_at"], rnd["finished_at"]) == (report.round_id, "lab-1", T0,
                                                                                     T0 + timedelta(seconds=1))
    assert (rnd["servers"], rnd["failures"]) == (4, 0)
    for row in rows.values():
        assert row["round_id"] == report.round_id and row["timestamp"] == T0 and row["collector"] == "lab-1"
    assert [rows[i]["probe"] for i in IDS] == ["ping", "ping", "tcp", "ping"]
    assert (rows["127.0.0.3:5061"]["server_ip"], rows["127.0.0.3:5061"]["country"]) == ("127.0.0.3", "Nigeria")
    assert rows["127.0.0.1"]["avg_time"] == 20.0 and rows["127.0.0.1"]["concerns"] is None
    assert rows["127.0.0.2"]["loss_percentage"] == 25.0 and rows["127.0.0.2"]["concerns"] == "packet loss 25.0%"
    assert collector.rounds_run == 1 and collector.last_round_at == T0 + timedelta(seconds=2)


def test_servers_are_grouped_by_backend_and_auto_is_resolved(cfg, writer, factory):
    c = Collector(cfg, writer, probe_factory=factory, auto_kind="fping", now=ticking_now())
    c.run_round()
    calls = {kind: ids for kind, ids, _ in factory.calls}
    assert calls == {"ping": ["127.0.0.1", "127.0.0.2"], "tcp": ["127.0.0.3:5061"], "fping": ["127.0.0.4"]}
    assert stored_results(writer)["127.0.0.4"]["probe"] == "fping"


def test_different_backends_run_side_by_side(cfg, writer):
    slow = FakeFactory(delay=0.3)
    c = Collector(cfg, writer, probe_factory=slow, auto_kind="ping")
    report = c.run_round()
    (p0, p1), (t0, t1) = slow.spans["ping"], slow.spans["tcp"]
    assert p0 < t1 and t0 < p1, "the ping and tcp backends did not overlap"
    assert report.duration_seconds < 0.55  # one after the other would take 0.6 s
    assert len({thread for _, _, thread in slow.calls}) == 2


def _missing_one(targets):
    return {t.server_id: replies() for t in targets if t.server_id != "127.0.0.2"}


def _bad_value(targets):
    return {t.server_id: (replies() if t.server_id != "127.0.0.2" else "oops") for t in targets}


@pytest.mark.parametrize("kind, outcome, failed, error", [
    ("ping", _missing_one, ["127.0.0.2"], "ping probe returned no result"),
    ("ping", _bad_value, ["127.0.0.2"], "ping probe returned no result"),
    ("tcp", RuntimeError("boom"), ["127.0.0.3:5061"], "tcp probe failed: boom"),
    ("ping", lambda targets: None, ["127.0.0.1", "127.0.0.2", "127.0.0.4"], "ping probe failed: run() returned NoneType"),
], ids=["no result for one", "junk for one", "backend raises", "backend returns None"])
def test_a_failing_server_or_backend_never_stops_the_others(collector, writer, factory, kind, outcome, failed, error):
    factory.outcomes[kind] = outcome
    collector.run_round()
    rows = stored_results(writer)
    assert list(rows) == IDS
    for sid, row in rows.items():
        if sid in failed:
            assert not row["success"] and row["error"].startswith(error) and row["avg_time"] is None
            assert row["loss_percentage"] == 100.0 and row["concerns"] == f"probe failed: {row['error']}"
        else:
            assert row["success"] and row["error"] is None and row["avg_time"] == 20.0


def test_a_backend_that_cannot_be_built_fails_only_its_servers(collector, writer, factory):
    factory.broken_kinds.add("tcp")
    collector.run_round()
    rows = stored_results(writer)
    assert rows["127.0.0.3:5061"]["error"] == "tcp probe failed: cannot build tcp"
    assert all(rows[i]["success"] for i in IDS if i != "127.0.0.3:5061")
    with writer.engine.connect() as conn:
        assert conn.execute(select(rounds.c.failures)).scalar_one() == 1


def test_failing_auto_detection_fails_only_the_auto_servers(cfg, writer, factory):
    c = Collector(cfg, writer, probe_factory=factory, auto_kind=None)

    def no_auto():
        raise RuntimeError("no ping binary")

    c.prober.detect = no_auto
    factory.broken_kinds.add("auto")
    c.run_round()
    rows = stored_results(writer)
    assert not rows["127.0.0.4"]["success"] and "auto" in rows["127.0.0.4"]["error"]
    assert all(rows[i]["success"] for i in IDS[:3])


def test_a_reload_that_cannot_be_applied_is_retried_each_round_and_logged_once(tmp_path, cfg, writer, factory,
                                                                                monkeypatch, caplog):
    c = Collector(cfg, writer, probe_factory=factory, auto_kind="ping", now=ticking_now())
    real, failures = service.AlertManager, [RuntimeError("database is locked")] * 2

    def flaky_alert_manager(*args, **kwargs):
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "AlertManager", flaky_alert_manager)
    first = validate_config(make_config_dict(tmp_path, servers=[dict(SERVERS[0])]))
    newer = validate_config(make_config_dict(tmp_path, servers=[dict(SERVERS[1])]))
    with caplog.at_level(logging.INFO, logger="collector.service"):
        c.reload(first)
        ids = [[s.id for s, _ in c.run_round().results]]  # cannot be applied: the old config is kept
        c.reload(newer)  # offered while the first one waits: the newer one wins
        ids += [[s.id for s, _ in c.run_round().results] for _ in range(2)]
    assert ids == [IDS, IDS, ["127.0.0.2"]]
    assert c.config is newer and isinstance(c.alerts, real)
    messages = [(r.levelname, r.getMessage()) for r in caplog.records if "reloaded config" in r.getMessage()]
    assert messages == [("ERROR", "could not apply the reloaded config (RuntimeError: database is locked); keeping "
                                  "the old one and retrying each round"),
                        ("INFO", "collector now uses the reloaded config: 1 servers every 60 s")]


# --- logging ---------------------------------------------------------------------------------------

def test_backend_errors_go_to_the_logs_table_with_module_and_traceback(collector, writer, factory, db_logging):
    factory.outcomes["tcp"] = RuntimeError("boom")
    collector.run_round()
    errors = [r for r in stored_logs(writer) if r["level"] == "ERROR"]
    assert len(errors) == 1
    assert errors[0]["message"] == "tcp probe failed for 1 server(s)"
    assert errors[0]["module"] == "collector.service" and errors[0]["collector"] == "lab-1"
    assert "Traceback" in errors[0]["traceback"] and "RuntimeError: boom" in errors[0]["traceback"]


def test_one_info_summary_per_round_and_one_alert_line_per_condition(collector, writer, factory, db_logging):
    factory.results["127.0.0.2"] = ProbeResult(4, 3, [30.0, None, 30.0, 30.0])
    factory.outcomes["tcp"] = lambda targets: {}
    for _ in range(3):  # the alert opens on round 2 (rounds_to_open); round 3 must add no line
        collector.run_round()
    rows = stored_logs(writer) + stored_logs(writer, "collector.alerts")
    infos = [r["message"] for r in rows if r["level"] == "INFO"]
    alerts = [r["message"] for r in rows if r["level"] in ("WARNING", "ERROR")]
    assert len(infos) == 3
    assert all("3/4 servers answered, 2 with concerns" in m for m in infos)
    assert len(alerts) == 2
    assert sum("alert opened" in m and "(127.0.0.2)" in m and "25.0% loss" in m for m in alerts) == 1
    assert sum("alert opened" in m and "(127.0.0.3:5061)" in m and "tcp probe returned no result" in m
               for m in alerts) == 1


def test_database_handler_stamps_the_time_of_the_event(writer):
    handler = DatabaseHandler(writer, "lab-1")
    record = logging.LogRecord("collector.x", logging.WARNING, __file__, 1, "late %s", ("news",), None)
    record.created = datetime(2024, 5, 1, 10, 0, tzinfo=timezone.utc).timestamp()
    handler.emit(record)
    row = stored_logs(writer, "collector.x")[0]
    assert (row["timestamp"], row["message"], row["level"], row["traceback"]) == (T0, "late news", "WARNING", None)


DEADLOCK_CHECK = """
import logging, os, sys, threading
from datetime import datetime
from sqlalchemy import event
from collector.logsetup import configure_logging
from storage import open_writer

writer = open_writer(sys.argv[1])
configure_logging(writer, "lab-1", None)
once = []

def log_inside(*_):
    if not once:
        once.append(1)
        logging.getLogger("sqlalchemy.pool").error("reset failed")

event.listen(writer.engine, "before_cursor_execute", log_inside)
worker = threading.Thread(target=writer.write_round, args=("lab-1", datetime(2024, 5, 1), datetime(2024, 5, 1), []),
                          daemon=True)
worker.start()
worker.join(5)
print("deadlock" if worker.is_alive() else "ok", flush=True)
os._exit(0)  # a deadlocked handler would also hang logging.shutdown at exit
"""


def test_a_record_logged_inside_a_write_does_not_deadlock(tmp_path):
    # SQLAlchemy's pool logs from inside a transaction (e.g. a failed reset) while the writer's lock is held.
    # Run in a child process: a deadlock leaves a thread holding locks that would hang this test session.
    url = f"sqlite:///{tmp_path / 'deadlock.db'}"
    result = subprocess.run([sys.executable, "-c", DEADLOCK_CHECK, url], cwd=REPO, capture_output=True, text=True,
                            timeout=30)
    assert result.stdout.strip() == "ok", result.stderr
    assert "reset failed" in result.stderr  # the console handler still got it


def test_a_failing_log_write_never_breaks_the_caller(capsys):
    class BrokenWriter:
        def writing_in_this_thread(self):
            return False

        def write_logs(self, entries):
            raise RuntimeError("disk full")

    handler = DatabaseHandler(BrokenWriter(), "lab-1")
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "m", None, None)
    handler.emit(record)
    handler.emit(record)
    assert capsys.readouterr().err.count("RuntimeError: disk full") == 2  # both attempted, neither raised


def test_configure_logging_twice_installs_one_database_handler(writer, db_logging):
    configure_logging(writer, "lab-1", None)
    root = logging.getLogger()
    assert sum(isinstance(h, DatabaseHandler) for h in root.handlers) == 1
    logging.getLogger("collector.once").info("hello")
    assert len(stored_logs(writer, "collector.once")) == 1


# --- cadence ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("previous, now, expected, skipped", [
    (100, 100, 110, 0), (100, 103, 110, 0), (100, 109.9, 110, 0), (100, 110, 110, 0),
    (100, 112, 120, 1), (100, 135, 140, 3),
])
def test_next_start_keeps_a_fixed_grid(caplog, previous, now, expected, skipped):
    with caplog.at_level(logging.WARNING, logger="collector.service"):
        assert next_slot(previous, 10, now) == pytest.approx(expected)
    warned = [r.getMessage() for r in caplog.records if "overran" in r.getMessage()]
    assert warned == ([f"round overran its interval; skipped {skipped} scheduled round(s)"] if skipped else [])


def test_rounds_start_on_the_interval_grid_whatever_they_take(tmp_path, writer):
    cfg = validate_config(make_config_dict(tmp_path, interval_seconds=10, servers=[dict(SERVERS[0])]))
    clock = FakeClock(1000.0)
    durations = iter([3, 3, 25, 3, 10, 3])
    starts = []

    def timed(targets):
        starts.append(clock.t)
        clock.t += next(durations)
        return {t.server_id: replies() for t in targets}

    factory = FakeFactory()
    factory.outcomes["ping"] = timed
    c = Collector(cfg, writer, probe_factory=factory, auto_kind="ping", clock=clock)
    c._stop = SteppingStop(clock, rounds=6)
    c._loop()
    # 1020 ran 25 s so 1030 and 1040 are skipped; 1060 ran exactly 10 s so 1070 starts at once.
    assert starts == [1000, 1010, 1020, 1050, 1060, 1070]
    assert c.rounds_run == 6


def test_a_failing_round_does_not_end_the_loop(tmp_path, writer, caplog):
    cfg = validate_config(make_config_dict(tmp_path, interval_seconds=5, servers=[dict(SERVERS[0])]))
    calls = []
    real_write = writer.write_round

    def flaky_write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database is locked")
        return real_write(*args, **kwargs)

    writer.write_round = flaky_write
    clock = FakeClock()
    c = Collector(cfg, writer, probe_factory=FakeFactory(), auto_kind="ping", clock=clock)
    c._stop = SteppingStop(clock, rounds=3)
    c._loop()
    # The refused round waited in the spool and went in first in the next round: 4 writes, 3 rounds, none lost.
    assert len(calls) == 4 and c.rounds_run == 3 and c.rounds_lost == 0 and c.rounds_waiting == 0
    # The failed write is caught inside the round (it no longer escapes to the loop) and logged with its reason.
    assert any(r.getMessage().startswith("cannot store the round results: RuntimeError: database is locked")
               and r.exc_info for r in caplog.records)


class ClockStepEvent(threading.Event):
    """A real stop event whose timed waits advance a fake clock instead of the wall clock; on_set() runs on set()."""

    def __init__(self, clock: FakeClock, on_set=lambda: None):
        super().__init__()
        self.clock, self.on_set = clock, on_set

    def set(self) -> None:
        super().set()
        self.on_set()

    def wait(self, timeout: float | None = None) -> bool:
        stopped = super().wait(0.001)  # a real pause, so stop() from another thread is seen between rounds
        if not stopped and timeout:
            self.clock.t += timeout
        return stopped


def test_a_running_collector_keeps_cadence_and_stops_after_the_current_round(tmp_path, writer):
    cfg = validate_config(make_config_dict(tmp_path, interval_seconds=0.2, servers=[dict(SERVERS[0])]))
    # The collector's own thread, started and stopped for real; time is a fake clock that each round moves on by
    # 0.15 s and each wait by what the loop asked for. On the grid rounds start 0.2 s apart; drifting by the
    # round's duration they would start 0.35 s apart.
    clock, starts, enough = FakeClock(1000.0), [], threading.Event()

    def timed(targets):
        starts.append(clock.t)
        clock.t += 0.15
        if len(starts) >= 7:
            enough.set()
        return {t.server_id: replies() for t in targets}

    factory = FakeFactory()
    factory.outcomes["ping"] = timed
    c = Collector(cfg, writer, probe_factory=factory, auto_kind="ping", clock=clock)
    started_when_stopped = []
    c._stop = ClockStepEvent(clock, on_set=lambda: started_when_stopped.append(len(starts)))
    c.start()
    assert enough.wait(10), f"only {len(starts)} rounds started"
    c.stop(timeout=10)
    assert not c.is_alive()
    assert len(starts) <= started_when_stopped[0] + 1  # stop() lets at most the round in progress finish
    assert starts == pytest.approx([1000.0 + 0.2 * k for k in range(len(starts))])
    with writer.engine.connect() as conn:
        stored = len(conn.execute(select(rounds.c.id)).all())
    assert c.rounds_run == stored == len(starts)


# --- life cycle -------------------------------------------------------------------------------------

def test_start_and_stop_are_safe_twice(collector):
    collector.stop()  # before start: harmless
    assert collector.start() is collector
    thread = collector._thread
    assert collector.start() is collector and collector._thread is thread and collector.is_alive()
    collector.stop(timeout=5)
    collector.stop(timeout=5)
    assert not collector.is_alive()
    before = collector.rounds_run
    collector.start()
    deadline = time.monotonic() + 3
    while collector.rounds_run == before and time.monotonic() < deadline:
        time.sleep(0.01)
    collector.stop(timeout=5)
    assert collector.rounds_run > before and not collector.is_alive()


def test_start_after_a_stop_that_timed_out_keeps_running(tmp_path, writer):
    cfg = validate_config(make_config_dict(tmp_path, interval_seconds=0.05, servers=[dict(SERVERS[0])]))
    entered, release = threading.Event(), threading.Event()

    def blocking(targets):
        entered.set()
        release.wait(5)
        return {t.server_id: replies() for t in targets}

    factory = FakeFactory()
    factory.outcomes["ping"] = blocking
    c = Collector(cfg, writer, probe_factory=factory, auto_kind="ping")
    c.start()
    assert entered.wait(5)
    c.stop(timeout=0.05)
    assert c.is_alive()  # still inside the blocked round
    threading.Timer(0.2, release.set).start()
    c.start()
    deadline = time.monotonic() + 3
    while c.rounds_run < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    alive = c.is_alive()
    c.stop(timeout=5)
    assert alive and c.rounds_run >= 3


# --- helpers ---------------------------------------------------------------------------------------

def test_os_params_follow_the_platform(cfg):
    assert os_params(cfg, "win32")["count_param"] == "-n"
    assert os_params(cfg, "linux")["count_param"] == "-c"
    assert os_params(cfg, "darwin")["timeout_param"] == "-W"


def test_default_probe_factory_builds_each_kind(cfg):
    factory = default_probe_factory(cfg)
    for kind in ("ping", "fping", "tcp"):
        assert factory(kind).name == kind
