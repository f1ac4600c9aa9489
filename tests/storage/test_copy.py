"""python -m storage.copy: a SQLite history copied into PostgreSQL (and SQLite) row for row, resumable, refusing a
target that holds other data, with sequences that carry on after the copied ids."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, inspect, select, text

from settings import validate_config
from storage import copy as storage_copy
from storage import open_writer
from storage.alertstore import apply_events
from storage.engine import make_engine
from storage.schema import alerts, logs, ping_results, rounds, schema_info
from common.timeutil import utcnow
from tests.conftest import BACKEND_PARAMS, make_config_dict
from tests.seeding import seed_history

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 300  # x 4 servers: 1,200 ping_results rows, 24 batches of 50


def alert_event(server_id: str, action: str, at, **extra):
    """A duck-typed collector.alerts.AlertEvent."""
    return SimpleNamespace(server_id=server_id, partner="Safari Voice", country="Kenya", kind="latency",
                           severity="warning", started_at=at, at=at, peak=250.0, message="slow", collector="lab-1",
                           action=action, **extra)


def make_history(folder: Path, rounds: int = ROUNDS) -> str:
    """A SQLite history written through the project's writer, every table non-empty; returns its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{folder / 'history.db'}"
    config = validate_config(make_config_dict(folder), source=str(folder / "config.json"))
    writer = open_writer(url)
    end = utcnow().replace(microsecond=0)
    seed_history(writer, config, end, rounds=rounds, interval_seconds=60)
    writer.write_round("test", end, end, [], uid="test:heartbeat", heartbeat={"location": "Lab", "last_round_at": end})
    writer.write_logs([{"timestamp": end, "level": "WARNING", "message": f"line {i}", "module": "collector"}
                       for i in range(30)])
    apply_events(writer, [alert_event("127.0.0.1", "open", end - timedelta(hours=1)),
                          alert_event("127.0.0.2", "open", end - timedelta(minutes=30))])
    apply_events(writer, [alert_event("127.0.0.1", "resolve", end - timedelta(minutes=10))])
    writer.engine.dispose()
    return url


@pytest.fixture
def history(tmp_path) -> str:
    """The URL of a SQLite history (see make_history)."""
    return make_history(tmp_path / "source")


@pytest.fixture(params=BACKEND_PARAMS)
def target_url(request, tmp_path) -> str:
    """An empty target database on each backend (the schema is the copy's job)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'target.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    name = cluster.create_database()
    request.addfinalizer(lambda: cluster.drop_database(name))
    return cluster.url(name)


@pytest.fixture
def pg_target(pg_cluster, request) -> str:
    """An empty PostgreSQL target database."""
    name = pg_cluster.create_database()
    request.addfinalizer(lambda: pg_cluster.drop_database(name))
    return pg_cluster.url(name)


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every copied table, in primary-key order."""
    engine = make_engine(url, readonly=True)
    try:
        with engine.connect() as conn:
            return {t.name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
                    for t in storage_copy.COPIED}
    finally:
        engine.dispose()


