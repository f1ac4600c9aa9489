"""Table definitions (SQLAlchemy Core), shared by the writer and the read-side queries."""
from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData,
                        SmallInteger, String, Table, Text)

SCHEMA_VERSION = 13

# v12, PostgreSQL only: every round rewrites the current bucket's row of each server in the rollup tables and
# server_latest. With pages filled to 70 % the new row version fits on the same page, and since no index covers
# an updated column PostgreSQL makes it a heap-only (HOT) update, with no index entry to add: a 1,000-server
# round's four rollup upserts fell from ~20 to ~10 ms each. (SQLite updates rows in place; it has no such knob.)
HOT_UPDATES = {"postgresql_with": {"fillfactor": 70}}

metadata = MetaData()

schema_info = Table(
    "schema_info", metadata,
    Column("version", Integer, nullable=False),
)

# One row per round a collector ran; ping_results rows point to it, and both are written in one
# transaction so a crash never leaves half a round.
rounds = Table(
    "rounds", metadata,
    Column("id", Integer, primary_key=True),
    Column("collector", String(255), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=False),
    Column("duration_ms", Float, nullable=False),
    Column("servers", Integer, nullable=False),
    Column("failures", Integer, nullable=False),
    # v10: the collector's own id for the round (collector name + a UUID), so a round sent twice (a crash between
    # the remote COMMIT and the spool's delete) is stored once. NULL on rounds stored before v10.
    Column("uid", String(96)),
    Index("ix_rounds_finished", "finished_at"),
    Index("ux_rounds_uid", "uid", unique=True),
)

# Version 13 (issue 12, Disk): the raw rows live in series + ping_compact (below); `ping_results` is a VIEW with
# the seed's columns (storage/compact.py makes it, in init_db for new and upgraded databases alike). This is the
# one place that says so: ping_results_v12 (the table until version 12, own MetaData) is what the upgrade steps
# before 13 and the tests of older databases use; `ping_results` (own MetaData, never in create_all) describes the
# view for the read queries, its columns the table's plus t_us and series_id. A time filter on the view must be on
# t_us (integer µs, compact.t_us(datetime)): its `timestamp` is computed, and a filter on it reads every row.
legacy_metadata = MetaData()
view_metadata = MetaData()

# The seed's columns keep their names and meaning (times in ms); the rest are additions.
ping_results_v12 = Table(
    "ping_results", legacy_metadata,
    Column("id", Integer, primary_key=True),
    Column("server_ip", String(255), nullable=False),
    Column("country", String(255), nullable=False),
    Column("partner", String(255), nullable=False),
    Column("dn_ext", String(255)),
    Column("timestamp", DateTime, nullable=False),
    Column("packets_transmitted", Integer),
    Column("packets_received", Integer),
    Column("packets_lost", Integer),
    Column("loss_percentage", Float),
    Column("min_time", Float),
    Column("avg_time", Float),
    Column("max_time", Float),
    Column("mdev_time", Float),
    Column("is_high_latency", Boolean),
    Column("success", Boolean),
    Column("concerns", Text),
    Column("server_id", String(255)),
    Column("round_id", Integer),
    Column("collector", String(255)),
    Column("probe", String(16)),
    Column("jitter_time", Float),
    Column("median_time", Float),
    Column("latency_class", String(16)),
    Column("samples", Text),
    Column("error", Text),
    Column("r_factor", Float),
    Column("mos", Float),
    # The concerns as data: a JSON list of {kind, value, limit, text}; `concerns` holds the texts joined by "; ".
    Column("concern_data", Text),
    Index("ix_ping_results_server_time", "server_id", "timestamp"),
    Index("ix_ping_results_country_time", "country", "timestamp"),
    Index("ix_ping_results_time", "timestamp"),
    Index("ix_ping_results_round", "round_id"),
)


