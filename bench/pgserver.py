"""A PostgreSQL server for benchmarks that outlives one process: the big generated history stays between runs.

    python -m bench.pgserver start [--dir /work/pgbench-data]   # initdb when new, start, print the URL
    python -m bench.pgserver url   [--dir ...]                  # the URL of a database on it
    python -m bench.pgserver stop  [--dir ...]

Built on tests/pg.py's PgCluster (Debian's initdb/pg_ctl, run as the postgres user when root) but in a fixed
folder on disk, not removed on stop: 8.64 M rows of history are ~4 GB, too much for /dev/shm and too slow to
regenerate for each run. Settings are a small production server's (fsync on, shared_buffers 256 MB), not the
test cluster's (fsync off): query and commit figures must mean what they would on a real host.
"""
from __future__ import annotations

import argparse
import os
import pwd
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.pg import SERVER_USER, PgCluster

DEFAULT_DIR = Path(os.environ.get("LM_PGBENCH_DIR", "/work/pgbench-data"))
DATABASE = "lm_bench"
PORT = 54329
# A small dedicated host's settings: durable commits, caches sized for a few GB of history on a 2-core box.
BENCH_SETTINGS = {"shared_buffers": "256MB", "effective_cache_size": "4GB", "work_mem": "32MB",
                  "maintenance_work_mem": "256MB", "max_wal_size": "2GB", "max_connections": "300",
                  "log_min_messages": "warning", "timezone": "UTC"}


class BenchCluster(PgCluster):
    """PgCluster in a fixed folder and port, kept on stop (data survives), started again when already made."""

    def __init__(self, root: Path = DEFAULT_DIR, port: int = PORT):
        super().__init__()
        os.rmdir(self.root)  # the temporary folder PgCluster made; this cluster lives in root instead
        self.root = Path(root)
        self.data = self.root / "data"
        self.socket_dir = self.root / "run"
        self.log_file = self.root / "server.log"
        self.port = port

    def running(self) -> bool:
        """Whether the server of this folder is up."""
        return (self.data / "postmaster.pid").exists()

    def start(self) -> "BenchCluster":
        """initdb when the folder is new, then pg_ctl start with BENCH_SETTINGS (a no-op when running)."""
        if self.running():
            return self
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self._as_server_user:
            server = pwd.getpwnam(SERVER_USER)
            for path in (self.root, self.socket_dir):
                os.chown(path, server.pw_uid, server.pw_gid)
        if not (self.data / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C",
                      "--no-instructions")
        options = " ".join([f"-p {self.port}", f"-k {self.socket_dir}", "-c listen_addresses=127.0.0.1",
                            *(f"-c {k}={v}" for k, v in BENCH_SETTINGS.items())])
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_file), "-o", options, "-w", "-t", "120", "start")
        return self

    def stop(self) -> None:
        """Stop the server; the folder and its data stay."""
        self._background.shutdown(wait=True, cancel_futures=True)
        if self.running():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def ensure_database(self, name: str = DATABASE) -> str:
        """CREATE DATABASE name unless it exists; returns its URL."""
        with self.admin() as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=("start", "url", "stop"))
    p.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    p.add_argument("--database", default=DATABASE)
    a = p.parse_args(argv)
    cluster = BenchCluster(a.dir)
    if a.action == "stop":
        cluster.stop()
        return 0
    if a.action == "start":
        cluster.start()
    print(cluster.ensure_database(a.database))
    return 0


if __name__ == "__main__":
    sys.exit(main())
