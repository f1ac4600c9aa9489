"""The compact layout of the raw rows (issue 12, Disk): one integer key per series instead of repeated label text,
times and RTTs as integers, clustered on (series, time), and the seed's `ping_results` as a view over it.

Schema version 13 (migrations.UPGRADES[12] is `upgrade_to_compact`); the tables are described in storage/schema.py,
and `ensure_layout` (init_db, new and upgraded databases alike) makes the view and the id source. Writers store
`compact_rows(conn, rows)` into ping_compact; readers use the view with time filters on t_us.

Layout:
- series: one row per distinct (server_id, server_ip, country, partner, dn_ext, collector, probe).
- ping_classes: one row per latency class name ('good', 'down', ...), so a row holds a small integer.
- ping_compact: one row per stored measurement, primary key (series_id, t_us, id), WITHOUT ROWID on SQLite so the
  table is its own (series, time) index. t_us is the timestamp in microseconds since 1970 (UTC, naive as stored
  before); RTTs (min/avg/max/mdev/jitter/median, samples) in whole microseconds, r_factor in hundredths and mos
  in thousandths; everything else as it was. `id` keeps the seed's row id.
- ping_results: a VIEW with the seed's column names and meanings (times in ms as floats, timestamp as before:
  'YYYY-MM-DD HH:MM:SS.ffffff' text on SQLite, timestamp without time zone on PostgreSQL, samples a JSON list of ms).
"""
from __future__ import annotations

import json
import logging
import math
import time
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, Sequence, func, inspect, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from common.timeutil import to_naive_utc
from storage.schema import metadata, ping_classes, ping_compact, ping_ids, ping_results_v12, rounds, series

log = logging.getLogger(__name__)

SERIES_KEY = ("server_id", "server_ip", "country", "partner", "dn_ext", "collector", "probe")
# PostgreSQL's source of raw-row ids (SQLite's is the one-row ping_ids table).
ID_SEQUENCE = Sequence("ping_compact_id_seq", metadata=metadata)

# RTT columns: seed name in ms -> compact name in µs.
RTT_COLUMNS = {"min_time": "min_us", "avg_time": "avg_us", "max_time": "max_us", "mdev_time": "mdev_us",
               "jitter_time": "jitter_us", "median_time": "median_us"}
SCALED = {"r_factor": ("r_factor_c", 100), "mos": ("mos_m", 1000)}
SAME = ("packets_transmitted", "packets_received", "packets_lost", "loss_percentage", "is_high_latency", "success",
        "error")

# Rows copied per INSERT ... SELECT while upgrading: bounded memory and progress lines on a long history.
BATCH_ROWS = 500_000


def _t_us_from(dialect: str, column: str) -> str:
    """SQL for a stored seed timestamp as integer microseconds since 1970."""
    if dialect == "sqlite":
        # The text is 'YYYY-MM-DD HH:MM:SS[.f...]' (SQLAlchemy writes 6 digits, normalised seed rows 3).
        frac = (f"CASE WHEN length({column}) > 20 THEN CAST(substr(substr({column}, 21) || '000000', 1, 6) "
                f"AS INTEGER) ELSE 0 END")
        return f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 + {frac})"
    return f"CAST(round(extract(epoch FROM {column}) * 1000000) AS BIGINT)"


def _scaled_from(column: str, factor: int, dialect: str = "sqlite") -> str:
    """SQL for a float scaled to an integer, halves away from zero in double arithmetic on both backends (as
    _rounded does in Python; PostgreSQL's round(float8) goes to even and its CAST to bigint rounds)."""
    trunc = (lambda v: f"CAST({v} AS INTEGER)") if dialect == "sqlite" else (lambda v: f"CAST(trunc({v}) AS BIGINT)")
    value = f"CAST({column} AS DOUBLE PRECISION) * {factor}"
    return f"CASE WHEN {value} >= 0 THEN {trunc(f'{value} + 0.5')} ELSE -{trunc(f'0.5 - {value}')} END"


def _base_us(column: str) -> str:
    """SQL for the base the samples are stored from: the row's min RTT in µs (0 when there is none)."""
    return f"coalesce({column}, 0)"


def _samples_us_from(dialect: str, column: str, base: str) -> str:
    """SQL for a JSON list of ms samples as comma-separated integer µs above `base` ('1810,null,0'): short digits,
    no brackets; a lost packet stays null."""
    if dialect == "sqlite":
        each = (f"(SELECT group_concat(CASE WHEN e.type = 'null' THEN 'null' ELSE "
                f"{_scaled_from('e.value', 1000, dialect)} - {base} END, ',') FROM json_each({column}) e)")
    else:
        each = (f"(SELECT string_agg(CASE WHEN e.v IS NULL THEN 'null' ELSE ({_scaled_from('e.v', 1000, dialect)}"
                f" - {base})::text END, ',' ORDER BY e.o) FROM json_array_elements_text(CAST({column} AS "
                f"json)) WITH ORDINALITY AS e(v, o))")
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE coalesce({each}, '') END"