ping_results = Table(
    "ping_results", view_metadata,
    *(Column(c.name, c.type, primary_key=c.primary_key) for c in ping_results_v12.columns),
    Column("t_us", BigInteger),  # the time as stored: integer µs since 1970, naive UTC
    Column("series_id", Integer),
)
# The view's columns with the seed's meaning (what an export or `select *` of before version 13 gave), in order.
RAW_COLUMNS = tuple(ping_results.c[c.name] for c in ping_results_v12.columns)

# One row per distinct (server_id, server_ip, country, partner, dn_ext, collector, probe): the labels a raw row
# repeated as text before version 13.
series = Table(
    "series", metadata,
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

# One row per latency class name ('good', 'down', ...), so a raw row holds a small integer.
ping_classes = Table(
    "ping_classes", metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("name", String(16), nullable=False, unique=True),
)

# The raw rows: primary key (series_id, t_us, id), WITHOUT ROWID on SQLite so the table is its own (series, time)
# index. t_us the timestamp in µs since 1970 (naive UTC); RTTs in whole µs, r_factor in hundredths, mos in
# thousandths, samples as comma-separated µs above min_us; `id` the seed's row id (unique, from PING_IDS).
ping_compact = Table(
    "ping_compact", metadata,
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

# The next raw-row id on SQLite (one row): the clustered key has no index on id alone, so max(id) would read every
# row. PostgreSQL takes ids from the sequence ping_compact_id_seq instead (two collectors may write at once).
ping_ids = Table(
    "ping_ids", metadata,
    Column("next_id", BigInteger, nullable=False),
)

logs = Table(
    "logs", metadata,
    Column("id", Integer, primary_key=True),
    Column("timestamp", DateTime, nullable=False),
    Column("level", String(16), nullable=False),
    Column("message", Text, nullable=False),
    Column("module", String(255)),
    Column("traceback", Text),
    Column("collector", String(255)),
    # The server a line is about (the logger's extra={"server_id": ...}), so a server's page selects its lines
    # by id rather than by matching text; NULL for lines about no one server.
    Column("server_id", String(255)),
    Index("ix_logs_time", "timestamp"),
    Index("ix_logs_server_time", "server_id", "timestamp"),
)

# An alert's life: opened after N bad rounds, its severity may rise, resolved after M good ones.
alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True),
    Column("server_id", String(255)),
    Column("partner", String(255)),
    Column("country", String(255)),
    Column("kind", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("resolved_at", DateTime),
    Column("peak", Float),
    Column("message", Text, nullable=False),
    Column("collector", String(255)),
    # Version 8: who acknowledged the open alert, when, why, and at which severity (a rise above it notifies again).
    Column("acknowledged_by", String(255)),
    Column("acknowledged_at", DateTime),
    Column("ack_comment", Text),
    Column("ack_severity", String(16)),
    # Version 4: one mtr/traceroute report taken when a down or packet-loss alert opened.
    Column("path_snapshot", Text),
    Column("path_snapshot_at", DateTime),
    Index("ix_alerts_state", "state", "started_at"),
    Index("ix_alerts_server", "server_id", "started_at"),
)

# Version 8: maintenance windows made through POST /api/maintenance (config windows are not stored). The window
# itself is its JSON definition (settings.maintenance shape), so new window kinds need no schema change.
maintenance_windows = Table(
    "maintenance_windows", metadata,
    Column("id", Integer, primary_key=True),
    Column("definition", Text, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("created_at", DateTime, nullable=False),
)


def bucket_statistics() -> list[Column]:
    """The columns every rollup bucket holds: round and packet counts, sums and counts of the RTT, jitter and
    MOS averages, and the lowest and highest RTT (new Column objects: a Column belongs to one table)."""
    counts = [Column(name, Integer, nullable=False) for name in ("rounds", "packets_transmitted", "packets_lost")]
    sums = [Column(name, Float if name.startswith("sum_") else Integer, nullable=False)
            for stat in ("avg_time", "jitter_time", "mos") for name in (f"sum_{stat}", f"n_{stat}")]
    return counts + sums + [Column("min_time", Float), Column("max_time", Float)]


# Pre-aggregated history so a 30-day graph reads thousands of rows, not millions. The writer adds
# every round to its 5-minute and 1-hour bucket in the round's own transaction. Sums and counts
# (not averages) are stored so buckets can be merged into coarser ones exactly.
ping_rollups = Table(
    "ping_rollups", metadata,
    Column("resolution_seconds", Integer, primary_key=True),
    # v10: per vantage point ('' for rows stored before collectors had names): nothing measured from one place is
    # summed into another's buckets.
    Column("collector", String(255), primary_key=True),
    Column("server_id", String(255), primary_key=True),
    Column("bucket_start", DateTime, primary_key=True),
    Column("country", String(255), nullable=False),
    Column("partner", String(255), nullable=False),
    Column("server_ip", String(255), nullable=False),
    *bucket_statistics(),
    Index("ix_ping_rollups_time", "resolution_seconds", "bucket_start"),
    # A rowid table on purpose: WITHOUT ROWID saved its key's autoindex (~13 B per stored round) but made every
    # read through ix_ping_rollups_time (one server's window: its PK leads with the collector) look each row
    # up by the four-column key, 4-7x slower (one server over 7 days: 1.4 s instead of ~0.2 s).
    **HOT_UPDATES,
)

# The same buckets merged per country, for the default view (all servers grouped by country): a 30-day
# graph of 20 countries then reads 14,400 rows instead of 144,000. Filtering by partner or server reads
# ping_rollups instead. WITHOUT ROWID with the time before the country: a window is one contiguous range
# of the table, and each round updates the current bucket's few rows in place.
country_rollups = Table(
    "country_rollups", metadata,
    Column("resolution_seconds", Integer, primary_key=True),
    Column("bucket_start", DateTime, primary_key=True),
    Column("country", String(255), primary_key=True),
    Column("collector", String(255), primary_key=True),  # v10, as in ping_rollups
    *bucket_statistics(),
    sqlite_with_rowid=False,
    **HOT_UPDATES,
)

# When each server was last measured, kept by the writer, so the status route is one small join
# (one seek of ping_compact's (series, time) key per server) instead of a search per server.
server_latest = Table(
    "server_latest", metadata,
    Column("collector", String(255), primary_key=True),  # v10: each vantage point's newest round of the server
    Column("server_id", String(255), primary_key=True),
    Column("timestamp", DateTime, nullable=False),
    **HOT_UPDATES,
)

# One row per server with a SIP OPTIONS check per round (version 6), written in the round's transaction
# beside its ping_results row: same round_id, server_id and timestamp. Times in ms; failure is the class
# (timeout, refused, tls, code, error) as data, detail its text.
sip_results = Table(
    "sip_results", metadata,
    Column("id", Integer, primary_key=True),
    Column("round_id", Integer, ForeignKey("rounds.id")),
    Column("server_id", String(255), nullable=False),
    Column("timestamp", DateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("failure", String(16)),
    Column("detail", Text),
    Column("code", Integer),
    Column("reason", Text),
    Column("server_header", Text),
    Column("transport", String(8), nullable=False),
    Column("sent", Integer, nullable=False),
    Column("answered", Integer, nullable=False),
    Column("loss_pct", Float),
    Column("response_min_ms", Float),
    Column("response_avg_ms", Float),
    Column("response_max_ms", Float),
    Column("connect_ms", Float),
    Column("tls_handshake_ms", Float),
    Column("tls_days_left", Float),
    Column("tls_verified", Boolean),
    Column("collector", String(255)),
    Index("ix_sip_results_server_time", "server_id", "timestamp"),
    Index("ix_sip_results_round", "round_id"),
)

# SIP checks summed per server and bucket (version 9), kept by the writer in the round's transaction like
# ping_rollups, so the SIP history outlives the raw sip_results rows (retention's rollup keys). Labels come from
# the same round's ping_results row. response: the sum and count of the rounds' mean response times, so a bucket's
# mean equals the mean of its rounds' means (what sip_series gives from raw rows); max_code the highest final code.
sip_rollups = Table(
    "sip_rollups", metadata,
    Column("resolution_seconds", Integer, primary_key=True),
    Column("collector", String(255), primary_key=True),  # v10, as in ping_rollups
    Column("server_id", String(255), primary_key=True),
    Column("bucket_start", DateTime, primary_key=True),
    Column("country", String(255), nullable=False),
    Column("partner", String(255), nullable=False),
    Column("server_ip", String(255), nullable=False),
    Column("rounds", Integer, nullable=False),
    Column("up_rounds", Integer, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("answered", Integer, nullable=False),
    Column("sum_response_ms", Float, nullable=False),
    Column("n_response", Integer, nullable=False),
    Column("max_code", Integer),
    Index("ix_sip_rollups_time", "resolution_seconds", "bucket_start"),
)

# Issue 15 (schema version 7). One row per span of `down` of a server: from its first down round to its
# first up round (ended_at NULL while it lasts). Kept by the writer in each round's transaction, so it is
# exact to the round and outlives the raw rows that retention deletes.
incidents = Table(
    "incidents", metadata,
    Column("id", Integer, primary_key=True),
    # v11: the vantage point that saw the span ('' for incidents stored before collectors had names): one collector's
    # down is not another's, and the merged view (queries.sla) intersects them.
    Column("collector", String(255), nullable=False, server_default=""),
    Column("server_id", String(255), nullable=False),
    Column("partner", String(255), nullable=False),
    Column("country", String(255), nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Column("last_down_at", DateTime, nullable=False),
    Column("down_rounds", Integer, nullable=False),
    Column("cause", Text, nullable=False),
    Index("ix_incidents_server", "server_id", "started_at"),
    Index("ix_incidents_time", "started_at"),
)

# Rounds per server and hour (and per day) split by outcome (all, down, degraded), for availability over months
# without raw rows; kept by the writer in each round's transaction like ping_rollups. A month reads ~30 daily rows
# per server; the covering index makes a window one contiguous range read.
availability_rollups = Table(
    "availability_rollups", metadata,
    Column("resolution_seconds", Integer, primary_key=True),
    Column("collector", String(255), primary_key=True),  # v11, as ping_rollups in v10
    Column("server_id", String(255), primary_key=True),
    Column("bucket_start", DateTime, primary_key=True),
    Column("partner", String(255), nullable=False),
    Column("country", String(255), nullable=False),
    Column("rounds", Integer, nullable=False),
    Column("down_rounds", Integer, nullable=False),
    Column("degraded_rounds", Integer, nullable=False),
    # The covering index (SQLite reads a window without touching the table) includes the counts every round
    # updates, which on PostgreSQL rules out HOT updates: there (v12) a plain time index, as for ping_rollups.
    Index("ix_availability_rollups_time", "resolution_seconds", "bucket_start", "server_id", "collector", "rounds",
          "down_rounds", "degraded_rounds").ddl_if(dialect="sqlite"),
    Index("ix_availability_rollups_bucket", "resolution_seconds", "bucket_start").ddl_if(dialect="postgresql"),
    **HOT_UPDATES,
)

# v10: one row per collector (vantage point), its heartbeat written in each round's transaction, so the web app
# can list them, tell a stopped one (collector_stale) from a stopped server, and show how many rounds wait in
# its local spool.
collectors = Table(
    "collectors", metadata,
    Column("name", String(255), primary_key=True),
    Column("location", String(255)),
    Column("version", String(64)),
    Column("started_at", DateTime),
    Column("last_round_at", DateTime),
    Column("servers_probed", Integer),
    Column("last_error", Text),
    Column("rounds_waiting", Integer),
)


def indexes_for(table: Table, dialect: str) -> set[str]:
    """The names of the table's indexes that this dialect gets (some are made on one backend only)."""
    return {i.name for i in table.indexes
            if i._ddl_if is None or i._ddl_if.dialect is None or dialect in _as_tuple(i._ddl_if.dialect)}


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple, set)) else (value,)
