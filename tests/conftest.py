"""Shared fixtures: a config on a temporary database, a writer, a read-only engine, seeded history, the app
and its client, and logging into the database.

Every test that uses the database (its fixtures reach `writer`: engine, seeded, app, client, db_logging ...) runs
twice, on SQLite ([sqlite]) and on PostgreSQL ([postgres], marked `postgres`), unless it or its module is marked
`sqlite_only`. The PostgreSQL server is a throwaway cluster started once per session (tests/pg.py); each test gets
its own database, copied from a template holding the schema. Where PostgreSQL is missing its tests skip and say
why, except under CI=true, where they fail.
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

from collector import logsetup
from settings import Config, validate_config
from collector.logsetup import configure_logging
from storage import open_writer
from storage.engine import make_engine
from common.timeutil import utcnow
from tests.pg import PgCluster, why_unavailable
from tests.seeding import seed_history
from tests.helpers.webhook import Receiver

BACKENDS = ("sqlite", "postgres")
# For a test that parametrises over the backends itself: @pytest.mark.parametrize("backend", BACKEND_PARAMS, ...).
BACKEND_PARAMS = [pytest.param(b, marks=[pytest.mark.postgres] if b == "postgres" else []) for b in BACKENDS]
# The fixtures that put a test on the database: a test whose fixtures reach one of them runs on every backend.
DATABASE_FIXTURES = ("writer", "empty_database_url")

SERVERS = [
    {"partner": "Safari Voice", "country": "Kenya", "ip": "127.0.0.1", "dn_ext": "sip.safari.example"},
    {"partner": "Safari Voice", "country": "Kenya", "ip": "127.0.0.2", "dn_ext": "sip2.safari.example"},
    {"partner": "Lagos Link", "country": "Nigeria", "ip": "127.0.0.3", "dn_ext": "trunk.lagos.example"},
    {"partner": "Nile Telecom", "country": "Egypt", "ip": "127.0.0.4", "dn_ext": "sbc.nile.example"},
]


def make_config_dict(tmp_path, **overrides) -> dict:
    """A valid seed-shaped config whose database lives in tmp_path."""
    data = {
        "database_path": str(tmp_path / "test.db"),
        "servers": [dict(s) for s in SERVERS],
        "ping_count": 4,
        "ping_timeout": 1,
        "windows_params": {"os": "windows", "count_param": "-n", "timeout_param": "-w"},
        "unix_params": {"os": "unix", "count_param": "-c", "timeout_param": "-W"},
        "latency_thresholds": {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500},
        "interval_seconds": 60,
        "stale_after_seconds": 300,
        "log_file": None,
    }
    data.update(overrides)
    return data


def pytest_configure(config):
    """Register the backend markers."""
    config.addinivalue_line("markers", "postgres: runs on the session's throwaway PostgreSQL server")
    config.addinivalue_line("markers", "timed: asserts times to a few ms (SIP response times, netem RTTs); the test "
                                       "command runs these serially, after the rest")
    config.addinivalue_line("markers", "sqlite_only(reason): a database test that only makes sense on SQLite "
                                       "(file modes, pragmas, WAL locking); not repeated on PostgreSQL")


def pytest_generate_tests(metafunc):
    """Run each database test once per backend (see the module docstring)."""
    if "backend" not in metafunc.fixturenames or not any(f in metafunc.fixturenames for f in DATABASE_FIXTURES):
        return
    if any(True for _ in metafunc.definition.iter_markers("sqlite_only")):
        return
    if any("backend" in _argnames(m) for m in metafunc.definition.iter_markers("parametrize")):
        return  # the test chose its backends itself
    metafunc.parametrize("backend", BACKEND_PARAMS, indirect=True)


def _argnames(mark) -> list[str]:
    """The argument names of a parametrize mark ("a, b" or ["a", "b"])."""
    names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
    return [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)


def in_ci() -> bool:
    """True under CI (CI=true), where a PostgreSQL test must fail rather than skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def give_up_on_postgres(reason: str, ci: bool | None = None) -> None:
    """Skip a PostgreSQL test, saying why; under CI fail it instead, so a missing server is never a green run."""
    if in_ci() if ci is None else ci:
        pytest.fail(f"PostgreSQL tests must run in CI, but: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL test skipped: {reason}")


