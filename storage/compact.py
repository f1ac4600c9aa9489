"""The compact layout of the raw rows (issue 12, Disk): one integer key per series instead of repeated label text,
times and RTTs as integers, clustered on (series, time), and the seed's `ping_results` as a view over it.

NOT YET REGISTERED in migrations.UPGRADES: the writer, retention, copy and the read queries still use the
ping_results table. `upgrade_to_compact(conn)` is the self-contained schema step the lead registers once they
are moved (see README "Compact raw rows"); bench/disk_bench.py runs it on a copy of a history to measure it.

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

import logging
import time

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, SmallInteger, String, Table, Text
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

# Kept apart from schema.metadata until the step is registered, so create_all does not make them in every database.
compact_metadata = MetaData()

SERIES_KEY = ("server_id", "server_ip", "country", "partner", "dn_ext", "collector", "probe")

series = Table(
    "series", compact_metadata,
    Column("id", Integer, primary_key=True),
    Column("server_id", String(255)),
    Column("server_ip", String(255), nullable=False),
    Column("country", String(255), nullable=False),
    Column("partner", String(255), nullable=False),
    Column("dn_ext", String(255)),
    Column("collector", String(255)),
    Column("probe", String(16)),
    Index("ix_series_server", "server_id"),
)

ping_classes = Table(
    "ping_classes", compact_metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("name", String(16), nullable=False, unique=True),
)

ping_compact = Table(
    "ping_compact", compact_metadata,
    Column("series_id", Integer, primary_key=True, autoincrement=False),
    Column("t_us", BigInteger, primary_key=True, autoincrement=False),
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("round_id", Integer),
    Column("packets_transmitted", SmallInteger),
    Column("packets_received", SmallInteger),
    Column("packets_lost", SmallInteger),
    Column("loss_percentage", Float),
    Column("min_us", Integer),
    Column("avg_us", Integer),
    Column("max_us", Integer),
    Column("mdev_us", Integer),
    Column("jitter_us", Integer),
    Column("median_us", Integer),
    Column("is_high_latency", Boolean),
    Column("success", Boolean),
    Column("class_id", SmallInteger),
    Column("r_factor_c", Integer),
    Column("mos_m", Integer),
    Column("samples_us", Text),
    Column("concerns", Text),
    Column("concern_data", Text),
    Column("error", Text),
    sqlite_with_rowid=False,
)

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


def _scaled_from(column: str, factor: int) -> str:
    """SQL for a float column scaled to an integer (NULL stays NULL)."""
    return f"CAST(round({column} * {factor}) AS BIGINT)"


def _base_us(column: str) -> str:
    """SQL for the base the samples are stored from: the row's min RTT in µs (0 when there is none)."""
    return f"coalesce({column}, 0)"


def _samples_us_from(dialect: str, column: str, base: str) -> str:
    """SQL for a JSON list of ms samples as comma-separated integer µs above `base` ('1810,null,0'): short digits,
    no brackets; a lost packet stays null."""
    if dialect == "sqlite":
        each = (f"(SELECT group_concat(CASE WHEN e.type = 'null' THEN 'null' ELSE CAST(round(e.value * 1000) "
                f"AS INTEGER) - {base} END, ',') FROM json_each({column}) e)")
    else:
        each = (f"(SELECT string_agg(CASE WHEN e.v IS NULL THEN 'null' ELSE (CAST(round(CAST(e.v AS NUMERIC) * 1000)"
                f" AS BIGINT) - {base})::text END, ',' ORDER BY e.o) FROM json_array_elements_text(CAST({column} AS "
                f"json)) WITH ORDINALITY AS e(v, o))")
    return f"CASE WHEN {column} IS NULL THEN NULL ELSE coalesce({each}, '') END"


def _samples_ms_to(dialect: str, column: str, base: str) -> str:
    """SQL for the compact samples back as the seed's JSON list of ms ('[120.43, null, 118.89]')."""
    listed = f"'[' || {column} || ']'"
    if dialect == "sqlite":
        each = (f"(SELECT group_concat(CASE WHEN e.type = 'null' THEN 'null' ELSE (e.value + {base}) / 1000.0 END,"
                f" ', ') FROM json_each({listed}) e)")
    else:
        each = (f"(SELECT string_agg(CASE WHEN e.v IS NULL THEN 'null' ELSE ((CAST(e.v AS BIGINT) + {base}) / "
                f"1000.0::float8)::text END, ', ' ORDER BY e.o) FROM json_array_elements_text(CAST({listed} AS json))"
                f" WITH ORDINALITY AS e(v, o))")
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