def _samples_ms_to(dialect: str, column: str, base: str) -> str:
    """SQL for the compact samples back as the seed's JSON list of ms ('[120.43, null, 118.89]')."""
    listed = f"'[' || {column} || ']'"
    # PostgreSQL prints a whole float8 as '11', Python's json.dumps as '11.0': the same text as the writer stored.
    pg_text = "(CASE WHEN t ~ '[.eEnN]' THEN t ELSE t || '.0' END)"
    if dialect == "sqlite":
        each = (f"(SELECT group_concat(CASE WHEN e.type = 'null' THEN 'null' ELSE (e.value + {base}) / 1000.0 END,"
                f" ', ') FROM json_each({listed}) e)")
    else:
        each = (f"(SELECT string_agg(CASE WHEN e.v IS NULL THEN 'null' ELSE {pg_text} END, ', ' ORDER BY e.o) "
                f"FROM json_array_elements_text(CAST({listed} AS json)) WITH ORDINALITY AS e(v, o), "
                f"LATERAL (SELECT ((CAST(e.v AS BIGINT) + {base}) / 1000.0::float8)::text AS t) f)")
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE '[' || coalesce({each}, '') || ']' END"


def _concern_texts(dialect: str, column: str) -> str:
    """SQL for the seed's concerns text derived from concern_data: its texts joined by '; ' (as the writer does)."""
    if dialect == "sqlite":
        return f"(SELECT group_concat(json_extract(e.value, '$.text'), '; ') FROM json_each({column}) e)"
    return (f"(SELECT string_agg(e.v ->> 'text', '; ' ORDER BY e.o) FROM json_array_elements(CAST({column} AS json))"
            f" WITH ORDINALITY AS e(v, o))")


def _minified(dialect: str, column: str) -> str:
    """SQL for JSON text without the blanks json.dumps puts after ':' and ',' (SQLite's json(); PostgreSQL keeps
    the text: its json type has no minifier, and the disk target is SQLite's)."""
    return f"json({column})" if dialect == "sqlite" else column


def _timestamp_to(dialect: str, column: str) -> str:
    """SQL for integer µs back as the seed's timestamp (SQLite: the text SQLAlchemy writes)."""
    if dialect == "sqlite":
        return (f"(strftime('%Y-%m-%d %H:%M:%S', {column} / 1000000, 'unixepoch') || '.' || "
                f"printf('%06d', {column} % 1000000))")
    return f"(TIMESTAMP '1970-01-01 00:00:00' + {column} * INTERVAL '1 microsecond')"


class TimeUs(FunctionElement):
    """SQL for a DateTime column's value as integer µs since 1970 (ping_compact.t_us's form), on either backend."""

    type = BigInteger()
    inherit_cache = True
    name = "t_us_of"


@compiles(TimeUs)
def _compile_time_us(element, compiler, **kw):
    """TimeUs as _t_us_from's SQL for the dialect being compiled."""
    column = compiler.process(list(element.clauses)[0], **kw)
    return _t_us_from(compiler.dialect.name, column)


def view_sql(dialect: str) -> str:
    """CREATE VIEW ping_results: the seed's columns, names and meanings, over series and ping_compact."""
    # SQLite: CROSS JOIN keeps series the outer loop, so every read is one range of ping_compact's (series, time)
    # key per series. Left to itself, with no ANALYZE statistics, it scanned all of ping_compact and looked each
    # row's series up (a writer's fold read 8.8 M rows a round). PostgreSQL plans by its statistics.
    join = "CROSS JOIN" if dialect == "sqlite" else "JOIN"
    # DOUBLE PRECISION first: PostgreSQL's integer / 1000.0 is NUMERIC, and the seed's columns are floats.
    rtt = ", ".join(f"CAST(c.{us} AS DOUBLE PRECISION) / 1000 AS {ms}" for ms, us in RTT_COLUMNS.items())
    scaled = ", ".join(f"CAST(c.{name} AS DOUBLE PRECISION) / {factor} AS {seed}"
                       for seed, (name, factor) in SCALED.items())
    return (
        "CREATE VIEW ping_results AS SELECT c.id AS id, s.server_ip AS server_ip, s.country AS country, "
        f"s.partner AS partner, s.dn_ext AS dn_ext, {_timestamp_to(dialect, 'c.t_us')} AS timestamp, "
        "c.packets_transmitted AS packets_transmitted, c.packets_received AS packets_received, "
        f"c.packets_lost AS packets_lost, c.loss_percentage AS loss_percentage, {rtt}, "
        "c.is_high_latency AS is_high_latency, c.success AS success, "
        f"coalesce(c.concerns, {_concern_texts(dialect, 'c.concern_data')}) AS concerns, "
        "s.server_id AS server_id, c.round_id AS round_id, s.collector AS collector, s.probe AS probe, "
        f"k.name AS latency_class, {_samples_ms_to(dialect, 'c.samples_us', _base_us('c.min_us'))} AS samples, "
        "c.error AS error, "
        f"{scaled}, c.concern_data AS concern_data, "
        "c.t_us AS t_us, c.series_id AS series_id "
        f"FROM series s {join} ping_compact c ON c.series_id = s.id LEFT JOIN ping_classes k ON k.id = c.class_id")


