"""SQLITE_PROTOCOL ("locking protocol") no longer loses a write or fails a read.

SQLite returns SQLITE_PROTOCOL when a connection cannot take a WAL read-mark lock for about ten seconds of
back-off (about 100 tries); busy_timeout does not apply to it. The test makes that happen on purpose: a
helper process holds the read-mark locks of the -shm file for longer than SQLite waits, then lets go. A
plain sqlite3 connection fails with SQLITE_PROTOCOL; the project's writer and read-only engine retry and
succeed, and the round is stored exactly once.
"""
from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta

from sqlalchemy import text

from storage import open_writer
from storage.engine import make_engine

# Longer than SQLite's own ~10 s of retries, so the first try of every connection does fail.
HOLD_SECONDS = 11.5
# WAL_READ_LOCK(0..4) are bytes 123..127 of the -shm file (the lock area starts at 120; read locks at 3..7).
HOLD_READ_LOCKS = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 5, 123, os.SEEK_SET)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""
T0 = datetime(2024, 5, 1, 10, 0)


def hold_read_locks(shm: str) -> subprocess.Popen:
    """Start the helper and wait until it holds the locks."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD_READ_LOCKS, shm, str(HOLD_SECONDS)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def run_all(**jobs) -> dict:
    """Run the jobs side by side; each result is its return value or the exception it raised."""
    results: dict = {}

    def run(name, job):
        try:
            results[name] = job()
        except Exception as exc:  # noqa: BLE001 - recorded and asserted on below
            results[name] = exc

    threads = [threading.Thread(target=run, args=item) for item in jobs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return results


def test_a_lost_wal_lock_race_is_retried_not_lost(tmp_path, caplog):
    path = tmp_path / "protocol.db"
    writer = open_writer(f"sqlite:///{path}")
    reader = make_engine(f"sqlite:///{path}", readonly=True)
    writer.write_round("lab", T0, T0, [])  # the writer's pooled connection keeps the -wal and -shm in place
    plain = sqlite3.connect(path, timeout=30, check_same_thread=False)  # what the engines were: busy_timeout only

    def plain_read():
        return plain.execute("SELECT COUNT(*) FROM rounds").fetchone()[0]

    def project_read():
        with reader.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM rounds")).scalar()

    def project_write():
        return writer.write_round("lab", T0 + timedelta(minutes=1), T0 + timedelta(minutes=1), [])

    helper = hold_read_locks(f"{path}-shm")
    try:
        with caplog.at_level(logging.WARNING, logger="storage.engine"):
            results = run_all(plain=plain_read, read=project_read, write=project_write)
    finally:
        helper.kill()
        helper.wait()
    assert isinstance(results["plain"], sqlite3.OperationalError), results["plain"]
    assert results["plain"].sqlite_errorname == "SQLITE_PROTOCOL"  # the condition really happened
    assert results["write"] == 2 and results["read"] in (1, 2), results
    with writer.engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM rounds ORDER BY id")).scalars().all() == [1, 2]
    assert any("locking protocol; retrying (1 of 3)" in r.getMessage() for r in caplog.records)
    plain.close()
    reader.dispose()
    writer.engine.dispose()
