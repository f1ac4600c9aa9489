"""The single writer: every insert goes through one Writer, serialised by its lock."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from storage.incidents import fold_rounds
from storage import siprollups
from storage.rollups import add_rounds, rows_span
from storage.compact import compact_rows
from storage.schema import collectors, logs, ping_compact, rounds, sip_results
from common.timeutil import to_naive_utc


class Writer:
    """Owns the write engine; one per process so SQLite never sees two writers racing."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._lock = threading.Lock()
        self._local = threading.local()

    def writing_in_this_thread(self) -> bool:
        """True while this thread is inside a write (a nested write would deadlock on the lock)."""
        return getattr(self._local, "active", False)

    @contextmanager
    def transaction(self):
        """The lock, then one transaction; marks this thread as writing meanwhile."""
        with self._lock:
            self._local.active = True
            try:
                with self.engine.begin() as conn:
                    yield conn
            finally:
                self._local.active = False

    def write_round(self, collector: str, started_at: datetime, finished_at: datetime,
                    rows: list[dict], sip_rows: list[dict] | None = None, uid: str | None = None,
                    heartbeat: dict | None = None) -> int:
        """Store a round, its results and its SIP results in one transaction; returns the round id.

        With a uid, a round already stored under it is not stored again (its id is returned); with a heartbeat
        (collectors columns), the collector's row is written in the same transaction."""
        return self.write_rounds(collector, [(started_at, finished_at, rows)], [sip_rows or []], uids=[uid],
                                 heartbeat=heartbeat)[0]

    def write_rounds(self, collector: str, batch: list[tuple[datetime, datetime, list[dict]]],
                     sip_batch: list[list[dict]] | None = None, uids: list[str | None] | None = None,
                     heartbeat: dict | None = None) -> list[int]:
        """Store several (started_at, finished_at, rows) rounds in one transaction; returns their ids.

        sip_batch, when given, holds each round's sip_results rows (same order as batch); uids each round's
        globally unique id (a round already stored under its uid is skipped, its stored id returned)."""
        # One COMMIT and one rollup fold for the batch: loading history (bench/generate.py) is bound by them.
        uids = list(uids or [None] * len(batch))
        with self.transaction() as conn:
            known = _stored_uids(conn, [u for u in uids if u])
            is_new = [not uid or uid not in known for uid in uids]
            # Timestamps made naive once here, for the insert and the folds both (~1,000 rows a round).
            fresh = [(started, finished, [_naive_timestamp(r) for r in rows])
                     for (started, finished, rows), new in zip(batch, is_new) if new]
            fresh_sip = [sip for sip, new in zip(sip_batch or [[]] * len(batch), is_new) if new]
            new_ids = _insert_rounds(conn, collector, fresh, [uid for uid, new in zip(uids, is_new) if new])
            stored_ids = [rid for rid, one in zip(new_ids, fresh) if one[2]]
            span = rows_span([rows for _s, _f, rows in fresh])
            add_rounds(conn, stored_ids, span)
            fold_rounds(conn, stored_ids, [rows for _s, _f, rows in fresh], collector, span)
            sip_ids = []
            for round_id, sip_rows in zip(new_ids, fresh_sip):
                if sip_rows:
                    conn.execute(insert(sip_results), [_result_row(r, round_id, collector) for r in sip_rows])
                    sip_ids.append(round_id)
            siprollups.add_rounds(conn, sip_ids, span)
            pending = iter(new_ids)
            round_ids = [known[uid] if not new else next(pending) for uid, new in zip(uids, is_new)]
            if heartbeat is not None:
                write_heartbeat(conn, collector, heartbeat)
        return round_ids

    def checkpoint(self) -> tuple[int, int] | None:
        """Copy committed WAL pages into the database file now; (WAL frames, frames copied), None off SQLite."""
        # The collector calls this between rounds so a round's COMMIT rarely has to run the checkpoint
        # itself (SQLite's autocheckpoint, the fallback). PASSIVE never waits for readers: pages a reader
        # still needs are left for the next time.
        if self.engine.dialect.name != "sqlite":
            return None
        with self.transaction() as conn:
            _busy, frames, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
        return frames, copied

    def write_logs(self, entries: list[dict]) -> None:
        """Insert log rows (timestamp, level, message, module, traceback, collector, optional server_id)."""
        if not entries:
            return
        with self.transaction() as conn:  # one executemany needs the same keys in every row
            conn.execute(insert(logs), [{"server_id": None, **_naive_timestamp(e)} for e in entries])


