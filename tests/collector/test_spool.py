"""Losing the link to the database loses nothing: rounds wait in the local spool and arrive in order, once each."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from collector.service import Collector
from collector.spool import Spool
from settings import validate_config
from storage import open_writer
from storage.schema import ping_results, rounds
from tests.conftest import make_config_dict
from tests.pg import SERVER_SETTINGS, PgCluster, why_unavailable
from tests.helpers.fakes import FakeFactory

T0 = datetime(2026, 5, 1, 10, 0)


class PausablePg(PgCluster):
    """A cluster of this test's own (the session's serves every other test), stopped and started at will."""

    def pause(self) -> None:
        """pg_ctl stop -m fast: every session ends, the data stays."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """pg_ctl start again on the same port and socket."""
        options = " ".join([f"-p {self.port}", f"-k {self.socket_dir}", "-c listen_addresses=127.0.0.1",
                            *(f"-c {k}={v}" for k, v in SERVER_SETTINGS.items())])
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log_file), "-o", options, "-w", "start")


@pytest.fixture
def own_cluster():
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)  # conftest's rule: in CI the session cluster fixture fails instead (see pg_cluster)
    cluster = PausablePg().start()
    yield cluster
    cluster.stop()


def stepping(collector: Collector, start: datetime = T0, step: timedelta = timedelta(seconds=5)):
    """Rounds 5 s apart on a fake clock (the spool keeps each round's own times)."""
    state = {"t": start}

    def now() -> datetime:
        return state["t"]

    def advance() -> None:
        state["t"] += step

    collector.now = collector.store.now = collector.alerts.now = now
    return advance


@pytest.mark.postgres
def test_a_stopped_postgresql_loses_no_round(own_cluster, tmp_path, caplog):
    url = own_cluster.url()
    writer = open_writer(url)
    config = validate_config(make_config_dict(tmp_path, database_url=url), source=str(tmp_path / "config.json"))
    spool = Spool(str(tmp_path / "spool.db"))
    collector = Collector(config, writer, probe_factory=FakeFactory(), auto_kind="ping", name="nairobi", spool=spool)
    advance = stepping(collector)
    try:
        assert collector.run_round().round_id is not None
        own_cluster.pause()
        with caplog.at_level(logging.DEBUG, logger="collector.service"):
            for _ in range(4):
                advance()
                assert collector.run_round().round_id is None
        assert collector.rounds_waiting == 4 and collector.rounds_lost == 0
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and "rounds wait in" in errors[0].getMessage()
        own_cluster.resume()
        # A crash after the database committed the oldest spooled round but before the spool forgot it: the
        # same round (same uid) is sent again below, and must be stored once.
        _seq, uid, started, finished, rows, _sip = spool.oldest()
        writer.engine.dispose()  # the pooled sessions died with the server
        writer.write_round("nairobi", started, finished, rows, uid=uid)
        advance()
        assert collector.run_round().round_id is not None
        assert collector.rounds_waiting == 0 and collector.last_error is None
        with writer.engine.connect() as conn:
            stored = conn.execute(select(rounds.c.started_at, rounds.c.uid).order_by(rounds.c.id)).all()
            results = conn.execute(select(ping_results.c.round_id)).all()
        starts = [r.started_at for r in stored]
        assert starts == [T0 + timedelta(seconds=5 * i) for i in range(6)]  # every round, in order
        assert len({r.uid for r in stored}) == 6  # none doubled
        assert len(results) == 6 * len(config.servers)
    finally:
        writer.engine.dispose()
        spool.close()


def test_the_spool_bound_drops_the_oldest_with_one_error(tmp_path, caplog):
    spool = Spool(str(tmp_path / "spool.db"), max_rounds=3)
    with caplog.at_level(logging.ERROR, logger="collector.service"):
        for i in range(6):
            spool.add(f"c:{i}", T0 + timedelta(seconds=i), T0 + timedelta(seconds=i), [{"timestamp": T0, "n": i}])
    assert spool.count() == 3 and spool.dropped == 3
    assert spool.oldest()[1] == "c:3" and spool.oldest()[4] == [{"timestamp": T0, "n": 3}]
    assert len([r for r in caplog.records if "spool" in r.getMessage()]) == 1


def test_the_spool_survives_a_restart(tmp_path):
    path = str(tmp_path / "spool.db")
    first = Spool(path)
    first.add("c:1", T0, T0, [{"timestamp": T0}])
    first.close()
    again = Spool(path)
    assert again.count() == 1 and again.oldest()[1] == "c:1"


def test_a_spooled_round_keeps_its_sip_checks(tmp_path):
    # A round spooled during an outage goes in with its SIP rows: sip_results and sip_rollups, same round id.
    from collector.storing import RoundStore
    from storage.schema import sip_results, sip_rollups
    from tests.seeding import sip_round
    config = validate_config(make_config_dict(tmp_path), source=str(tmp_path / "config.json"))
    writer = open_writer(f"sqlite:///{tmp_path / 'db.sqlite'}")
    spool = Spool(str(tmp_path / "spool.db"))
    ping, sip = sip_round(config, 1, T0)
    spool.add("lab:waiting", T0, T0, ping, sip)  # what an outage left behind
    store = RoundStore(writer, "lab", lambda: T0 + timedelta(seconds=5), spool=spool)
    try:
        later_ping, later_sip = sip_round(config, 2, T0 + timedelta(seconds=5))
        new_id = store.write(T0 + timedelta(seconds=5), later_ping, later_sip)
        assert new_id is not None and spool.count() == 0
        with writer.engine.connect() as conn:
            stored = conn.execute(select(rounds.c.id, rounds.c.uid).order_by(rounds.c.id)).all()
            sip_ids = conn.execute(select(sip_results.c.round_id, sip_results.c.timestamp)).all()
            rolled = conn.execute(select(sip_rollups.c.collector, sip_rollups.c.rounds)
                                  .where(sip_rollups.c.resolution_seconds == 300)).all()
        assert [r.uid for r in stored][0] == "lab:waiting" and stored[1].id == new_id
        assert sorted({r.round_id for r in sip_ids}) == [stored[0].id, new_id]
        assert len(sip_ids) == 2 * len(config.servers) and {r.timestamp for r in sip_ids} == {
            T0, T0 + timedelta(seconds=5)}
        assert {r.collector for r in rolled} == {"lab"} and sum(r.rounds for r in rolled) == 2 * len(config.servers)
    finally:
        writer.engine.dispose()
        spool.close()