def _same(left: str, right: str, dialect: str) -> str:
    """NULL-safe equality in SQL."""
    return f"{left} IS {right}" if dialect == "sqlite" else f"{left} IS NOT DISTINCT FROM {right}"


def _copy_sql(dialect: str) -> str:
    """INSERT ... SELECT of one id range of the old table into ping_compact."""
    match = " AND ".join(_same(f"s.{k}", f"p.{k}", dialect) for k in SERIES_KEY)
    rtt = ", ".join(_scaled_from(f"p.{ms}", 1000, dialect) for ms in RTT_COLUMNS)
    scaled = ", ".join(_scaled_from(f"p.{seed}", factor, dialect) for seed, (_, factor) in SCALED.items())
    names = (["series_id", "t_us", "id", "round_id", *SAME, *RTT_COLUMNS.values(),
              *(name for name, _ in SCALED.values()), "class_id", "samples_us", "concerns", "concern_data"])
    # concerns is stored only where it is not what the view derives from concern_data (rows before v4, odd ones).
    derived = _concern_texts(dialect, "p.concern_data")
    concerns = f"CASE WHEN {_same('p.concerns', derived, dialect)} THEN NULL ELSE p.concerns END"
    values = [f"(SELECT s.id FROM series s WHERE {match})", _t_us_from(dialect, "p.timestamp"), "p.id", "p.round_id",
              *(f"p.{name}" for name in SAME), rtt, scaled,
              "(SELECT k.id FROM ping_classes k WHERE k.name = p.latency_class)",
              _samples_us_from(dialect, "p.samples", _base_us(_scaled_from("p.min_time", 1000, dialect))), concerns,
              f"CASE WHEN p.concern_data IS NULL THEN NULL ELSE {_minified(dialect, 'p.concern_data')} END"]
    return (f"INSERT INTO ping_compact ({', '.join(names)}) SELECT {', '.join(values)} "
            "FROM ping_results_old p WHERE p.id >= :low AND p.id < :high")


def upgrade_to_compact(conn: Connection, batch_rows: int = BATCH_ROWS) -> None:
    """Schema step 12 -> 13: move ping_results' rows into series + ping_compact (keeping every row, ids included)
    and make ping_results a view with the seed's columns. Does nothing on a database already compact; runs inside
    init_db's one transaction, so a failure leaves the database as it was."""
    dialect = conn.dialect.name
    if "ping_compact" in inspect(conn).get_table_names():
        return
    conn.execute(text("ALTER TABLE ping_results RENAME TO ping_results_old"))
    metadata.create_all(conn, tables=[series, ping_classes, ping_compact, ping_ids])
    key = ", ".join(SERIES_KEY)
    conn.execute(text(f"INSERT INTO series ({key}) SELECT DISTINCT {key} FROM ping_results_old"))
    conn.execute(text("INSERT INTO ping_classes (id, name) SELECT row_number() OVER (ORDER BY latency_class), "
                      "latency_class FROM (SELECT DISTINCT latency_class FROM ping_results_old "
                      "WHERE latency_class IS NOT NULL) d"))
    low, high = conn.execute(text("SELECT min(id), max(id) FROM ping_results_old")).one()
    copy, started = text(_copy_sql(dialect)), time.monotonic()
    for start in range(low or 0, (high or 0) + 1, batch_rows):
        conn.execute(copy, {"low": start, "high": start + batch_rows})
        log.info("compact upgrade: rows below id %d copied (%.0f s)", start + batch_rows, time.monotonic() - started)
    before = conn.execute(text("SELECT count(*) FROM ping_results_old")).scalar_one()
    after = conn.execute(text("SELECT count(*) FROM ping_compact")).scalar_one()
    if before != after:  # a row whose series or class did not match would be lost: refuse the step
        raise RuntimeError(f"compact upgrade copied {after} of {before} ping_results rows; nothing changed")
    for index in ("ix_ping_results_server_time", "ix_ping_results_country_time", "ix_ping_results_time",
                  "ix_ping_results_round"):
        conn.execute(text(f"DROP INDEX IF EXISTS {index}"))
    conn.execute(text("DROP TABLE ping_results_old"))
    _reset_ids(conn, (high or 0) + 1)  # first: ensure_layout would find the next id by reading every row
    ensure_layout(conn)
    if dialect == "postgresql":  # plan the first rounds' folds with statistics, not before autovacuum gets to it
        conn.execute(text("ANALYZE series, ping_classes, ping_compact"))


