"""PostgreSQL specifics: the README's set-up lines and grants work as documented (a collector role that owns the
schema, a web role that reads and writes only alerts and logs), reader sessions are read-only, opening an alert
is atomic across processes, URLs without a driver name use psycopg, and the test cluster itself behaves (CI fails
instead of skipping)."""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

from collector import cli
from settings import validate_config
from runtime.stale import StaleWatcher
from storage import make_engine, open_writer
from storage.alertstore import apply_events
from storage.retention import prune
from storage.schema import alerts, logs, ping_results, rounds
from common.timeutil import utcnow
from storage.writer import Writer
from tests.conftest import give_up_on_postgres, make_config_dict
from tests.pg import PgCluster
from tests.seeding import seed_history

ROOT = Path(__file__).resolve().parents[2]
DOC_DATABASE = "latency_monitor"
DOC_ROLES = ("monitor_collector", "monitor_web")


def setup_text() -> str:
    """The README's PostgreSQL set-up section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## PostgreSQL", 1)[1].split("\n## ", 1)[0]


def sql_blocks(markdown: str) -> list[list[str]]:
    """The statements of each ```sql block, in order."""
    blocks = re.findall(r"```sql\n(.*?)```", markdown, flags=re.DOTALL)
    return [[s.strip() for s in block.split(";\n") if s.strip().rstrip(";")] for block in blocks]


def on_database(cluster: PgCluster, database: str, statements: list[str]) -> None:
    """Run statements as the superuser in one database (as `sudo -u postgres psql -d database` would)."""
    import psycopg
    with psycopg.connect(dbname=database, user="postgres", host=str(cluster.socket_dir), port=cluster.port,
                         autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.fixture
def documented_setup(pg_cluster, tmp_path):
    """The documented database and roles, the schema made by `pinger.py --init-db` as the collector, then the grants;
    yields {role: URL}. Everything is dropped afterwards (roles are cluster-wide)."""
    create, grants = sql_blocks(setup_text())[:2]
    pg_cluster.execute(*create)
    urls = {role: pg_cluster.url(DOC_DATABASE, user=role) for role in DOC_ROLES}
    try:
        config_path = tmp_path / "collector.json"
        config_path.write_text(__import__("json").dumps(make_config_dict(tmp_path, database_url=urls[DOC_ROLES[0]])))
        assert cli.main(["--config", str(config_path), "--init-db"]) == 0
        on_database(pg_cluster, DOC_DATABASE, grants)
        yield urls
    finally:
        pg_cluster.drop_database(DOC_DATABASE)
        pg_cluster.execute(*(f"DROP ROLE IF EXISTS {role}" for role in DOC_ROLES))


def test_the_documented_sql_has_the_set_up_and_the_grants():
    create, grants = sql_blocks(setup_text())[:2]
    assert any(s.startswith("CREATE DATABASE latency_monitor OWNER monitor_collector") for s in create)
    assert "GRANT INSERT, UPDATE ON alerts TO monitor_web" in grants


def test_the_collector_role_writes_rounds_alerts_logs_and_prunes(documented_setup, tmp_path):
    url = documented_setup["monitor_collector"]
    config = validate_config(make_config_dict(tmp_path, database_url=url), source=str(tmp_path / "c.json"))
    writer = open_writer(url)
    end = utcnow().replace(microsecond=0)
    seed_history(writer, config, end, rounds=20, interval_seconds=3600)
    writer.write_logs([{"timestamp": end, "level": "INFO", "message": "round done", "module": "collector"}])
    event = SimpleNamespace(server_id="127.0.0.1", partner="p", country="c", kind="latency", severity="warning",
                            started_at=end, at=end, peak=1.0, message="slow", collector="lab", action="open")
    assert len(apply_events(writer, [event])) == 1
    deleted = prune(writer, {"raw_days": 0.5}, end)
    assert deleted["ping_results"] == 4 * 7 and deleted["rounds"] == 7  # rounds more than 12 h old
    writer.engine.dispose()


def test_the_web_role_reads_and_writes_only_alerts_and_logs(documented_setup, tmp_path):
    collector_writer = open_writer(documented_setup["monitor_collector"])
    web_url = documented_setup["monitor_web"]
    config = validate_config(make_config_dict(tmp_path, database_url=web_url), source=str(tmp_path / "w.json"))
    end = utcnow().replace(microsecond=0)
    seed_history(collector_writer, config, end, rounds=5, interval_seconds=60)
    collector_writer.engine.dispose()

    from app import create_app  # what `app.py --no-collector` builds, on the web role
    app = create_app(config, start_collector=False)
    runtime = app.server.extensions["latency_monitor"]
    try:
        body = app.server.test_client().get("/api/servers/status").get_json()
        assert [s["status"] for s in body["servers"]] == ["up"] * 4
        # The stale watcher runs in the web app: it opens alerts and raises their peak (INSERT and UPDATE).
        later = end + timedelta(seconds=config.stale_after_seconds + 60)
        watcher = StaleWatcher(config, runtime.writer, runtime.read_engine, now=lambda: later)
        assert [e.action for e in watcher.check_once()] == ["open"] * 4
        watcher.now = lambda: later + timedelta(minutes=5)
        watcher.check_once()
        runtime.writer.write_logs([{"timestamp": later, "level": "INFO", "message": "web", "module": "app"}])
        with runtime.read_engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(alerts)).scalar_one() == 4
            assert conn.execute(select(func.max(alerts.c.peak))).scalar_one() > config.stale_after_seconds + 300
            assert conn.execute(select(func.count()).select_from(logs)).scalar_one() == 1
        # ... and nothing else: measurements and schema belong to the collector.
        for statement in ("DELETE FROM ping_compact", "INSERT INTO rounds (collector, started_at, finished_at, "
                          "duration_ms, servers, failures) VALUES ('x', now(), now(), 0, 0, 0)",
                          "UPDATE ping_rollups SET rounds = 0", "CREATE TABLE intruder (a integer)"):
            with runtime.writer.engine.connect() as conn, pytest.raises(ProgrammingError, match="permission denied"):
                conn.execute(text(statement))
    finally:
        app.close()


def test_a_read_engine_session_refuses_every_write(pg_database):
    writer = open_writer(pg_database)
    reader = make_engine(pg_database, readonly=True)
    try:
        with reader.connect() as conn:
            assert conn.execute(text("SHOW default_transaction_read_only")).scalar_one() == "on"
            for statement in ("INSERT INTO logs (timestamp, level, message) VALUES (now(), 'INFO', 'x')",
                              "DELETE FROM alerts", "CREATE TABLE x (a integer)"):
                with pytest.raises(DBAPIError, match="read-only transaction"):
                    conn.execute(text(statement))
                conn.rollback()
        with writer.engine.connect() as conn:  # the writer's sessions are not read-only
            assert conn.execute(text("SHOW default_transaction_read_only")).scalar_one() == "off"
            assert conn.execute(text("SHOW application_name")).scalar_one() == "latency-monitor-writer"
    finally:
        reader.dispose()
        writer.engine.dispose()


class HeldCommitWriter(Writer):
    """A Writer whose transactions wait (up to a second) for the other thread's before committing, so two
    processes' alert openings overlap as closely as they can."""

    def __init__(self, engine, barrier: threading.Barrier):
        super().__init__(engine)
        self.barrier = barrier

    @contextmanager
    def transaction(self):
        with self.engine.begin() as conn:
            yield conn
            try:
                self.barrier.wait(timeout=1)  # with the alert lock held the other one never arrives: go on
            except threading.BrokenBarrierError:
                pass


def test_two_processes_opening_the_same_alert_store_it_once(pg_database):
    open_writer(pg_database).engine.dispose()
    engines = [make_engine(pg_database) for _ in range(2)]
    barrier = threading.Barrier(2)
    writers = [HeldCommitWriter(e, barrier) for e in engines]
    at = utcnow()
    changed = []

    def open_it(writer):
        event = SimpleNamespace(server_id="127.0.0.1", partner="p", country="c", kind="stale", severity="warning",
                                started_at=at, at=at, peak=1.0, message="stale", collector="web", action="open")
        changed.append(len(apply_events(writer, [event])))

    threads = [threading.Thread(target=open_it, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with engines[0].connect() as conn:
        assert conn.execute(select(func.count()).select_from(alerts)).scalar_one() == 1
    assert sorted(changed) == [0, 1]  # one opened it (and notifies), the other found it open
    for engine in engines:
        engine.dispose()


def test_a_url_without_a_driver_name_uses_psycopg(pg_cluster, pg_database):
    bare = pg_database.replace("postgresql+psycopg://", "postgresql://")
    engine = make_engine(bare)
    try:
        assert engine.dialect.driver == "psycopg"
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(rounds)).scalar_one() == 0
    finally:
        engine.dispose()


def test_the_cluster_listens_on_its_port_on_loopback_and_keeps_utc(pg_cluster, pg_database):
    name = pg_database.rsplit("/", 1)[1].split("?")[0]
    engine = make_engine(pg_cluster.tcp_url(name))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT inet_server_addr()::text")).scalar_one().startswith("127.0.0.1")
            # The server's zone is deliberately not UTC; stored times are naive UTC either way.
            assert conn.execute(text("SHOW TimeZone")).scalar_one() == "Africa/Nairobi"
        writer = Writer(engine)
        at = utcnow().replace(microsecond=0)
        writer.write_round("lab", at, at, [])
        with engine.connect() as conn:
            assert conn.execute(select(rounds.c.started_at)).scalar_one() == at
    finally:
        engine.dispose()


def test_postgres_tests_fail_in_ci_and_skip_elsewhere():
    with pytest.raises(pytest.fail.Exception, match="must run in CI, but: no initdb"):
        give_up_on_postgres("no initdb", ci=True)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL test skipped: no initdb"):
        give_up_on_postgres("no initdb", ci=False)


def test_each_test_gets_a_fresh_database_with_the_schema(pg_cluster, pg_database):
    engine = make_engine(pg_database)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version FROM schema_info")).scalar_one() > 0
            assert conn.execute(select(func.count()).select_from(ping_results)).scalar_one() == 0
            assert conn.execute(text("SELECT datistemplate FROM pg_database WHERE datname = :t"),
                                {"t": pg_cluster.template}).scalar_one() is True
    finally:
        engine.dispose()