def run_copy(*args: str) -> tuple[int, str, str]:
    """storage.copy.main in this process; returns (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    status = storage_copy.main(list(args), out=out, err=err)
    return status, out.getvalue(), err.getvalue()


def test_every_row_of_every_table_arrives(history, target_url):
    status, out, err = run_copy("--from", history, "--to", target_url, "--batch-rows", "500")
    assert (status, err) == (0, "")
    source, copied = dump(history), dump(target_url)
    assert set(source) == {t.name for t in storage_copy.COPIED}  # every table of the schema but schema_info
    for name in ("rounds", "series", "ping_compact", "logs", "alerts", "ping_rollups", "country_rollups",
                 "server_latest"):
        assert source[name], f"the source's {name} is empty, so the test would prove nothing"
    for name, rows in source.items():
        assert copied[name] == rows, name
    assert "ping_compact: 1200/1200 rows (100.0%)" in out and "copy complete" in out
    assert f"{'ping_compact':<16} {1200:>12} {1200:>12}" in out  # the per-table count check
    engine = make_engine(target_url)
    with engine.connect() as conn:
        assert "copy_progress" not in inspect(conn).get_table_names()  # a finished copy leaves no marker
        assert conn.execute(select(schema_info.c.version)).scalar_one() == storage_copy.SCHEMA_VERSION
    engine.dispose()


def test_the_target_carries_on_after_the_copied_ids(history, pg_target):
    assert run_copy("--from", history, "--to", pg_target)[0] == 0
    writer = open_writer(pg_target)  # the app's writer, as a collector on the new database would use it
    config = validate_config(make_config_dict(Path("/nonexistent")), source="/nonexistent/config.json")
    at = utcnow().replace(microsecond=0) + timedelta(minutes=5)
    round_id = writer.write_round("lab-2", at, at, [dict(r, round_id=None) for r in _rows_like(config, at)])
    writer.write_logs([{"timestamp": at, "level": "INFO", "message": "after the copy", "module": "x"}])
    opened = apply_events(writer, [alert_event("127.0.0.3", "open", at)])
    with writer.engine.connect() as conn:
        assert round_id == ROUNDS + 2  # not 1: the sequence was moved past the copied ids (and the heartbeat round)
        assert conn.execute(select(func.max(ping_results.c.id))).scalar_one() == ROUNDS * 4 + 4
        assert conn.execute(select(func.max(logs.c.id))).scalar_one() == 31
        assert len(opened) == 1 and conn.execute(select(func.max(alerts.c.id))).scalar_one() == 3
    writer.engine.dispose()


def _rows_like(config, at) -> list[dict]:
    from collector.measure import measure
    from collector.rows import result_row, server_labels
    from tests.seeding import steady_profile
    return [result_row(measure(steady_profile(k, 0), config.thresholds), server_labels(s, "ping"), at,
                       config.thresholds, config.alert_conditions) for k, s in enumerate(config.servers)]


def test_an_interrupted_copy_resumes_after_the_highest_copied_key(history, pg_target):
    def interrupt_in_ping_results(table, copied):
        if table == "ping_compact" and copied >= 400:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        storage_copy.copy_history(history, pg_target, batch_rows=100, out=io.StringIO(),
                                  after_batch=interrupt_in_ping_results)
    engine = make_engine(pg_target)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ping_results)).scalar_one() == 400
        assert conn.execute(text("SELECT source FROM copy_progress")).scalar_one() == storage_copy.safe_url(history)
    engine.dispose()
    out = io.StringIO()
    report = storage_copy.copy_history(history, pg_target, batch_rows=100, out=out)
    assert report.resumed
    assert report.tables["ping_compact"].copied == 800  # only the rows after the 400 already there
    assert report.tables["rounds"].copied == 0          # finished before the interruption
    assert "ping_compact: copying 800 of 1200 rows, 400 already there" in out.getvalue()
    assert dump(pg_target) == dump(history)


def test_a_killed_copy_process_is_resumed_by_running_it_again(tmp_path, pg_cluster, pg_target):
    source = make_history(tmp_path / "big", rounds=2500)  # 10,000 ping_results rows, 200 batches of 50
    command = [sys.executable, "-m", "storage.copy", "--from", source, "--to", pg_target, "--batch-rows", "50"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    probe = make_engine(pg_target, readonly=True)
    try:
        deadline = time.monotonic() + 60
        copied = 0
        while process.poll() is None and time.monotonic() < deadline and copied < 1000:
            try:
                with probe.connect() as conn:
                    copied = conn.execute(select(func.count()).select_from(ping_results)).scalar_one()
            except Exception:  # noqa: BLE001 - the tables do not exist until the copy has created them
                pass
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        with probe.connect() as conn:
            left = conn.execute(select(func.count()).select_from(ping_results)).scalar_one()
    finally:
        probe.dispose()
    assert 0 < left < 10_000, "the kill should land in the middle of ping_compact"
    assert left % 50 == 0  # whole batches only: each is one transaction
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"ping_compact: copying {10_000 - left} of 10000 rows, {left} already there" in done.stdout
    assert "copy complete (resumed)" in done.stdout
    assert dump(pg_target) == dump(source)


def test_a_target_holding_other_data_is_refused_unless_forced(history, tmp_path, pg_target):
    other = validate_config(make_config_dict(tmp_path, database_url=pg_target), source=str(tmp_path / "c.json"))
    writer = open_writer(pg_target)  # another site's collector already wrote here
    seed_history(writer, other, utcnow(), rounds=3, interval_seconds=60, collector="elsewhere")
    writer.engine.dispose()
    before = dump(pg_target)
    status, out, err = run_copy("--from", history, "--to", pg_target)
    assert status == 2 and out == ""
    assert "the target already holds data" in err and "rounds 3" in err and "--force" in err
    assert dump(pg_target) == before  # untouched
    status, _out, err = run_copy("--from", history, "--to", pg_target, "--force")
    assert (status, err) == (0, "")
    assert dump(pg_target) == dump(history)  # the other rows are gone, the copy is exact


def test_a_source_that_changes_during_the_copy_is_reported(history, pg_target):
    writer = open_writer(history)
    config = validate_config(make_config_dict(Path("/nonexistent")), source="/nonexistent/config.json")

    def collector_still_running(table, copied):
        if table == "rounds" and copied == 100:
            at = utcnow() + timedelta(minutes=1)
            writer.write_round("lab-1", at, at, _rows_like(config, at))

    with pytest.raises(storage_copy.CopyError, match="the source changed during the copy"):
        storage_copy.copy_history(history, pg_target, batch_rows=100, out=io.StringIO(),
                                  after_batch=collector_still_running)
    writer.engine.dispose()
    status, out, _err = run_copy("--from", history, "--to", pg_target)  # the collector stopped: run it again
    assert status == 0 and "copy complete (resumed)" in out
    assert dump(pg_target) == dump(history)


def test_a_source_at_an_old_schema_version_is_refused(history, pg_target):
    engine = make_engine(history)
    with engine.begin() as conn:
        conn.execute(schema_info.update().values(version=2))
    engine.dispose()
    status, _out, err = run_copy("--from", history, "--to", pg_target)
    assert status == 2 and "schema version 2" in err and "--init-db" in err


def test_bad_arguments_are_refused_with_a_reason(history, tmp_path):
    status, _out, err = run_copy("--from", history, "--to", history)
    assert (status, err) == (2, "copy: --from and --to name the same database\n")
    status, _out, err = run_copy("--from", "database.db", "--to", f"sqlite:///{tmp_path / 't.db'}")
    assert status == 2 and "not a database URL" in err
    status, _out, err = run_copy("--from", history, "--to", f"sqlite:///{tmp_path / 't.db'}", "--batch-rows", "0")
    assert status == 2 and "--batch-rows" in err


def test_an_unreachable_target_fails_with_one_line(history, pg_cluster):
    status, _out, err = run_copy("--from", history, "--to", pg_cluster.url("no_such_database"))
    assert status == 1 and err.startswith("copy: OperationalError: ") and "no_such_database" in err
    assert len(err.strip().splitlines()) == 1
