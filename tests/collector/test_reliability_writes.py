"""Keeps measuring when the database refuses writes: a full disk, a read-only file system.

Each failure is logged once per outage with its reason, probing goes on, /healthz answers 503 with the
reason and the dashboard shows it; once writes work again the next round is stored and that is logged too.
A full disk is simulated with SQLite's max_page_count (anywhere) and made real with a tiny tmpfs (root).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

import callbacks.overview as overview_cb
from app import create_app
from settings import validate_config
from collector.service import Collector
from runtime import EXTENSION_KEY
from storage import open_writer
from tests.conftest import make_config_dict
from tests.helpers.fakes import FakeFactory
from tests.helpers.waiting import wait_for

# A full disk is simulated with SQLite's max_page_count; losing the database server is issue 13's spool work.
pytestmark = pytest.mark.sqlite_only

SERVICE = "collector.service"
REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 5, 1, 10, 0)


class PageLimit:
    """A full disk in miniature: caps the database at its current size, so SQLite answers SQLITE_FULL."""

    def __init__(self, engine):
        self.engine, self.pages = engine, None
        event.listen(engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_conn, _record) -> None:
        if self.pages is not None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {self.pages}")

    def fill(self) -> None:
        """No more pages from now on (new connections get the cap; pooled ones are dropped)."""
        with self.engine.connect() as conn:
            self.pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        self.engine.dispose()

    def lift(self) -> None:
        """Room again."""
        self.pages = None
        self.engine.dispose()


def fake_collector(config, writer) -> Collector:
    """A collector with instant fake probes."""
    return Collector(config, writer, probe_factory=FakeFactory(), auto_kind="ping", name="lab-1")


def errors_logged(caplog) -> list[str]:
    """The ERROR lines the collector service logged."""
    return [r.getMessage() for r in caplog.records if r.name == SERVICE and r.levelno >= logging.ERROR]


def complete_rounds(engine) -> tuple[int, int]:
    """(rounds stored, rounds whose ping_results count differs from their servers column)."""
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM rounds")).scalar()
        partial = conn.execute(text("SELECT COUNT(*) FROM rounds r WHERE r.servers != "
                                    "(SELECT COUNT(*) FROM ping_results p WHERE p.round_id = r.id)")).scalar()
    return stored, partial


def integrity(engine) -> str:
    """PRAGMA integrity_check's answer ('ok' when the file is sound)."""
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA integrity_check").scalar()


def run_until_refused(collector: Collector, limit: int = 200) -> int:
    """Run rounds until one is not stored; returns how many were stored before it."""
    for stored in range(limit):
        if collector.run_round().round_id is None:
            return stored
    raise AssertionError(f"{limit} rounds were all stored: the write failure never happened")


# -- a full database, simulated (runs anywhere) ----------------------------------------------------------

def test_a_full_database_is_logged_once_and_probing_goes_on(config, writer, caplog):
    limit = PageLimit(writer.engine)
    collector = fake_collector(config, writer)
    collector.run_round()
    limit.fill()
    with caplog.at_level(logging.DEBUG, logger=SERVICE):
        before = run_until_refused(collector) + 1
        for _ in range(3):
            assert collector.run_round().round_id is None  # still full: every round is refused
        assert collector.last_error == "OperationalError: database or disk is full"
        # Refused rounds wait in the spool beside the database file, none lost.
        assert collector.rounds_waiting == collector.outage_rounds == 4 and collector.rounds_lost == 0
        assert collector.is_alive() is False
        assert len(collector.probe_factory.calls) == before + 4  # the probing never stopped
        limit.lift()
        assert collector.run_round().round_id is not None
    errors = errors_logged(caplog)
    assert len(errors) == 1, errors  # once per outage, not once per round
    assert errors[0].startswith("cannot store the round results: OperationalError: database or disk is full "
                                "(free some disk space)")
    recovered = [r.getMessage() for r in caplog.records if r.name == SERVICE and r.levelno == logging.WARNING]
    assert recovered == ["rounds are stored again; 4 round(s) of the outage were spooled and have been sent "
                         "(OperationalError: database or disk is full)"]
    # The 4 spooled rounds went in first, then the new one: nothing of the outage is missing.
    assert collector.last_error is None and collector.rounds_run == before + 5 and collector.rounds_waiting == 0
    assert complete_rounds(writer.engine) == (before + 5, 0)
    assert integrity(writer.engine) == "ok"


def test_health_and_dashboard_report_a_collector_that_cannot_write(config, writer):
    app = create_app(config, start_collector=False)
    runtime = app.server.extensions[EXTENSION_KEY]
    limit = PageLimit(runtime.writer.engine)
    fast = validate_config(dict(config.raw, interval_seconds=0.1), source=config.source)
    runtime.config = fast
    runtime.services.start_collector(fake_collector)
    client = app.server.test_client()
    try:
        wait_for(lambda: runtime.collector.rounds_run >= 1, "a first stored round")
        assert client.get("/healthz").status_code == 200
        limit.fill()
        wait_for(lambda: runtime.collector.last_error is not None, "the write failure")
        response = client.get("/healthz")
        body = response.get_json()
        assert response.status_code == 503 and body["status"] == "error"
        assert body["collector"]["running"] is True
        assert body["collector"]["last_error"] == "OperationalError: database or disk is full"
        assert body["reason"] == "the collector reports: OperationalError: database or disk is full"
        with app.server.test_request_context():
            shown = str(overview_cb.startup_notice(None, runtime, None))
        assert "cannot store results" in shown and "database or disk is full" in shown
        limit.lift()
        wait_for(lambda: runtime.collector.last_error is None, "writes to work again")
        response = client.get("/healthz")
        assert response.status_code == 200 and response.get_json()["collector"]["last_error"] is None
    finally:
        app.close()


