"""The schema step of acknowledgement and maintenance (issue 15): alerts gain the acknowledgement and path
snapshot columns, maintenance_windows is created, and the alerts already stored keep their rows."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import inspect, select, text

from storage.migrations import UPGRADES, _upgrade_add_ack_and_maintenance, init_db
from storage.schema import SCHEMA_VERSION, alerts, schema_info

T0 = datetime(2026, 11, 20, 10, 0)
ACK_COLUMNS = ("acknowledged_by", "acknowledged_at", "ack_comment", "ack_severity", "path_snapshot",
               "path_snapshot_at")
# The version this step upgrades from, found in UPGRADES, so renumbering on a merge needs no edit here.
FROM_VERSION = next(v for v, step in UPGRADES.items() if step is _upgrade_add_ack_and_maintenance)


def test_it_is_step_7_of_a_ladder_without_gaps():
    assert FROM_VERSION == 7 and sorted(UPGRADES) == list(range(SCHEMA_VERSION))


@pytest.mark.sqlite_only("rebuilds the older database by hand with SQLite DDL; the upgrade path itself runs on "
                         "PostgreSQL in test_migrations")
def test_upgrading_adds_the_columns_and_the_table_and_keeps_the_alerts(writer):
    with writer.engine.begin() as conn:
        conn.execute(alerts.insert().values(server_id="127.0.0.1", partner="Safari Voice", country="Kenya",
                                            kind="down", severity="critical", state="open", started_at=T0,
                                            updated_at=T0, message="Down on Safari Voice Kenya (127.0.0.1)"))
        conn.execute(text("DROP TABLE maintenance_windows"))
        for name in ACK_COLUMNS:
            conn.execute(text(f'ALTER TABLE alerts DROP COLUMN "{name}"'))
        conn.execute(schema_info.update().values(version=FROM_VERSION))
    assert init_db(writer.engine) == FROM_VERSION
    with writer.engine.connect() as conn:
        assert conn.execute(select(schema_info.c.version)).scalar_one() == SCHEMA_VERSION
        columns = {c["name"] for c in inspect(conn).get_columns("alerts")}
        assert "maintenance_windows" in inspect(conn).get_table_names()
        row = conn.execute(select(alerts.c.message, alerts.c.acknowledged_by)).one()
    assert set(ACK_COLUMNS) <= columns
    assert tuple(row) == ("Down on Safari Voice Kenya (127.0.0.1)", None)