def view_sql(dialect: str) -> str:
    """CREATE VIEW ping_results: the seed's columns, names and meanings, over series and ping_compact."""
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
        "FROM ping_compact c JOIN series s ON s.id = c.series_id LEFT JOIN ping_classes k ON k.id = c.class_id")


def _same(left: str, right: str, dialect: str) -> str:
    """NULL-safe equality in SQL."""
    return f"{left} IS {right}" if dialect == "sqlite" else f"{left} IS NOT DISTINCT FROM {right}"


def _copy_sql(dialect: str) -> str:
    """INSERT ... SELECT of one id range of the old table into ping_compact."""
    match = " AND ".join(_same(f"s.{k}", f"p.{k}", dialect) for k in SERIES_KEY)
    rtt = ", ".join(_scaled_from(f"p.{ms}", 1000) for ms in RTT_COLUMNS)
    scaled = ", ".join(_scaled_from(f"p.{seed}", factor) for seed, (_, factor) in SCALED.items())
    names = (["series_id", "t_us", "id", "round_id", *SAME, *RTT_COLUMNS.values(),
              *(name for name, _ in SCALED.values()), "class_id", "samples_us", "concerns", "concern_data"])
    # concerns is stored only where it is not what the view derives from concern_data (rows before v4, odd ones).
    derived = _concern_texts(dialect, "p.concern_data")
    concerns = f"CASE WHEN {_same('p.concerns', derived, dialect)} THEN NULL ELSE p.concerns END"
    values = [f"(SELECT s.id FROM series s WHERE {match})", _t_us_from(dialect, "p.timestamp"), "p.id", "p.round_id",
              *(f"p.{name}" for name in SAME), rtt, scaled,
              "(SELECT k.id FROM ping_classes k WHERE k.name = p.latency_class)",
              _samples_us_from(dialect, "p.samples", _base_us(_scaled_from("p.min_time", 1000))), concerns,
              f"CASE WHEN p.concern_data IS NULL THEN NULL ELSE {_minified(dialect, 'p.concern_data')} END"]
    return (f"INSERT INTO ping_compact ({', '.join(names)}) SELECT {', '.join(values)} "
            "FROM ping_results_old p WHERE p.id >= :low AND p.id < :high")


def upgrade_to_compact(conn: Connection, batch_rows: int = BATCH_ROWS) -> None:
    """Schema step: move ping_results' rows into series + ping_compact (keeping every row) and make ping_results
    a view with the seed's columns. Idempotent up to the final DROP; runs inside init_db's one transaction."""
    dialect = conn.dialect.name
    if "ping_compact" in inspect(conn).get_table_names():
        return
    conn.execute(text("ALTER TABLE ping_results RENAME TO ping_results_old"))
    compact_metadata.create_all(conn)
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
    conn.execute(text(view_sql(dialect)))
    if dialect == "sqlite":
        _rollups_without_rowid(conn)


def _rollups_without_rowid(conn: Connection) -> None:
    """Remake SQLite's ping_rollups WITHOUT ROWID (same columns and key): its primary key is then the table, not
    a second copy of every key beside it. Reads and writes are unchanged."""
    from storage.schema import ping_rollups
    conn.execute(text("ALTER TABLE ping_rollups RENAME TO ping_rollups_old"))
    for index in ping_rollups.indexes:
        conn.execute(text(f"DROP INDEX IF EXISTS {index.name}"))
    rebuilt = ping_rollups.to_metadata(MetaData())
    rebuilt.dialect_options["sqlite"]["with_rowid"] = False
    rebuilt.create(conn)
    names = ", ".join(f'"{c.name}"' for c in ping_rollups.columns)
    conn.execute(text(f"INSERT INTO ping_rollups ({names}) SELECT {names} FROM ping_rollups_old "
                      "ORDER BY resolution_seconds, collector, server_id, bucket_start"))
    conn.execute(text("DROP TABLE ping_rollups_old"))