# -- a real small disk and a real read-only file system (root) -------------------------------------------

def _mount_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    if shutil.which("mount") is None:
        return "no mount command"
    return None


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MiB tmpfs mounted in tmp_path; unmounted afterwards."""
    reason = _mount_unavailable()
    if reason:
        pytest.skip(reason)
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mountpoint)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill_disk(folder: Path) -> Path:
    """Write a file until the file system has no space left; returns it (delete it to free the space)."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:  # unbuffered: nothing left to fail when it is closed
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def collector_on(folder: Path, tmp_path: Path) -> tuple[Collector, object]:
    """A fake-probe collector writing a database inside folder."""
    # The spool on another disk than the database: a full or read-only database disk then loses nothing.
    config = validate_config(make_config_dict(tmp_path, database_path=str(folder / "monitor.db"),
                                              spool_path=str(tmp_path / "spool.db")),
                             source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    return fake_collector(config, writer), writer


def test_a_real_full_disk_loses_no_round_with_the_spool_elsewhere(tiny_disk, tmp_path, caplog):
    collector, writer = collector_on(tiny_disk, tmp_path)
    try:
        assert collector.run_round().round_id is not None
        filler = fill_disk(tiny_disk)
        with caplog.at_level(logging.INFO, logger=SERVICE):
            before = run_until_refused(collector) + 1
            assert collector.run_round().round_id is None
            assert "full" in collector.last_error
            filler.unlink()
            assert collector.run_round().round_id is not None
        assert len(errors_logged(caplog)) == 1 and collector.last_error is None
        # The two refused rounds were spooled and sent before the new one.
        assert complete_rounds(writer.engine) == (before + 3, 0) and collector.rounds_lost == 0
        assert integrity(writer.engine) == "ok"
    finally:
        writer.engine.dispose()


def test_a_read_only_file_system_is_reported_and_survived(tiny_disk, tmp_path, caplog):
    collector, writer = collector_on(tiny_disk, tmp_path)
    try:
        assert collector.run_round().round_id is not None
        # Linux refuses to remount a file system read-only while files on it are open for writing, so the
        # pooled connections are closed first; the next write opens a new one on the read-only mount.
        writer.engine.dispose()
        subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
        with caplog.at_level(logging.INFO, logger=SERVICE):
            for _ in range(3):
                assert collector.run_round().round_id is None
            writer.engine.dispose()
            subprocess.run(["mount", "-o", "remount,rw", str(tiny_disk)], check=True)
            assert collector.run_round().round_id is not None
        errors = errors_logged(caplog)
        assert len(errors) == 1, errors
        # SQLite says "unable to open database file" when it cannot open the file read-write any more.
        assert errors[0].startswith("cannot store the round results: OperationalError: unable to open database "
                                    "file (check that the database folder exists, is writable and has space)")
        assert collector.rounds_lost == 0 and complete_rounds(writer.engine) == (5, 0)  # 3 spooled, then sent
        assert integrity(writer.engine) == "ok"
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tiny_disk)], check=False)
        writer.engine.dispose()


# -- pinger.py on a disk that refuses writes --------------------------------------------------------------

def test_pinger_once_exits_1_when_its_round_cannot_be_stored(config, tmp_path, monkeypatch, capsys):
    from collector import cli
    path = tmp_path / "config.json"
    path.write_text(json.dumps(dict(config.raw, servers=[dict(config.raw["servers"][0], probe="tcp", port=9)])))

    def full_writer(url):
        writer = open_writer(url)
        PageLimit(writer.engine).fill()
        for _ in range(500):  # use up the free space left in the last pages
            try:
                writer.write_round("filler", T0, T0, [])
            except OperationalError:
                return writer
        raise AssertionError("the database never filled up")

    monkeypatch.setattr(cli, "open_writer", full_writer)
    assert cli.main(["--config", str(path), "--once"]) == 1
    err = capsys.readouterr().err
    assert "round not stored: OperationalError: database or disk is full" in err


def test_pinger_says_why_it_cannot_open_a_database_on_a_full_disk(tiny_disk, tmp_path):
    config = make_config_dict(tmp_path, database_path=str(tiny_disk / "monitor.db"))
    (tmp_path / "config.json").write_text(json.dumps(config))
    open_writer(f"sqlite:///{tiny_disk / 'monitor.db'}").engine.dispose()
    fill_disk(tiny_disk)
    done = subprocess.run([sys.executable, str(REPO / "pinger.py"), "--config", str(tmp_path / "config.json")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    # SQLite says "disk is full" or "disk I/O error" depending on which of its files met the full disk first.
    expected = {f"cannot open the database sqlite:///{tiny_disk / 'monitor.db'}: OperationalError: {reason}"
                for reason in ("database or disk is full (free some disk space)",
                               "disk I/O error (check whether the disk is full, read-only or failing: df, dmesg)")}
    assert done.stderr.strip() in expected, done.stderr