def ensure_layout(conn: Connection) -> None:
    """The parts of the compact layout create_all does not make: the ping_results view, and the id source
    (PostgreSQL's sequence, SQLite's ping_ids row). Called by init_db on new and upgraded databases alike."""
    if conn.dialect.name == "postgresql":
        ID_SEQUENCE.create(conn, checkfirst=True)
    elif conn.execute(select(func.count()).select_from(ping_ids)).scalar_one() == 0:
        next_id = (conn.execute(select(func.max(ping_compact.c.id))).scalar() or 0) + 1
        conn.execute(ping_ids.insert().values(next_id=next_id))
    if "ping_results" not in inspect(conn).get_view_names():
        conn.execute(text(view_sql(conn.dialect.name)))


def _reset_ids(conn: Connection, next_id: int) -> None:
    """Make `next_id` the next raw-row id handed out."""
    if conn.dialect.name == "postgresql":
        ID_SEQUENCE.create(conn, checkfirst=True)
        conn.execute(text("SELECT setval('ping_compact_id_seq', :v, false)"), {"v": next_id})
        return
    conn.execute(ping_ids.delete())
    conn.execute(ping_ids.insert().values(next_id=next_id))


def reset_ids(conn: Connection) -> None:
    """Move the id source past the highest stored raw-row id (after rows were copied in with their ids)."""
    _reset_ids(conn, (conn.execute(select(func.max(ping_compact.c.id))).scalar() or 0) + 1)


def take_ids(conn: Connection, count: int) -> list[int]:
    """`count` new raw-row ids, inside the caller's transaction."""
    if count <= 0:
        return []
    if conn.dialect.name == "postgresql":
        return list(conn.execute(text("SELECT nextval('ping_compact_id_seq') FROM generate_series(1, :n)"),
                                 {"n": count}).scalars())
    first = conn.execute(text("UPDATE ping_ids SET next_id = next_id + :n RETURNING next_id - :n"),
                         {"n": count}).scalar_one()
    return list(range(first, first + count))


def newest_id(conn: Connection) -> int | None:
    """A cheap change stamp of the raw rows: the newest round id (every stored round's rows come with a new round).
    Not max(ping_compact.id), which has no index of its own, nor the id sequence, which the web app's PostgreSQL
    role may not read."""
    return conn.execute(select(func.max(rounds.c.id))).scalar()


def _per_series(conn: Connection, aggregate, where=None):
    """aggregate(t_us) over every series' own extreme (one key seek per series), as integer µs or None."""
    inner = (select(aggregate(ping_compact.c.t_us)).where(ping_compact.c.series_id == series.c.id)
             .correlate(series).scalar_subquery())
    # select_from(series): without it the outer query names no table, so the subquery would not correlate
    # and would join series itself, scanning every stored row instead of seeking each series' first key.
    picked = select(inner.label("t")).select_from(series)
    if where is not None:
        picked = picked.where(where)
    sub = picked.subquery()
    return conn.execute(select(aggregate(sub.c.t))).scalar()


def oldest_at(conn: Connection) -> datetime | None:
    """The oldest stored raw row's time (naive UTC), from each series' first key."""
    return from_t_us(_per_series(conn, func.min))


def newest_at(conn: Connection, server_id: str) -> datetime | None:
    """The newest stored raw row's time of one server (naive UTC), from each of its series' last key."""
    return from_t_us(_per_series(conn, func.max, series.c.server_id == server_id))


# --- The write side: what the writer stores instead of a ping_results row (used once the step is registered).

_EPOCH = datetime(1970, 1, 1)