def init_template_schema(url: str) -> None:
    """Create the current schema at url through the project's own path (the template every test copies)."""
    open_writer(url).engine.dispose()


@pytest.fixture(scope="session")
def pg_cluster():
    """The session's throwaway PostgreSQL cluster (started on first use, stopped at the end)."""
    reason = why_unavailable()
    if reason is not None:
        give_up_on_postgres(reason)
    cluster = PgCluster().start()
    try:
        cluster.make_template(init_template_schema)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def backend(request) -> str:
    """The database backend of this test: 'sqlite' (the default) or 'postgres' (see pytest_generate_tests)."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def pg_database(pg_cluster):
    """A fresh PostgreSQL database holding the current schema, dropped after the test; yields its URL."""
    name = pg_cluster.take_database()
    yield pg_cluster.url(name)
    pg_cluster.give_back(name)


@pytest.fixture
def empty_database_url(backend, tmp_path, request) -> str:
    """The URL of a new database of the test's backend without any table (for schema creation and upgrades)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    cluster = request.getfixturevalue("pg_cluster")
    name = cluster.create_database()
    request.addfinalizer(lambda: cluster.drop_database(name))
    return cluster.url(name)


@pytest.fixture
def database_overrides(backend, request) -> dict:
    """The config keys that put this test's database on its backend ({} for SQLite's database_path)."""
    if backend == "postgres":
        return {"database_url": request.getfixturevalue("pg_database")}
    if backend != "sqlite":
        raise ValueError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    return {}


@pytest.fixture
def config_dict(tmp_path, database_overrides) -> dict:
    """A valid config dict on a temporary database of the test's backend."""
    return make_config_dict(tmp_path, **database_overrides)


