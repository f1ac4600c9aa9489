"""sip_rollups (issue 14): kept by the writer beside ping_rollups, equal to raw aggregation, outliving the raw
sip_results rows under retention, and filled when an older database is upgraded."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select, text

from common.timeutil import utcnow
from queries.filters import Filters
from queries.sipseries import _raw_stmt, sip_series
from queries.sqlutil import dialect_of
from storage import open_writer
from storage.retention import prune
from storage.migrations import UPGRADES, _upgrade_add_sip_rollups
from storage.schema import sip_results, sip_rollups
from tests.seeding import seed_sip

ROUNDS = 96  # 8 h of 5-minute rounds


def raw_series(engine, filters, group, bucket) -> pd.DataFrame:
    """The same series read from the raw sip_results rows (the definition the rollups must equal)."""
    with engine.connect() as conn:
        df = pd.read_sql(_raw_stmt(filters, group, bucket, dialect_of(engine)), conn)
    df["bucket"] = pd.to_datetime(df["bucket"].astype("int64"), unit="s")
    return df.sort_values(["key", "bucket"], ignore_index=True)


def aligned_window(end, hours=8) -> Filters:
    """A window on whole hours, so the raw and the rollup reads cover the same rows."""
    stop = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return Filters(start=stop - timedelta(hours=hours + 1), end=stop)


def rollup_rows(engine) -> list[tuple]:
    """Every sip_rollups row, ordered."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(sip_rollups).order_by(
            sip_rollups.c.resolution_seconds, sip_rollups.c.server_id, sip_rollups.c.bucket_start))]


@pytest.mark.parametrize("group", ["country", "server"])
@pytest.mark.parametrize("bucket", [300, 3600, 10800])
def test_rollup_series_equal_raw_aggregation(writer, config, group, bucket):
    end = utcnow().replace(second=0, microsecond=0)
    seed_sip(writer, config, end)
    filters = aligned_window(end)
    from_rollups = sip_series(writer.engine, filters, group, bucket)
    from_raw = raw_series(writer.engine, filters, group, bucket)
    assert len(from_rollups) > 0 and list(from_rollups["key"]) == list(from_raw["key"])
    assert list(from_rollups["bucket"]) == list(from_raw["bucket"])
    for column in ("response_ms", "loss_pct", "code", "up_pct", "rounds"):
        assert from_rollups[column].astype("float64").tolist() == pytest.approx(
            from_raw[column].astype("float64").tolist(), nan_ok=True), column
    # The seeded codes are all there: 503 rounds make some hours' worst code 503, and down rounds lower up_pct.
    assert from_rollups["code"].max() == 503 and from_rollups["up_pct"].min() < 100


def test_rounds_written_in_one_batch_fold_like_rounds_written_one_by_one(writer, config, tmp_path):
    end = utcnow().replace(second=0, microsecond=0)
    seed_sip(writer, config, end, rounds=30, batch_rounds=1)
    other = open_writer(f"sqlite:///{tmp_path / 'batched.db'}")
    seed_sip(other, config, end, rounds=30, batch_rounds=30)
    assert rollup_rows(writer.engine) == rollup_rows(other.engine) and rollup_rows(writer.engine)
    other.engine.dispose()


def test_sip_history_outlives_its_raw_rows_under_retention(writer, config):
    end = utcnow().replace(second=0, microsecond=0) - timedelta(days=10)
    seed_sip(writer, config, end)
    deleted = prune(writer, {"raw_days": 2}, utcnow())
    assert deleted["sip_results"] == ROUNDS * len(config.servers)
    with writer.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sip_results)).scalar_one() == 0
    series = sip_series(writer.engine, aligned_window(end), "server", 3600)
    assert set(series["key"]) == {s.id for s in config.servers}
    assert series["rounds"].sum() == ROUNDS * len(config.servers)
    # Hourly rollups go when their own retention says so, not before.
    deleted = prune(writer, {"raw_days": 2, "five_minute_rollup_days": 3, "hourly_rollup_days": 5}, utcnow())
    assert deleted["sip_rollups_300s"] > 0 and deleted["sip_rollups_3600s"] > 0
    assert rollup_rows(writer.engine) == []


@pytest.mark.sqlite_only(reason="rewinds the schema version of a file to replay the upgrade")
def test_the_version_before_is_upgraded_with_sip_rollups_filled_from_the_raw_rows(writer, config):
    end = utcnow().replace(second=0, microsecond=0)
    seed_sip(writer, config, end, rounds=30)
    before = rollup_rows(writer.engine)
    with writer.engine.begin() as conn:
        conn.execute(text("DROP TABLE sip_rollups"))
        version = next(v for v, step in UPGRADES.items() if step is _upgrade_add_sip_rollups)
        conn.execute(text(f"UPDATE schema_info SET version = {version}"))
    url = str(writer.engine.url)
    writer.engine.dispose()
    upgraded = open_writer(url)
    assert before and rollup_rows(upgraded.engine) == before
    upgraded.engine.dispose()


def _same_series(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) > 0 and list(a["key"]) == list(b["key"]) and list(a["bucket"]) == list(b["bucket"])
    for column in ("response_ms", "loss_pct", "code", "up_pct", "rounds"):
        assert a[column].astype("float64").tolist() == pytest.approx(b[column].astype("float64").tolist(),
                                                                    nan_ok=True), column


def test_two_vantage_points_are_rolled_up_apart(writer, config):
    # Issue 13: a second collector checks the same servers at the same times with other answers. Its SIP buckets
    # are its own (collector=london reads only them), and the default view sums both exactly as the raw rows do.
    from tests.seeding import sip_round
    end = utcnow().replace(second=0, microsecond=0)
    times = seed_sip(writer, config, end, rounds=24)
    made = [sip_round(config, r + 3, at) for r, at in enumerate(times)]  # shifted: other codes and response times
    writer.write_rounds("london", [(at, at, ping) for at, (ping, _) in zip(times, made)], [sip for _, sip in made])
    with writer.engine.connect() as conn:
        keyed = dict(conn.execute(select(sip_rollups.c.collector, func.sum(sip_rollups.c.rounds))
                                  .where(sip_rollups.c.resolution_seconds == 300).group_by(sip_rollups.c.collector)).all())
    assert keyed == {"test": 24 * len(config.servers), "london": 24 * len(config.servers)}
    window = aligned_window(end, hours=3)
    london = Filters(**{**window.__dict__, "collectors": ("london",)})
    home = Filters(**{**window.__dict__, "collectors": ("test",)})
    for bucket in (300, 3600):
        for chosen in (london, window):
            _same_series(sip_series(writer.engine, chosen, "server", bucket),
                         raw_series(writer.engine, chosen, "server", bucket))
        apart = sip_series(writer.engine, london, "server", bucket)["response_ms"].tolist()
        assert apart != sip_series(writer.engine, home, "server", bucket)["response_ms"].tolist()
