"""Copy a stored history into another database: `python -m storage.copy --from SRC_URL --to DST_URL`.

Meant for moving a SQLite history into PostgreSQL (any direction works). Stop the collector first: the copy
reads the source while nothing writes to it, and says so if something did.

- The target's schema is created (or upgraded) by init_db; the source must already be at the current version.
- Tables are copied in foreign-key order, a batch of rows per target transaction, with a progress line at most
  every PROGRESS_EVERY_SECONDS and at the end of each table.
- Resumable: rounds, the raw rows (ping_compact, with series and ping_classes, copied as stored: the ping_results
  view reads them the same on the target) and logs only ever get new rows (and lose the oldest to retention), so
  an interrupted copy carries on after the highest primary key the target already holds. The other tables are
  updated in place by the collector (an alert is resolved, a rollup bucket grows, a server's latest time moves),
  so each run copies them whole again; they are small next to ping_compact.
- The target must be empty or hold an unfinished copy of this same source (a copy_progress row names it);
  anything else is refused unless --force, which deletes the target's rows first.
- At the end the row counts of every table are compared, PostgreSQL sequences and SQLite's raw-row id counter
  (ping_ids, not copied) are moved past the copied ids (so the next INSERT does not collide with a copied row),
  and copy_progress is dropped.

Exit status: 0 copied and counts equal; 1 failed, counts differ, or the source changed meanwhile; 2 refused
(bad arguments, source schema too old, target holds other data); 130 interrupted (run it again to resume).
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

from sqlalchemy import Column, MetaData, String, Table, delete, func, insert, select, text, tuple_
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from storage import compact
from storage.engine import make_engine
from storage.migrations import current_version, init_db
from storage.schema import SCHEMA_VERSION, metadata

DEFAULT_BATCH_ROWS = 5000
PROGRESS_EVERY_SECONDS = 2.0
APPEND_ONLY = ("rounds", "series", "ping_classes", "ping_compact", "logs")
# Copied in this order (metadata.sorted_tables: a table after the tables its foreign keys point to). schema_info
# is not copied: init_db writes the target's; nor is ping_ids, the target's own id counter (fix_sequences).
# series and ping_classes first and ping_compact, the big one, last: the ping_results view joins the first two,
# so a resumed or watched copy reads every copied raw row through it.
_ORDER = {"series": 0, "ping_classes": 0, "ping_compact": 2}
COPIED = tuple(sorted((t for t in metadata.sorted_tables if t.name not in ("schema_info", "ping_ids")),
                      key=lambda t: _ORDER.get(t.name, 1)))

# The marker of an unfinished copy in the target, outside the app's schema (its own MetaData).
progress_metadata = MetaData()
copy_progress = Table("copy_progress", progress_metadata, Column("source", String(1000), nullable=False))


class CopyError(Exception):
    """A copy that cannot start or did not finish; `status` is the exit status to use."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


@dataclass
class TableState:
    """One table's numbers: source rows at the start, rows copied in this run, target rows at the end."""

    source_rows: int
    copied: int = 0
    target_rows: int | None = None


@dataclass
class CopyReport:
    """What a copy did, per table, in COPIED order."""

    tables: dict[str, TableState] = field(default_factory=dict)
    resumed: bool = False

    def mismatched(self) -> list[str]:
        """Tables whose target row count differs from the source's."""
        return [name for name, s in self.tables.items() if s.target_rows != s.source_rows]


def safe_url(url: str) -> str:
    """The URL with its password masked, fit for output and for the copy_progress marker."""
    return make_url(url).render_as_string(hide_password=True)


def _key(table: Table) -> list[Column]:
    return list(table.primary_key.columns)


def _after(table: Table, last: tuple | None):
    """WHERE clause for rows past a key (row-value comparison for a composite key)."""
    columns = _key(table)
    if last is None:
        return None
    if len(columns) == 1:
        return columns[0] > last[0]
    return tuple_(*columns) > tuple_(*last)


