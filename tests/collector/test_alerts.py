"""AlertManager end to end: rounds in, rows in the alerts table, log lines (and log table rows), webhooks out."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from collector.alertmanager import AlertManager, control_servers
from collector.alerts import AlertEngine, OpenAlert, Subject, make_event, rules_from_config
from settings import validate_config
from collector.logsetup import DatabaseHandler
from collector.notify import Notifier, apprise_channel
from queries.alerts import list_alerts
from queries.filters import Filters, QueryError
from queries.logs import recent_logs
from storage import open_writer
from storage.alertstore import apply_events, load_open
from storage.schema import alerts
from tests.conftest import make_config_dict
from tests.helpers.alerts import BAD_PROBES, GOOD_PROBE, measured, replies, silent

T0 = datetime(2026, 3, 1, 12, 0, 0)


def alert_rows(writer) -> list[dict]:
    """Every row of the alerts table, in id order."""
    with writer.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(alerts).order_by(alerts.c.id))]


def alert_lines(caplog) -> list[tuple[int, str]]:
    """(level, message) of the alert log lines captured so far."""
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "collector.alerts"]


def feed(manager: AlertManager, config, plan, server: int = 0, start: int = 0, controls=None) -> list:
    """Run one round per probe in plan for one server (the others answer well); returns the stored events."""
    events = []
    for i, probe in enumerate(plan, start=start):
        round_ = [(s, measured(config, probe if k == server else GOOD_PROBE)) for k, s in enumerate(config.servers)]
        events += manager.on_round(round_, T0 + timedelta(minutes=i), controls=controls)
    return events



@pytest.fixture
def notifier(receiver):
    """A started notifier delivering to the receiver."""
    n = Notifier([apprise_channel(receiver.url())], public_url="http://noc.example", backoff_seconds=0.05).start()
    yield n
    n.stop(timeout=2)


@pytest.fixture
def log_table(writer):
    """Alert log lines also go to the logs table, as in the running collector."""
    handler = DatabaseHandler(writer, "test")
    logger = logging.getLogger("collector.alerts")
    logger.addHandler(handler)
    yield lambda: recent_logs(writer.engine, limit=100, module="collector.alerts")
    logger.removeHandler(handler)


@pytest.fixture
def manager(config, writer, notifier, caplog):
    """An AlertManager on the test database with a webhook notifier, logging at INFO."""
    caplog.set_level(logging.INFO, logger="collector.alerts")
    return AlertManager(config, writer, notifier=notifier, name="test")


# -- one condition, its whole life -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(BAD_PROBES))
def test_one_alert_and_one_resolution_everywhere(manager, config, writer, notifier, receiver, log_table, caplog,
                                                 name):
    probe, kind, severity = BAD_PROBES[name]
    server = config.servers[0]
    feed(manager, config, [probe, probe, probe])
    (row,) = alert_rows(writer)
    assert (row["kind"], row["severity"], row["state"], row["server_id"]) == (kind, severity, "open", server.id)
    feed(manager, config, [GOOD_PROBE], start=3)
    assert alert_rows(writer)[0]["state"] == "open"
    feed(manager, config, [GOOD_PROBE], start=4)
    (row,) = alert_rows(writer)
    assert (row["state"], row["resolved_at"], row["started_at"]) == ("resolved", T0 + timedelta(minutes=4), T0)

    level = logging.ERROR if severity == "critical" else logging.WARNING
    lines = alert_lines(caplog)
    assert [lvl for lvl, _ in lines] == [level, logging.INFO]
    assert "opened" in lines[0][1] and server.id in lines[0][1] and "resolved" in lines[1][1]
    logged = log_table()
    assert sorted(logged["level"]) == sorted([logging.getLevelName(level), "INFO"])

    assert notifier.wait_idle(5)
    titles = [body["title"] for body in receiver.delivered()]
    assert [t.split("]")[0] for t in titles] == [f"[{severity.upper()}", "[RESOLVED"]
    assert all(server.partner in t and server.country in t and server.id in t for t in titles)
    assert f"http://noc.example/server/{server.id}" in receiver.delivered()[0]["message"]


def test_flapping_server_opens_nothing(manager, config, writer, notifier, receiver, caplog):
    probe = BAD_PROBES["very slow"][0]
    feed(manager, config, [probe, GOOD_PROBE] * 4)
    assert alert_rows(writer) == []
    assert alert_lines(caplog) == []
    assert notifier.wait_idle(5) and receiver.requests == []


def test_severity_rises_on_the_same_row(manager, config, writer, notifier, receiver, caplog):
    slow, very_slow = BAD_PROBES["slow"][0], BAD_PROBES["very slow"][0]
    feed(manager, config, [slow, slow, very_slow, very_slow])
    (row,) = alert_rows(writer)
    assert (row["severity"], row["peak"], row["state"]) == ("critical", 600.0, "open")
    assert row["updated_at"] == T0 + timedelta(minutes=2)
    assert [lvl for lvl, _ in alert_lines(caplog)] == [logging.WARNING, logging.ERROR]
    assert notifier.wait_idle(5)
    titles = [body["title"] for body in receiver.delivered()]
    assert len(titles) == 2 and titles[1].startswith("[CRITICAL] High latency worsened")


def test_worse_peak_is_stored_without_a_log_line_or_notification(manager, config, writer, notifier, receiver,
                                                                  caplog):
    feed(manager, config, [replies(600, 600), replies(600, 600), replies(900, 900)])
    assert alert_rows(writer)[0]["peak"] == 900.0
    assert len(alert_lines(caplog)) == 1
    assert notifier.wait_idle(5) and len(receiver.requests) == 1


def test_each_server_and_condition_has_its_own_alert(manager, config, writer):
    rounds = [[(s, measured(config, BAD_PROBES["silent" if k < 2 else "jittery"][0]))
               for k, s in enumerate(config.servers)] for _ in range(2)]
    for i, round_ in enumerate(rounds):
        manager.on_round(round_, T0 + timedelta(minutes=i))
    rows = alert_rows(writer)
    assert sorted((r["server_id"], r["kind"]) for r in rows) == \
        sorted([(config.servers[0].id, "down"), (config.servers[1].id, "down"),
                (config.servers[2].id, "jitter"), (config.servers[3].id, "jitter")])


# -- control targets --------------------------------------------------------------------------------------------
@pytest.fixture
def control_config(tmp_path):
    """The test config with two control targets."""
    return validate_config(make_config_dict(tmp_path, control_targets=["192.0.2.1", "192.0.2.2"]))


def test_control_servers_come_from_the_config(config, control_config, tmp_path):
    assert control_servers(config) == ()
    assert [(s.ip, s.probe) for s in control_servers(control_config)] == [("192.0.2.1", "auto"), ("192.0.2.2", "auto")]
    tcp = validate_config(make_config_dict(tmp_path, probe="tcp", control_targets=["192.0.2.1"]))
    assert [s.probe for s in control_servers(tcp)] == ["auto"]


def test_lost_host_connectivity_opens_one_alert_instead_of_partner_alerts(control_config, caplog):
    writer = open_writer(control_config.database_target())
    try:
        manager = AlertManager(control_config, writer, name="probe-host")
        down = [measured(control_config, silent())] * 2
        feed(manager, control_config, [silent()] * 3, controls=down)
        everything_down = [(s, measured(control_config, silent())) for s in control_config.servers]
        manager.on_round(everything_down, T0 + timedelta(minutes=3), controls=down)
        (row,) = alert_rows(writer)
        assert (row["kind"], row["server_id"], row["severity"], row["collector"]) == \
            ("connectivity", None, "critical", "probe-host")
        answering = [measured(control_config, GOOD_PROBE), measured(control_config, silent())]
        feed(manager, control_config, [GOOD_PROBE] * 2, start=4, controls=answering)
        assert [r["state"] for r in alert_rows(writer)] == ["resolved"]
    finally:
        writer.engine.dispose()


# -- restart and robustness -------------------------------------------------------------------------------------
def test_a_new_manager_loads_open_alerts_and_resolves_them(config, writer, caplog):
    caplog.set_level(logging.INFO, logger="collector.alerts")
    slow = BAD_PROBES["slow"][0]
    feed(AlertManager(config, writer, name="test"), config, [slow, slow])
    restarted = AlertManager(config, writer, name="test")
    assert list(restarted.engine.open_alerts()) == [(config.servers[0].id, "latency")]
    feed(restarted, config, [slow, slow], start=2)
    assert len(alert_rows(writer)) == 1
    feed(restarted, config, [GOOD_PROBE, GOOD_PROBE], start=4)
    (row,) = alert_rows(writer)
    assert row["state"] == "resolved"
    assert [lvl for lvl, _ in alert_lines(caplog)] == [logging.WARNING, logging.INFO]


def test_open_alerts_of_servers_no_longer_configured_are_resolved_on_start(config, writer, tmp_path):
    ghost = Subject("10.9.9.9", "Gone Ltd", "Atlantis")
    rule = rules_from_config(config)[1]
    opened = make_event("open", rule, ghost, OpenAlert(ghost, "warning", 200.0, T0), 200.0, T0, "old", collector="t")
    apply_events(writer, [opened])
    AlertManager(config, writer, name="t", now=lambda: T0 + timedelta(hours=1))
    (row,) = alert_rows(writer)
    assert (row["state"], row["resolved_at"]) == ("resolved", T0 + timedelta(hours=1))
    assert "no longer monitored" in row["message"]


def test_a_failed_store_is_retried_next_round(manager, config, writer, monkeypatch, caplog):
    import collector.alertmanager as am
    slow = BAD_PROBES["slow"][0]
    feed(manager, config, [slow])
    real = am.apply_events
    monkeypatch.setattr(am, "apply_events", lambda *a: (_ for _ in ()).throw(RuntimeError("database is locked")))
    assert feed(manager, config, [slow], start=1) == []
    monkeypatch.setattr(am, "apply_events", real)
    assert alert_rows(writer) == []
    assert [e.action for e in feed(manager, config, [slow], start=2)] == ["open"]
    assert any(r.levelno == logging.ERROR and "retried next round" in r.getMessage() for r in caplog.records)


def test_open_is_idempotent_in_the_store(config, writer):
    engine = AlertEngine(rules_from_config(config), 1, 1, collector="t")
    server = config.servers[0]
    events = engine.evaluate({server.id: (server, measured(config, silent()))}, T0)
    assert len(apply_events(writer, events)) == 1
    assert apply_events(writer, events) == []
    assert len(load_open(writer.engine)) == 1


# -- the read side ----------------------------------------------------------------------------------------------
def _window(hours_before: float, hours_after: float, **subject) -> Filters:
    return Filters(start=T0 - timedelta(hours=hours_before), end=T0 + timedelta(hours=hours_after), range="custom",
                   **subject)


def test_list_alerts_by_state_and_filters(config, writer, control_config):
    slow, down = BAD_PROBES["slow"][0], BAD_PROBES["silent"][0]
    manager = AlertManager(control_config, writer, name="t")
    ok_controls = [measured(config, GOOD_PROBE)]
    feed(manager, config, [slow, slow, GOOD_PROBE, GOOD_PROBE], server=0, controls=ok_controls)
    feed(manager, config, [down, down], server=2, start=4, controls=ok_controls)
    lost = [measured(config, silent())]
    feed(manager, config, [GOOD_PROBE, GOOD_PROBE], server=2, start=6, controls=lost)
    assert sorted(list_alerts(writer.engine, "open")["kind"]) == ["connectivity", "down"]
    assert list(list_alerts(writer.engine, "resolved")["kind"]) == ["latency"]
    assert len(list_alerts(writer.engine, "all")) == 3
    nigeria = list_alerts(writer.engine, "all", _window(1, 1, countries=("Nigeria",)))
    assert sorted(nigeria["kind"]) == ["connectivity", "down"]  # host-wide alerts concern every country
    assert list_alerts(writer.engine, "all", _window(3, -2)).empty  # the window ended before any alert began
    with pytest.raises(QueryError):
        list_alerts(writer.engine, "closed")


def test_alert_count_stays_small_over_many_bad_rounds(manager, config, writer):
    feed(manager, config, [BAD_PROBES["silent"][0]] * 10)
    with writer.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(alerts)).scalar() == 1