@pytest.fixture
def config(config_dict, tmp_path) -> Config:
    """The validated Config of config_dict (relative paths resolve against tmp_path)."""
    return validate_config(config_dict, source=str(tmp_path / "config.json"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """An empty SQLite database at the current schema, made once per session through open_writer."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    made = open_writer(f"sqlite:///{path}")
    made.engine.dispose()  # the last connection closing checkpoints the WAL into the file and removes it
    return path


@pytest.fixture
def writer(config, sqlite_template):
    """The single writer on the temporary database, schema created."""
    # A copy of the session's template instead of creating the schema again: 2 ms instead of 17 ms, about 15 s
    # of the suite. The writer then finds the schema current and writes nothing; the tests of creating and
    # upgrading a schema (tests/storage/test_migrations.py ...) open their own files.
    path = Path(config.database_path or "")
    if not config.database_url and path.is_absolute() and not path.exists():
        shutil.copyfile(sqlite_template, path)
    w = open_writer(config.database_target())
    yield w
    w.engine.dispose()


@pytest.fixture
def engine(config, writer):
    """A read-only engine on the test database."""
    eng = make_engine(config.database_target(), readonly=True)
    yield eng
    eng.dispose()


@pytest.fixture
def db_logging(writer):
    """configure_logging with the database handler; removes its handlers afterwards."""
    root = logging.getLogger()
    level = root.level
    configure_logging(writer, "lab-1", None)
    yield
    for handler in list(logsetup._installed):
        root.removeHandler(handler)
        handler.close()
    logsetup._installed.clear()
    root.setLevel(level)


@pytest.fixture
def seeded(config, writer):
    """24 h of 5-minute rounds for every server, ending now; server k answers in 20 + 30k ms."""
    end = utcnow().replace(microsecond=0)
    times = seed_history(writer, config, end, rounds=288, interval_seconds=300)
    return {"config": config, "writer": writer, "times": times, "end": end}


@pytest.fixture
def app(config, writer):
    """The Dash app on the temporary database, without the collector thread."""
    from app import create_app
    dash_app = create_app(config, start_collector=False, writer=writer)  # the process's one writer
    yield dash_app
    dash_app.close()


@pytest.fixture
def client(app):
    """A Flask test client of the app's server."""
    return app.server.test_client()


@pytest.fixture
def receiver():
    """A real webhook endpoint on 127.0.0.1 (ephemeral port) answering 200; see tests/helpers/webhook.py's Receiver."""
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def fresh_data_stamps(monkeypatch):
    """Read routes see a change at once in tests (the app re-reads its data stamp once a second; tests write and
    read again within milliseconds). tests/api/test_api_cache.py checks the one-second behaviour itself."""
    import api.cache
    monkeypatch.setattr(api.cache, "STAMP_SECONDS", 0.0)


# Modules (paths under tests/) and single tests (module path::name prefix) that take seconds each on a quiet
# machine, measured with --durations; the fast subset (README: `-m "not slow and not browser and not postgres"`)
# leaves them out.
SLOW = (
    "app/test_app_main.py", "app/test_reliability_fuzz.py", "app/test_reliability_load.py",
    "app/test_sample_config.py", "collector/test_cli.py", "collector/test_probes_netns.py",
    "collector/test_reliability_kill.py", "collector/test_reliability_probes.py",
    "collector/test_reliability_supervisor.py", "collector/test_reliability_writes.py", "collector/test_reload.py",
    "collector/test_sip_probe.py", "security/test_security_process.py",
    "api/test_api_openapi.py::test_odd_query_strings_never_break_a_route",
    "storage/test_reliability_sqlite.py::test_a_lost_wal_lock_race_is_retried_not_lost",
    # real SIPp and mtr processes, the CLI as a subprocess, and the one-second data stamp on a real clock
    "collector/test_sip_e2e.py", "app/test_pathsnap.py",
    "collector/test_sip_wiring.py::test_the_cli_exits_2_on_a_bad_sip_setting_and_writes_nothing",
    "api/test_api_cache.py::test_the_data_stamp_is_read_once_a_second_and_a_new_round_shows_after_it",
    "api/test_api_cache.py::test_the_status_follows_the_clock_within_seconds",
)
TESTS = Path(__file__).resolve().parent
# Marked `timed`: SIP response times checked to 3 ms against real Kamailio/SIPp, and every network-namespace test
# (RTTs through netem checked to 3 ms). The README's test command runs them, with the browser tests, in its second,
# serial pass: on a 2-core machine another pytest worker's load delayed a netem reply by 8 ms. Under a plain
# `-n 2 --dist loadgroup` they and the browser tests still keep to one worker (xdist group "timed").
TIMED_MODULES = ("collector/test_sip_probe.py", "collector/test_sip_e2e.py")


def _uses_netlab(module) -> bool:
    """Whether a test module builds network namespaces through tests/netlab.py."""
    return any(getattr(value, "__module__", None) == "tests.netlab" or getattr(value, "__name__", None) == "tests.netlab"
               for value in vars(module).values())


def pytest_collection_modifyitems(config, items):
    """Mark by where a test lives and what it uses: browser (tests/browser/), netns (tests/netlab.py),
    postgres (a postgres fixture or module), slow (SLOW)."""
    for item in items:
        where = Path(str(item.fspath)).resolve()
        if TESTS not in where.parents:
            continue
        relative = where.relative_to(TESTS).as_posix()
        node = f"{relative}::{item.name}"
        if relative.startswith("browser/"):
            item.add_marker(pytest.mark.browser)
        netns = getattr(item, "module", None) is not None and _uses_netlab(item.module)
        if netns:
            item.add_marker(pytest.mark.netns)
        if relative in TIMED_MODULES or netns:
            item.add_marker(pytest.mark.timed)
        if relative.startswith("browser/") or relative in TIMED_MODULES or netns:
            item.add_marker(pytest.mark.xdist_group("timed"))
        if "postgres" in relative or any(name.startswith(("postgres", "pg_")) for name in item.fixturenames):
            item.add_marker(pytest.mark.postgres)
        if any(node == entry or node.startswith(entry if "::" in entry else entry + "::") for entry in SLOW):
            item.add_marker(pytest.mark.slow)