def _highest_key(conn: Connection, table: Table) -> tuple | None:
    """The table's greatest primary key, or None when it is empty."""
    row = conn.execute(select(*_key(table)).order_by(*(c.desc() for c in _key(table))).limit(1)).first()
    return None if row is None else tuple(row)


def _count(conn: Connection, table: Table, upto: tuple | None = None) -> int:
    """Rows of the table, or those with a key at or below `upto`."""
    stmt = select(func.count()).select_from(table)
    if upto is not None:
        columns = _key(table)
        stmt = stmt.where(columns[0] <= upto[0] if len(columns) == 1 else tuple_(*columns) <= tuple_(*upto))
    return conn.execute(stmt).scalar_one()


def fingerprint(engine: Engine) -> dict[str, tuple]:
    """Per copied table: row count and greatest key (and for alerts the last change), to notice a writer."""
    found = {}
    with engine.connect() as conn:
        for table in COPIED:
            extra = conn.execute(select(func.max(table.c.updated_at))).scalar() if table.name == "alerts" else None
            found[table.name] = (_count(conn, table), _highest_key(conn, table), extra)
    return found


def _check_source(source: Engine) -> None:
    """Refuse a source that is not at the current schema version."""
    with source.connect() as conn:
        version = current_version(conn)
    if version != SCHEMA_VERSION:
        what = "has no latency-monitor tables" if version < 0 else f"is at schema version {version}"
        raise CopyError(f"the source {what}, not {SCHEMA_VERSION}: start this version of the monitor on it once "
                        "(python pinger.py --init-db) so it is upgraded, then copy", status=2)


