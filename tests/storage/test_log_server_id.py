"""Log lines carry the server they are about (logs.server_id): a server's page selects its lines by that id,
never by finding its address in the text, and older databases get the column with their alert lines filled in."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import inspect, select, text

import callbacks.server as server_cb
from collector.alertmanager import AlertManager
from collector.measure import measure
from queries.logs import recent_logs
from storage import init_db
from storage.migrations import log_line_server
from storage.schema import SCHEMA_VERSION, alerts, logs, schema_info
from tests.helpers.alerts import GOOD_PROBE, silent
from tests.helpers.dash_tree import text_of

T0 = datetime(2026, 11, 20, 10, 0)


def stored_lines(writer) -> list[dict]:
    """Every stored log row, oldest first."""
    with writer.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(logs).order_by(logs.c.id)).mappings()]


def open_down_alert(config, writer, server_index: int = 0) -> None:
    """Two silent rounds of one server through the collector's alert manager: a 'down' alert opens."""
    manager = AlertManager(config, writer, name="lab-1", now=lambda: T0)
    for k in range(2):
        measured = [(s, measure(silent() if i == server_index else GOOD_PROBE, config.thresholds))
                    for i, s in enumerate(config.servers)]
        manager.on_round(measured, T0 + timedelta(minutes=k))


def test_an_alert_line_is_stored_with_its_server_id_and_other_lines_without(config, writer, engine, db_logging):
    open_down_alert(config, writer)
    logging.getLogger("app").info("serving on http://127.0.0.1:5123/ (collector running)")
    lines = stored_lines(writer)
    about = [r for r in lines if r["server_id"] is not None]
    assert [(r["server_id"], r["level"]) for r in about] == [("127.0.0.1", "ERROR")]
    assert about[0]["message"].startswith("alert opened: Down on Safari Voice Kenya (127.0.0.1)")
    serving = [r for r in lines if r["message"].startswith("serving on")]
    assert len(serving) == 1 and serving[0]["server_id"] is None


def test_a_servers_page_lists_the_lines_about_it_not_those_mentioning_its_address(app, config, writer,
                                                                                   engine, db_logging):
    open_down_alert(config, writer)
    for message in ("serving on http://127.0.0.1:5123/ (collector running)", "probe of 127.0.0.1 is fine"):
        logging.getLogger("app").info(message)
    found = recent_logs(engine, limit=50, server_id="127.0.0.1")
    assert list(found["message"].str.slice(0, 31)) == ["alert opened: Down on Safari Vo"]
    assert recent_logs(engine, limit=50, server_id="127.0.0.2").empty
    with app.server.test_request_context():
        _rounds, _concerns, panel = server_cb.refresh_server_tables("/server/127.0.0.1", "?range=24h", 0)
    shown = text_of(panel)
    assert "Down on Safari Voice Kenya (127.0.0.1)" in shown
    assert "serving on" not in shown and "is fine" not in shown


def test_lines_of_several_servers_in_one_write_keep_their_own_ids(writer, engine):
    writer.write_logs([
        {"timestamp": T0, "level": "INFO", "message": "a", "module": "m", "traceback": None, "collector": "c"},
        {"timestamp": T0, "level": "INFO", "message": "b", "module": "m", "traceback": None, "collector": "c",
         "server_id": "127.0.0.2"}])
    assert [(r["message"], r["server_id"]) for r in stored_lines(writer)] == [("a", None), ("b", "127.0.0.2")]


def test_the_server_id_of_an_older_alert_line_is_the_known_id_after_on():
    known = {"127.0.0.1", "127.0.0.10", "sip.example:5061"}
    assert log_line_server("alert opened: Down on Safari Voice Kenya (127.0.0.10): 0 of 4 replies", known) == \
        "127.0.0.10"
    assert log_line_server("alert resolved: High latency on Cape (SA) Carrier South Africa (sip.example:5061): "
                           "80 ms -- resolved", known) == "sip.example:5061"
    assert log_line_server("alert opened: Monitoring host lost connectivity: 0 of 2 control targets", known) is None
    assert log_line_server("alert opened: Down on X Y (10.9.9.9): 0 of 4", known) is None


def make_version_3(engine) -> None:
    """Turn a current database back into schema version 3: logs without server_id or its index."""
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_logs_server_time"))
        conn.execute(text("ALTER TABLE logs DROP COLUMN server_id"))
        conn.execute(schema_info.update().values(version=3))


@pytest.mark.sqlite_only("rebuilds a version 3 database by hand with SQLite DDL; the upgrade path itself runs on PostgreSQL in test_migrations")
def test_upgrading_a_version_3_database_fills_in_the_server_of_its_alert_lines(writer):
    with writer.engine.begin() as conn:
        conn.execute(alerts.insert().values(server_id="127.0.0.1", partner="Safari Voice", country="Kenya",
                                            kind="down", severity="critical", state="open", started_at=T0,
                                            updated_at=T0, message="Down on Safari Voice Kenya (127.0.0.1)"))
    make_version_3(writer.engine)
    with writer.engine.begin() as conn:
        conn.execute(text("INSERT INTO logs (timestamp, level, message, module) VALUES "
                          "('2026-11-20 10:00:00', 'ERROR', 'alert opened: Down on Safari Voice Kenya (127.0.0.1): "
                          "0 of 4 replies', 'collector.alerts'), "
                          "('2026-11-20 10:01:00', 'INFO', 'serving on http://127.0.0.1:5123/', 'app')"))
    assert init_db(writer.engine) == 3
    assert [(r["message"][:12], r["server_id"]) for r in stored_lines(writer)] == \
        [("alert opened", "127.0.0.1"), ("serving on h", None)]
    with writer.engine.connect() as conn:
        assert conn.execute(select(schema_info.c.version)).scalar_one() == SCHEMA_VERSION
        indexes = {i["name"] for i in inspect(conn).get_indexes("logs")}
    assert "ix_logs_server_time" in indexes