def _round_record(collector: str, started_at: datetime, finished_at: datetime, rows: list[dict]) -> dict:
    """The rounds row of one round."""
    started_at, finished_at = to_naive_utc(started_at), to_naive_utc(finished_at)
    return {"collector": collector, "started_at": started_at, "finished_at": finished_at,
            "duration_ms": (finished_at - started_at).total_seconds() * 1000, "servers": len(rows),
            "failures": sum(1 for r in rows if not r.get("success"))}


def _stored_uids(conn, uids: list[str]) -> dict[str, int]:
    """The round id of each uid already stored."""
    if not uids:
        return {}
    return dict(conn.execute(select(rounds.c.uid, rounds.c.id).where(rounds.c.uid.in_(uids))).all())


def write_heartbeat(conn, collector: str, heartbeat: dict) -> None:
    """Insert or update the collector's row (name + the given collectors columns)."""
    values = {"name": collector, **{k: (to_naive_utc(v) if isinstance(v, datetime) else v)
                                    for k, v in heartbeat.items()}}
    insert_for = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert_for(collectors).values(values)
    updates = {k: stmt.excluded[k] for k in values if k != "name"}
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_=updates) if updates
                 else stmt.on_conflict_do_nothing(index_elements=["name"]))


def _insert_rounds(conn, collector: str, batch: list[tuple[datetime, datetime, list[dict]]],
                   uids: list[str | None] | None = None) -> list[int]:
    """Insert the rounds rows and then all their raw rows (ping_compact); returns the round ids in batch order."""
    # Two statements for the whole batch, whatever its size: on PostgreSQL each statement is a round trip to the
    # server, so a statement per round made loading history three times slower than on SQLite.
    records = [dict(_round_record(collector, *one), uid=uid) for one, uid in zip(batch, uids or [None] * len(batch))]
    if len(records) <= 1 or not conn.dialect.insert_executemany_returning_sort_by_parameter_order:
        # One round (the collector's case), or a SQLite older than 3.35 (no RETURNING): a statement per round.
        round_ids = [conn.execute(insert(rounds).values(record)).inserted_primary_key[0] for record in records]
    else:
        # sort_by_parameter_order: the ids come back in the order of the records, as the rows below need.
        returning = insert(rounds).returning(rounds.c.id, sort_by_parameter_order=True)
        round_ids = list(conn.execute(returning, records).scalars())
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, [(round_id, results) for round_id, (_s, _f, results) in zip(round_ids, batch)], collector)
        return round_ids
    rows = [_result_row(result, round_id, collector)
            for round_id, (_started, _finished, results) in zip(round_ids, batch) for result in results]
    if rows:
        conn.execute(insert(ping_compact), compact_rows(conn, rows))
    return round_ids


# Every ping_compact column in table order: the COPY column list.
_COPY_COLUMNS = [c.name for c in ping_compact.columns]


def _copy_rows(conn, rounds_rows: list[tuple[int, list[dict]]], collector: str) -> None:
    """Append each round's raw rows (naive timestamps) to ping_compact through PostgreSQL's COPY, tied to the
    round and collector, inside the connection's transaction."""
    # COPY, not a multi-row INSERT: a 1,000-server round's INSERT bound 28,000 parameters through SQLAlchemy and
    # cost ~75 ms of a ~230 ms round commit. compact_rows refuses unknown keys, as the INSERT does.
    records = compact_rows(conn, [_result_row(row, round_id, collector) for round_id, rows in rounds_rows
                                  for row in rows])
    sql = f"COPY ping_compact ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for record in records:
                copy.write_row([record[name] for name in _COPY_COLUMNS])
    except dbapi_error as exc:  # as SQLAlchemy raises it for an INSERT (IntegrityError for a NULL in NOT NULL, ...)
        raise DBAPIError.instance(sql, None, exc, dbapi_error) from exc


def _naive_timestamp(row: dict) -> dict:
    """The row with its timestamp as naive UTC (SQLite would store an aware one's wall clock as is)."""
    if isinstance(row.get("timestamp"), datetime):
        return dict(row, timestamp=to_naive_utc(row["timestamp"]))
    return row


def _result_row(row: dict, round_id: int, collector: str) -> dict:
    """A ping_results row tied to its round and collector."""
    return dict(_naive_timestamp(row), round_id=round_id, collector=collector)
