"""Data retention: delete rows older than their configured horizon, in small batches through the Writer.

Each batch deletes at most `batch_rows` rows, oldest first, chosen by primary key (`id IN (SELECT id ... ORDER BY
time LIMIT n)`, or for a composite key the chosen keys deleted one by one; portable SQLAlchemy Core, no
DELETE ... LIMIT, which SQLite only has as a compile-time option), in its own short transaction under the Writer's
lock, released before the next batch, so a round's write waits for one batch at most. One call stops when its
budget (batches, seconds) is spent or a stop is asked for; the next call carries on where it left off.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, NamedTuple

from sqlalchemy import Table, bindparam, delete, exists, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from storage.compact import TimeUs, t_us
from storage.schema import (availability_rollups, country_rollups, incidents, logs, ping_compact, ping_rollups,
                            rounds, series, sip_results, sip_rollups)
from common.timeutil import to_naive_utc
from storage.writer import Writer

DEFAULT_BUDGET_SECONDS = 1.0
DEFAULT_MAX_BATCHES = 50
DEFAULT_BATCH_ROWS = 5000


class Expiring(NamedTuple):
    """One kind of expiring row: its table, time column, extra WHERE (or None), retention key and report label;
    `stored` turns the cutoff into the time column's form, `oldest_first` orders each batch by time."""

    table: Table
    time_column: str
    where: ColumnElement | None
    retention_key: str
    label: str
    stored: Callable[[datetime], object] | None = None
    oldest_first: bool = True


# The kind (horizons() key) of each rollup resolution; its retention key is the kind + "_days".
RESOLUTION_KINDS = {300: "five_minute_rollup", 3600: "hourly_rollup"}
# Rollup tables (resolution_seconds and bucket_start columns): another one is one more entry here.
ROLLUP_TABLES: tuple[Table, ...] = (ping_rollups, country_rollups, sip_rollups)


def rollup_entry(table: Table, resolution_seconds: int) -> Expiring:
    """The Expiring rows of one resolution of a rollup table, kept for that resolution's retention key."""
    kind = RESOLUTION_KINDS[resolution_seconds]
    return Expiring(table, "bucket_start", table.c.resolution_seconds == resolution_seconds, f"{kind}_days",
                    f"{table.name}_{resolution_seconds}s")


# The raw rows (the ping_results view's): by t_us within each series, one key range per series (the clustered key
# has no time-first index, so "oldest first" across series would sort every expired row; each batch is
# the oldest of some series instead, and every expired row goes in the end).
_EACH_SERIES = ping_compact.c.series_id.in_(select(series.c.id))
# A round's raw rows are stamped within it (collector/rounds.py stamps them at its start), so "no row of it left"
# is one key range per series over the round's own span (ping_compact has no round_id index). A row stamped
# outside its round (a clock that jumped) keeps its round_id but does not hold the round.
_ROUND_ROWS_LEFT = exists().where(ping_compact.c.series_id.in_(select(series.c.id)),
                                  ping_compact.c.t_us.between(TimeUs(rounds.c.started_at), TimeUs(rounds.c.finished_at)),
                                  ping_compact.c.round_id == rounds.c.id)

# Pruned in this order each call. rounds come right after the raw rows: a round goes once its last result is gone
# (sip_results.round_id references it, so deleting it earlier would break that foreign key).
PRUNABLE: tuple[Expiring, ...] = (
    Expiring(ping_compact, "t_us", _EACH_SERIES, "raw_days", "ping_results", stored=t_us, oldest_first=False),
    Expiring(sip_results, "timestamp", None, "raw_days", "sip_results"),
    Expiring(rounds, "finished_at", ~_ROUND_ROWS_LEFT & ~exists().where(sip_results.c.round_id == rounds.c.id),
             "raw_days", "rounds"),
    *(rollup_entry(table, resolution) for table in ROLLUP_TABLES for resolution in RESOLUTION_KINDS),
    Expiring(logs, "timestamp", None, "logs_days", "logs"),
    # SLA history (issue 15): kept apart from the raw rows, which it is meant to outlive; an open incident stays.
    Expiring(incidents, "ended_at", incidents.c.ended_at.is_not(None), "sla_days", "incidents"),
    *(Expiring(availability_rollups, "bucket_start", availability_rollups.c.resolution_seconds == resolution,
               "sla_days", f"availability_rollups_{resolution}s") for resolution in (3600, 86400)),
)


def kind_of(retention_key: str) -> str:
    """The horizons() key of a retention key: 'raw_days' -> 'raw'."""
    return retention_key.removesuffix("_days")


def horizons(retention: dict, now: datetime) -> dict[str, datetime | None]:
    """Per kind (raw, five_minute_rollup, hourly_rollup, logs) the oldest time still kept; None = kept forever."""
    keys = dict.fromkeys(e.retention_key for e in PRUNABLE)  # ordered and unique
    return {kind_of(key): _cutoff(retention.get(key), now) for key in keys}


