"""A throwaway PostgreSQL cluster for the test session, from Debian's postgresql binaries.

PgCluster runs initdb and pg_ctl into a temporary folder (data, log and unix socket all inside it; in /dev/shm
where there is one, see cluster_parent_dir), on a free port, as the `postgres` system user when the session runs as
root (the server refuses to run as root). Each test gets its own database, copied from a template that already
holds the schema (CREATE DATABASE ... TEMPLATE, ~10 ms in tmpfs), and dropped after it. The cluster is stopped and
its folder removed at the end.
"""
from __future__ import annotations

import itertools
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import URL

DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")  # Debian's layout: /usr/lib/postgresql/<major>/bin
SERVER_USER = "postgres"  # the system user Debian's postgresql package creates
SUPERUSER = "postgres"    # the cluster's bootstrap role
TEMPLATE = "lm_template"  # holds the current schema; every test database is a copy of it
START_TIMEOUT_SECONDS = 60
PREPARED_DATABASES = 3  # test databases made ahead of time
# Durability is worthless for a database that lives for one test; these make each COMMIT and CREATE DATABASE cheap.
# The server's time zone is not UTC on purpose: stored times are naive UTC, and no query may depend on the zone.
SERVER_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "max_connections": "300",
                   "shared_buffers": "64MB", "max_wal_size": "96MB", "min_wal_size": "32MB",
                   "log_min_messages": "warning", "timezone": "Africa/Nairobi"}


def candidate_bin_dirs() -> list[Path]:
    """Where to look for the server programs: $PG_BIN_DIR, then Debian's folders, newest major version first."""
    found = [Path(os.environ["PG_BIN_DIR"])] if os.environ.get("PG_BIN_DIR") else []
    versions = [d for d in DEBIAN_PG_ROOT.glob("*/bin") if d.parent.name.isdigit()] if DEBIAN_PG_ROOT.is_dir() else []
    return found + sorted(versions, key=lambda d: int(d.parent.name), reverse=True)


def pg_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres, or None when PostgreSQL is not installed."""
    for folder in candidate_bin_dirs():
        if all((folder / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def why_unavailable() -> str | None:
    """Why no cluster can be started here (a sentence), or None when it can."""
    if pg_bin_dir() is None:
        return (f"no initdb/pg_ctl/postgres in $PG_BIN_DIR or {DEBIAN_PG_ROOT}/<version>/bin "
                "(apt-get install postgresql)")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and there is no {SERVER_USER!r} system user to run the server as"
        if shutil.which("runuser") is None:
            return "running as root and runuser (util-linux) is missing"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -r requirements.txt)"
    return None


def cluster_parent_dir() -> str | None:
    """Where the cluster's folder goes: $LM_PG_DIR, else /dev/shm (memory), else the system's temporary folder."""
    # On this project's machines a CREATE DATABASE (8 MB of files) takes ~200 ms on the ext4 disk even with
    # fsync off, and ~10 ms in tmpfs: the difference between a PostgreSQL test costing 0.3 s and 0.05 s.
    if os.environ.get("LM_PG_DIR"):
        return os.environ["LM_PG_DIR"]
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 512 * 1024 * 1024:
        return str(shm)
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One running PostgreSQL server in a temporary folder; databases are made and dropped on it."""

    def __init__(self, bin_dir: Path | None = None):
        self.bin_dir = bin_dir or pg_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="lm-pg-", dir=cluster_parent_dir()))
        self.data = self.root / "data"
        self.socket_dir = self.root / "run"
        self.log_file = self.root / "server.log"
        self.port = free_port()
        self._names = itertools.count(1)
        self._as_server_user = os.geteuid() == 0
        self.template: str | None = None
        # One thread makes the next tests' databases (and drops used ones) while tests run, so a test waits for
        # CREATE DATABASE (30-300 ms on a busy 2-core machine) only when several fast tests come in a row.
        self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-databases")
        self._ready: deque[Future] = deque()

    def _run(self, *args: str) -> None:
        """Run a PostgreSQL program as the server's user; its output goes into the exception on failure."""
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_server_user:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS)
        if done.returncode != 0:
            log = self.log_file.read_text(errors="replace")[-3000:] if self.log_file.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}")

    def start(self) -> "PgCluster":
        """initdb, then pg_ctl start on the free port with the socket in the folder; waits until it accepts."""
        self.socket_dir.mkdir()
        if self._as_server_user:
            server = pwd.getpwnam(SERVER_USER)
            for path in (self.root, self.socket_dir):
                os.chown(path, server.pw_uid, server.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C",
                  "--no-sync", "--no-instructions")
        options = " ".join([f"-p {self.port}", f"-k {self.socket_dir}", "-c listen_addresses=127.0.0.1",
                            *(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())])
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_file), "-o", options, "-w",
                  "-t", str(START_TIMEOUT_SECONDS), "start")
        return self

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are ended) and remove its folder."""
        self._background.shutdown(wait=True, cancel_futures=True)
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        """The SQLAlchemy URL of a database on this cluster, through the unix socket."""
        return URL.create("postgresql+psycopg", username=user, password=password, database=database,
                          query={"host": str(self.socket_dir), "port": str(self.port)}
                          ).render_as_string(hide_password=False)

    def tcp_url(self, database: str = "postgres", user: str = SUPERUSER, password: str | None = None) -> str:
        """The SQLAlchemy URL of a database on this cluster over TCP on 127.0.0.1."""
        return URL.create("postgresql+psycopg", username=user, password=password, host="127.0.0.1",
                          port=self.port, database=database).render_as_string(hide_password=False)

    def admin(self):
        """An autocommit psycopg connection to the maintenance database, as the superuser."""
        import psycopg
        return psycopg.connect(dbname="postgres", user=SUPERUSER, host=str(self.socket_dir), port=self.port,
                               autocommit=True)

    def execute(self, *statements: str) -> None:
        """Run SQL statements on the maintenance database as the superuser (outside any transaction)."""
        with self.admin() as conn:
            for statement in statements:
                conn.execute(statement)

    def create_database(self, template: str | None = None, name: str | None = None) -> str:
        """CREATE DATABASE (optionally copied from a template); returns its name."""
        name = name or f"lm_test_{os.getpid()}_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        """DROP DATABASE, ending any session still connected to it (an engine a test forgot to dispose)."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def make_template(self, init_schema) -> str:
        """Create TEMPLATE with init_schema(url) applied to it, then mark it as a template; returns its name."""
        self.create_database(name=TEMPLATE)
        init_schema(self.url(TEMPLATE))
        # A template must have no open sessions when it is copied; init_schema disposes its engine.
        self.execute(f'ALTER DATABASE "{TEMPLATE}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
        self.template = TEMPLATE
        return TEMPLATE

    def take_database(self) -> str:
        """A new copy of the template for one test; the next few are made in the background meanwhile."""
        if not self._ready:
            self._ready.append(self._background.submit(self.create_database, self.template))
        ready = self._ready.popleft()
        while len(self._ready) < PREPARED_DATABASES:
            self._ready.append(self._background.submit(self.create_database, self.template))
        return ready.result()

    def give_back(self, name: str) -> None:
        """Drop a test's database (in the background, after the next one is made)."""
        self._background.submit(self.drop_database, name)