def _rounded(value: float | None, factor: int) -> int | None:
    """value * factor as an integer, halves away from zero in double arithmetic, as _scaled_from does in SQL."""
    if value is None:
        return None
    scaled = value * factor
    return math.floor(scaled + 0.5) if scaled >= 0 else math.ceil(scaled - 0.5)


def t_us(at: datetime | str) -> int:
    """A time (naive = UTC, as stored; ISO text accepted) as integer µs since 1970: ping_compact.t_us."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return (to_naive_utc(at) - _EPOCH) // timedelta(microseconds=1)


def from_t_us(value: int | None) -> datetime | None:
    """Stored integer µs back as a naive UTC datetime."""
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def encode_samples(samples: str | None, min_us: int | None) -> str | None:
    """The seed's JSON list of ms samples as stored: comma-separated µs above min_us, 'null' for a lost packet."""
    if samples is None:
        return None
    base = min_us or 0
    return ",".join("null" if v is None else str(_rounded(v, 1000) - base) for v in json.loads(samples))


def _stored_concerns(concerns: str | None, concern_data: str | None) -> str | None:
    """concerns as stored: NULL where the view derives the same text from concern_data."""
    texts = [c.get("text") for c in json.loads(concern_data)] if concern_data else []
    derived = "; ".join(t for t in texts if t is not None) if texts else None
    return None if concerns == derived else concerns


def _key_ids(conn: Connection, rows: list[dict]) -> tuple[dict[tuple, int], dict[str, int]]:
    """The series and class ids of the rows, adding the ones not stored yet."""
    found = {tuple(r[:-1]): r[-1] for r in conn.execute(select(*(series.c[k] for k in SERIES_KEY), series.c.id))}
    for key in {tuple(row.get(k) for k in SERIES_KEY) for row in rows} - found.keys():
        found[key] = conn.execute(series.insert().values(dict(zip(SERIES_KEY, key)))).inserted_primary_key[0]
    classes = dict(conn.execute(select(ping_classes.c.name, ping_classes.c.id)).all())
    for name in {row.get("latency_class") for row in rows} - classes.keys() - {None}:
        _add_class(conn, name, classes)
    return found, classes


def _add_class(conn: Connection, name: str, classes: dict[str, int]) -> None:
    """Store a new class name under the next free id and put it in `classes`. Two collectors adding classes at
    once on PostgreSQL may pick the same id or name: ON CONFLICT DO NOTHING waits for the other's COMMIT and skips,
    and the loop reads back what was stored (another id for the name, or the next id to try)."""
    insert_for = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    while name not in classes:
        candidate = max(classes.values(), default=0) + 1
        conn.execute(insert_for(ping_classes).values(id=candidate, name=name).on_conflict_do_nothing())
        classes.update(conn.execute(select(ping_classes.c.name, ping_classes.c.id)).all())


# The columns a ping_results-shaped row may have (the seed's and the additions up to version 12).
ROW_COLUMNS = frozenset(c.name for c in ping_results_v12.columns)


def compact_rows(conn: Connection, rows: list[dict]) -> list[dict]:
    """ping_results-shaped rows (collector/rows.py + round_id, collector) as ping_compact rows, with new ids from
    the id source (an explicit `id` is kept); new series and classes are stored on the way."""
    unknown = set().union(*rows) - ROW_COLUMNS if rows else set()
    if unknown:  # as the INSERT into the table refused them before version 13; say which
        raise ValueError(f"ping_results has no column(s) {sorted(unknown)}")
    series_ids, class_ids = _key_ids(conn, rows)
    ids = iter(take_ids(conn, sum(1 for row in rows if row.get("id") is None)))
    on_sqlite = conn.dialect.name == "sqlite"
    out = []
    for row in rows:
        record = {"series_id": series_ids[tuple(row.get(k) for k in SERIES_KEY)], "t_us": t_us(row["timestamp"]),
                  "id": row["id"] if row.get("id") is not None else next(ids), "round_id": row.get("round_id"),
                  **{name: row.get(name) for name in SAME},
                  **{us: _rounded(row.get(ms), 1000) for ms, us in RTT_COLUMNS.items()},
                  **{name: _rounded(row.get(seed), factor) for seed, (name, factor) in SCALED.items()},
                  "class_id": class_ids.get(row.get("latency_class")),
                  "concerns": _stored_concerns(row.get("concerns"), row.get("concern_data"))}
        record["samples_us"] = encode_samples(row.get("samples"), record["min_us"])
        data = row.get("concern_data")
        record["concern_data"] = (json.dumps(json.loads(data), separators=(",", ":"))
                                  if data is not None and on_sqlite else data)
        out.append(record)
    return out