def _cutoff(days: float | None, now: datetime) -> datetime | None:
    """now minus days as naive UTC (the stored form); None when the key keeps rows forever (null or absent)."""
    if days is None:
        return None
    try:
        return to_naive_utc(now) - timedelta(days=days)
    except OverflowError:  # before year 1 (e.g. raw_days 1e9): no stored row is that old, so nothing expires
        return None


@dataclass
class Budget:
    """What one prune call may still do: at most max_batches batches, until the deadline, unless stopped."""

    max_batches: int
    deadline: float
    should_stop: Callable[[], bool]
    clock: Callable[[], float] = time.monotonic
    batches: int = 0

    def allows_another(self) -> bool:
        """True while batches, time and the stop flag all allow one more batch."""
        return self.batches < self.max_batches and self.clock() < self.deadline and not self.should_stop()


def expired_keys(entry: Expiring, cutoff: datetime, batch_rows: int):
    """SELECT of the primary keys of at most batch_rows of entry's rows older than cutoff, oldest first."""
    at = entry.table.c[entry.time_column]
    bound = cutoff if entry.stored is None else entry.stored(cutoff)
    conditions = [at < bound] + ([] if entry.where is None else [entry.where])
    # correlate(None): used inside a DELETE of the same table, the subquery must keep that table in its FROM.
    chosen = select(*entry.table.primary_key.columns).where(*conditions)
    return (chosen.order_by(at) if entry.oldest_first else chosen).limit(batch_rows).correlate(None)


def in_subquery_delete(entry: Expiring, chosen):
    """DELETE ... WHERE id IN (SELECT id ... LIMIT n), for a one-column key: both sides use an index."""
    key = entry.table.primary_key.columns[0]
    return delete(entry.table).where(key.in_(chosen))


def by_key_delete(entry: Expiring):
    """DELETE of one row by its full primary key, its values bound as key_<column> (for executemany)."""
    return delete(entry.table).where(*[c == bindparam(f"key_{c.name}") for c in entry.table.primary_key.columns])


def _delete_by_composite_key(conn: Connection, entry: Expiring, chosen) -> int:
    """Fetch the chosen keys, then delete each by its full primary key; returns how many."""
    # Not "(a, b, c) IN (SELECT ...)": when a key column is text (server_id) SQLite searches the key's index on
    # the leading column only, i.e. reads every row of that resolution for each batch.
    names = [f"key_{c.name}" for c in entry.table.primary_key.columns]
    rows = conn.execute(chosen).all()
    if rows:
        conn.execute(by_key_delete(entry), [dict(zip(names, row)) for row in rows])
    return len(rows)


def delete_batch(writer: Writer, entry: Expiring, cutoff: datetime, batch_rows: int) -> int:
    """Delete at most batch_rows expired rows of entry in one transaction under the Writer's lock; returns how many."""
    chosen = expired_keys(entry, cutoff, batch_rows)
    # Writer.transaction() takes the lock and marks the thread as writing (so a log record emitted meanwhile
    # is not written to the logs table, which would deadlock on the same lock). The lock is released on return.
    with writer.transaction() as conn:
        if len(entry.table.primary_key.columns) == 1:
            return conn.execute(in_subquery_delete(entry, chosen)).rowcount
        return _delete_by_composite_key(conn, entry, chosen)


def _prune_entry(writer: Writer, entry: Expiring, cutoff: datetime, batch_rows: int, budget: Budget) -> int:
    """Delete entry's expired rows batch by batch while the budget allows; returns the rows deleted."""
    total = 0
    while budget.allows_another():
        deleted = delete_batch(writer, entry, cutoff, batch_rows)
        budget.batches += 1
        total += deleted
        if deleted < batch_rows:  # a short batch means nothing older is left
            break
    return total


def prune(writer: Writer, retention: dict, now: datetime, *, budget_seconds: float = DEFAULT_BUDGET_SECONDS,
          max_batches: int = DEFAULT_MAX_BATCHES, should_stop: Callable[[], bool] = lambda: False,
          clock: Callable[[], float] = time.monotonic) -> dict[str, int]:
    """One budgeted pruning step; returns rows deleted per PRUNABLE label (0 for kinds kept forever)."""
    cutoffs = horizons(retention, now)
    batch_rows = int(retention.get("batch_rows") or DEFAULT_BATCH_ROWS)
    budget = Budget(max_batches, clock() + budget_seconds, should_stop, clock)
    deleted = {}
    for entry in PRUNABLE:
        cutoff = cutoffs[kind_of(entry.retention_key)]
        deleted[entry.label] = 0 if cutoff is None else _prune_entry(writer, entry, cutoff, batch_rows, budget)
    return deleted
