"""Table definitions (SQLAlchemy Core), shared by the writer and the read-side queries."""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String,
                        Table, Text)

SCHEMA_VERSION = 4

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
    # v4: the collector's own id for the round (collector name + a UUID), so a round sent twice (a crash between
    # the remote COMMIT and the spool's delete) is stored once. NULL on rounds stored before v4.
    Column("uid", String(96)),
    Index("ix_rounds_finished", "finished_at"),
    Index("ux_rounds_uid", "uid", unique=True),
)

# The seed's columns keep their names and meaning (times in ms); the rest are additions.
ping_results = Table(
    "ping_results", metadata,
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
    Column("round_id", Integer, ForeignKey("rounds.id")),
    Column("collector", String(255)),
    Column("probe", String(16)),
    Column("jitter_time", Float),
    Column("median_time", Float),
    Column("latency_class", String(16)),
    Column("samples", Text),
    Column("error", Text),
    Column("r_factor", Float),
    Column("mos", Float),
    Index("ix_ping_results_server_time", "server_id", "timestamp"),
    Index("ix_ping_results_country_time", "country", "timestamp"),
    Index("ix_ping_results_time", "timestamp"),
    Index("ix_ping_results_round", "round_id"),
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
    Index("ix_logs_time", "timestamp"),
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
    Index("ix_alerts_state", "state", "started_at"),
    Index("ix_alerts_server", "server_id", "started_at"),
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
    # v4: per vantage point ('' for rows stored before collectors had names): nothing measured from one place is
    # summed into another's buckets.
    Column("collector", String(255), primary_key=True),
    Column("server_id", String(255), primary_key=True),
    Column("bucket_start", DateTime, primary_key=True),
    Column("country", String(255), nullable=False),
    Column("partner", String(255), nullable=False),
    Column("server_ip", String(255), nullable=False),
    *bucket_statistics(),
    Index("ix_ping_rollups_time", "resolution_seconds", "bucket_start"),
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
    Column("collector", String(255), primary_key=True),  # v4, as in ping_rollups
    *bucket_statistics(),
    sqlite_with_rowid=False,
)

# When each server was last measured, kept by the writer, so the status route is one small join
# (on ix_ping_results_server_time) instead of a search per server.
server_latest = Table(
    "server_latest", metadata,
    Column("collector", String(255), primary_key=True),  # v4: each vantage point's newest round of the server
    Column("server_id", String(255), primary_key=True),
    Column("timestamp", DateTime, nullable=False),
)

# v4: one row per collector (vantage point), its heartbeat written in each round's transaction, so the web app
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
