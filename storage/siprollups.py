"""Keep sip_rollups up to date as rounds arrive, and rebuild it: the SIP side of storage.rollups."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import case, func, literal, select
from sqlalchemy.engine import Connection

from storage.rollups import (RESOLUTIONS_SECONDS, ROUND_IDS, _bucket_sql, _insert_for, _least_greatest,
                             round_params, round_rows)
from storage.schema import ping_results as pr
from storage.schema import sip_results as sr
from storage.schema import sip_rollups

_SUMMED = ["rounds", "up_rounds", "sent", "answered", "sum_response_ms", "n_response"]
_COLUMNS = ["resolution_seconds", "collector", "server_id", "bucket_start", "country", "partner", "server_ip", *_SUMMED,
            "max_code"]
# A SIP row's labels (and its bucket: same timestamp) are its round's ping_results row of the same server.
_SAME_ROUND = (sr.c.round_id == pr.c.round_id) & (sr.c.server_id == pr.c.server_id)


def _select(dialect: str, resolution: int):
    """sip_results aggregated into one resolution's per-server buckets, columns in _COLUMNS order."""
    bucket = _bucket_sql(dialect, resolution).label("bucket_start")
    up = func.sum(case((sr.c.status == "up", 1), else_=0))
    collector = func.coalesce(pr.c.collector, literal("")).label("collector")  # per vantage point, as ping_rollups
    return (select(literal(resolution).label("resolution_seconds"), collector, sr.c.server_id, bucket,
                   func.max(pr.c.country),
                   func.max(pr.c.partner), func.max(pr.c.server_ip), func.count(), up, func.sum(sr.c.sent),
                   func.sum(sr.c.answered), func.coalesce(func.sum(sr.c.response_avg_ms), 0.0),
                   func.count(sr.c.response_avg_ms), func.max(sr.c.code))
            .select_from(sr.join(pr, _SAME_ROUND)).group_by(collector, sr.c.server_id, bucket))


def _upsert(dialect: str, rows):
    """INSERT ... ON CONFLICT: sums add up, the highest code stays, labels take the new value."""
    stmt = _insert_for(dialect)(sip_rollups).from_select(_COLUMNS, rows)
    _, greatest = _least_greatest(dialect)
    t, new = sip_rollups.c, stmt.excluded
    updates = {name: t[name] + new[name] for name in _SUMMED}
    updates.update(max_code=greatest(t.max_code, new.max_code), country=new.country, partner=new.partner,
                   server_ip=new.server_ip)
    return stmt.on_conflict_do_update(index_elements=["resolution_seconds", "collector", "server_id", "bucket_start"],
                                      set_=updates)


@lru_cache(maxsize=4)
def round_statements(dialect: str) -> tuple:
    """The statements that fold stored rounds' SIP rows (rollups.round_params) into sip_rollups."""
    return tuple(_upsert(dialect, _select(dialect, resolution).where(sr.c.round_id.in_(ROUND_IDS), round_rows()))
                 for resolution in RESOLUTIONS_SECONDS)


def add_rounds(conn: Connection, round_ids: list[int], span: tuple[int, int]) -> None:
    """Fold the SIP rows of stored rounds (their raw rows' (first, last) t_us: span) into sip_rollups, inside the
    transaction that stored them."""
    if not round_ids:
        return
    for stmt in round_statements(conn.dialect.name):
        conn.execute(stmt, round_params(round_ids, span))


def rebuild(conn: Connection) -> None:
    """Recompute sip_rollups from the raw sip_results rows (used when upgrading a database)."""
    conn.execute(sip_rollups.delete())
    add_raw_rows(conn)


def add_raw_rows(conn: Connection) -> None:
    """Insert every raw SIP row's buckets into sip_rollups (which lacks them)."""
    dialect = conn.dialect.name
    for resolution in RESOLUTIONS_SECONDS:
        conn.execute(sip_rollups.insert().from_select(_COLUMNS, _select(dialect, resolution)))