def _empty(conn: Connection, tables: list[Table]) -> None:
    """Delete every row of the tables (TRUNCATE on PostgreSQL: no per-row work for millions of rows)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables)))
        return
    for table in reversed(tables):  # referencing tables first (sip_results before rounds)
        conn.execute(delete(table))


def _target_rows(conn: Connection) -> dict[str, int]:
    return {t.name: _count(conn, t) for t in COPIED}


def _prepare_target(target: Engine, source_name: str, force: bool) -> bool:
    """Make sure the target may receive this copy; returns True when it resumes an unfinished one."""
    progress_metadata.create_all(target)
    with target.begin() as conn:
        marks = conn.execute(select(copy_progress.c.source)).scalars().all()
        held = {name: n for name, n in _target_rows(conn).items() if n}
        if force:
            _empty(conn, [*COPIED, copy_progress])
        elif marks and marks != [source_name]:
            raise CopyError(f"the target holds an unfinished copy of another source ({marks[0]}); "
                            "use --force to delete the target's rows and copy this source instead", status=2)
        elif not marks and held:
            listing = ", ".join(f"{name} {n}" for name, n in held.items())
            raise CopyError(f"the target already holds data ({listing} rows); refusing to mix histories. "
                            "Use --force to delete the target's rows first", status=2)
        if force or not marks:
            conn.execute(insert(copy_progress).values(source=source_name))
        return bool(marks) and not force


def _check_prefix(source: Engine, target: Engine, table: Table) -> tuple | None:
    """For a resumed append-only table: the target's rows must be the source's up to its highest key."""
    with target.connect() as conn:
        last, held = _highest_key(conn, table), _count(conn, table)
        mine = None if last is None else conn.execute(select(table).where(*_equal(table, last))).one()
    if last is None:
        return None
    with source.connect() as conn:
        theirs = conn.execute(select(table).where(*_equal(table, last))).first()
        upto = _count(conn, table, last)
    if upto != held or theirs is None or tuple(theirs) != tuple(mine):
        raise CopyError(f"{table.name}: the target's {held} rows are not the source's first rows (the source changed "
                        "since the interrupted copy, e.g. retention pruned it); use --force to copy again from the "
                        "start", status=2)
    return last


def _equal(table: Table, key: tuple) -> list:
    return [column == value for column, value in zip(_key(table), key)]


def _write(conn: Connection, table: Table, rows: list) -> None:
    """Insert a batch; on PostgreSQL through COPY, several times faster than INSERTs."""
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        names = ", ".join(f'"{c.name}"' for c in table.columns)
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(tuple(row))
        return
    conn.execute(insert(table), [dict(row._mapping) for row in rows])


class Progress:
    """Progress lines: at most one per `every` seconds per table, and one when a table is done."""

    def __init__(self, out: TextIO, every: float = PROGRESS_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.out, self.every, self.clock = out, every, clock
        self._last = 0.0
        self._started = 0.0

    def start(self, name: str, total: int, already: int) -> None:
        """Announce a table."""
        self._started = self._last = self.clock()
        note = f", {already} already there" if already else ""
        self._print(f"{name}: copying {max(total - already, 0)} of {total} rows{note}")

    def batch(self, name: str, done: int, total: int, copied: int, final: bool = False) -> None:
        """Report after a batch (throttled unless final)."""
        now = self.clock()
        if not final and now - self._last < self.every:
            return
        self._last = now
        rate = copied / max(now - self._started, 1e-9)
        percent = 100.0 * done / total if total else 100.0
        self._print(f"{name}: {done}/{total} rows ({percent:.1f}%), {rate:,.0f} rows/s" + (", done" if final else ""))

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def _copy_table(source: Engine, target: Engine, table: Table, start: tuple | None, upto: tuple | None, total: int,
                batch_rows: int, progress: Progress, state: TableState,
                after_batch: Callable[[str, int], None]) -> None:
    """Copy the rows with a key above `start` and at most `upto`, a batch per target transaction."""
    columns = _key(table)
    last, done = start, total - _remaining(source, table, start, upto)
    progress.start(table.name, total, done)
    while True:
        stmt = select(table).order_by(*columns).limit(batch_rows)
        if last is not None:
            stmt = stmt.where(_after(table, last))
        if upto is not None:
            stmt = stmt.where(columns[0] <= upto[0] if len(columns) == 1 else tuple_(*columns) <= tuple_(*upto))
        with source.connect() as conn:
            rows = conn.execute(stmt).all()
        if not rows:
            break
        with target.begin() as conn:
            _write(conn, table, rows)
        last = tuple(getattr(rows[-1], c.name) for c in columns)
        done += len(rows)
        state.copied += len(rows)
        after_batch(table.name, state.copied)
        progress.batch(table.name, done, total, state.copied)
        if len(rows) < batch_rows:
            break
    progress.batch(table.name, done, total, state.copied, final=True)


def _remaining(source: Engine, table: Table, start: tuple | None, upto: tuple | None) -> int:
    """How many source rows lie above `start` (and at most `upto`)."""
    if upto is None:
        return 0
    with source.connect() as conn:
        return _count(conn, table, upto) - (0 if start is None else _count(conn, table, start))


def fix_sequences(conn: Connection) -> None:
    """Move each id source past the greatest copied id (COPY and explicit ids leave a PostgreSQL sequence at 1)."""
    compact.reset_ids(conn)  # the raw rows' ids: ping_compact_id_seq or SQLite's ping_ids
    if conn.dialect.name != "postgresql":
        return  # SQLite's INTEGER PRIMARY KEY takes max(rowid) + 1 by itself
    for table in COPIED:
        columns = _key(table)
        if len(columns) != 1 or not columns[0].autoincrement or columns[0].type.python_type is not int:
            continue
        column = columns[0].name
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                          f'COALESCE((SELECT MAX("{column}") FROM "{table.name}"), 0) + 1, false)'),
                     {"table": table.name, "column": column})


def copy_history(source_url: str, target_url: str, *, batch_rows: int = DEFAULT_BATCH_ROWS, force: bool = False,
                 out: TextIO = sys.stdout, after_batch: Callable[[str, int], None] = lambda table, copied: None,
                 clock: Callable[[], float] = time.monotonic) -> CopyReport:
    """Copy every table of the source into the target (see the module docstring); raises CopyError."""
    if batch_rows < 1:
        raise CopyError(f"--batch-rows: must be at least 1, not {batch_rows}", status=2)
    if safe_url(source_url) == safe_url(target_url):
        raise CopyError("--from and --to name the same database", status=2)
    source = make_engine(source_url, readonly=True)
    target = make_engine(target_url)
    try:
        return _copy(source, target, safe_url(source_url), batch_rows, force, Progress(out, clock=clock), after_batch)
    finally:
        source.dispose()
        target.dispose()


def _copy(source: Engine, target: Engine, source_name: str, batch_rows: int, force: bool, progress: Progress,
          after_batch: Callable[[str, int], None]) -> CopyReport:
    _check_source(source)
    init_db(target)
    report = CopyReport(resumed=_prepare_target(target, source_name, force))
    before = fingerprint(source)
    for table in COPIED:
        total, highest, _extra = before[table.name]
        state = report.tables[table.name] = TableState(source_rows=total)
        if table.name in APPEND_ONLY:
            start = _check_prefix(source, target, table) if report.resumed else None
        else:
            with target.begin() as conn:  # changed in place by the collector: copied whole on every run
                _empty(conn, [table])
            start = None
        _copy_table(source, target, table, start, highest, total, batch_rows, progress, state, after_batch)
    with target.begin() as conn:
        fix_sequences(conn)
        for name, rows in _target_rows(conn).items():
            report.tables[name].target_rows = rows
    if fingerprint(source) != before:
        raise CopyError("the source changed during the copy (is a collector or web app still writing to it?); "
                        "stop it and run the same command again to copy the rest")
    print_counts(report, progress.out)
    if report.mismatched():
        raise CopyError(f"row counts differ in {', '.join(report.mismatched())}; run the command again, or --force")
    progress_metadata.drop_all(target)
    return report


def print_counts(report: CopyReport, out: TextIO) -> None:
    """The per-table count check as a small table."""
    print(f"{'table':<16} {'source':>12} {'target':>12}", file=out)
    for name, s in report.tables.items():
        mark = "" if s.target_rows == s.source_rows else "  MISMATCH"
        print(f"{name:<16} {s.source_rows:>12} {s.target_rows if s.target_rows is not None else '-':>12}{mark}",
              file=out)
    out.flush()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command's options."""
    parser = argparse.ArgumentParser(prog="python -m storage.copy",
                                     description="Copy a latency-monitor history into another database "
                                                 "(stop the collector first).")
    parser.add_argument("--from", dest="source", required=True, help="source URL, e.g. sqlite:///database.db")
    parser.add_argument("--to", dest="target", required=True,
                        help="target URL, e.g. postgresql+psycopg://monitor:secret@db-host/latency_monitor")
    parser.add_argument("--batch-rows", type=int, default=DEFAULT_BATCH_ROWS,
                        help="rows per target transaction (default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="delete the target's rows first, even if it holds other data")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    try:
        report = copy_history(args.source, args.target, batch_rows=args.batch_rows, force=args.force, out=out)
    except CopyError as exc:
        print(f"copy: {exc}", file=err)
        return exc.status
    except ArgumentError as exc:
        print(f"copy: not a database URL ({exc}); e.g. --from sqlite:///database.db", file=err)
        return 2
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        print(f"copy: {type(exc).__name__}: {reason}", file=err)
        return 1
    except KeyboardInterrupt:
        print("copy: interrupted; run the same command again to resume", file=err)
        return 130
    total = sum(s.copied for s in report.tables.values())
    print(f"copy complete{' (resumed)' if report.resumed else ''}: {total} rows copied into "
          f"{safe_url(args.target)}; every table's row count matches the source", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
