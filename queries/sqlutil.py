"""Small SQL helpers that hide the differences between SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import BigInteger, Integer, cast, func, literal_column
from sqlalchemy.engine import Engine

from queries.filters import Filters
from storage.compact import t_us
from storage.schema import ping_results


def epoch_seconds(column, dialect: str):
    """A SQL expression for a DateTime column as whole seconds since 1970 (UTC)."""
    if dialect == "sqlite":
        return cast(func.strftime("%s", column), Integer)
    # floor() first: a plain cast rounds, which would push 12:04:59.7 into the 12:05 bucket. BigInteger:
    # PostgreSQL's INTEGER is 32-bit, and epoch seconds pass it in 2038.
    return cast(func.floor(func.extract("epoch", column)), BigInteger)


def bucket_expr(column, bucket_seconds: int, dialect: str):
    """The start (epoch seconds) of the bucket each row falls in."""
    seconds = epoch_seconds(column, dialect)
    # An Integer-typed literal (not a bound parameter) so SELECT and GROUP BY render the same
    # expression on PostgreSQL, and // so SQLAlchemy 2 emits integer division: plain / on
    # integers renders as true division (x / (300 + 0.0)) and would not bucket at all.
    size = literal_column(str(int(bucket_seconds)), Integer)
    return (seconds // size) * size


def where_filters(stmt, filters: Filters, table=ping_results, time_column: str = "timestamp"):
    """Apply the time window and the country/partner/server filters as bound parameters."""
    if table is ping_results and time_column == "timestamp":
        # The view's timestamp is computed from t_us: filtering on it would read every row, on t_us it is one
        # range of the (series, time) key per series.
        stmt = stmt.where(ping_results.c.t_us >= t_us(filters.start), ping_results.c.t_us < t_us(filters.end))
    else:
        when = table.c[time_column]
        stmt = stmt.where(when >= filters.start, when < filters.end)
    if filters.countries:
        stmt = stmt.where(table.c.country.in_(filters.countries))
    if filters.partners:
        stmt = stmt.where(table.c.partner.in_(filters.partners))
    if filters.servers:
        stmt = stmt.where(table.c.server_id.in_(filters.servers))
    if getattr(filters, "collectors", ()) and "collector" in table.c:
        stmt = stmt.where(table.c.collector.in_(filters.collectors))
    return stmt


def raw_bucket(bucket_seconds: int):
    """The start (epoch seconds) of the bucket each raw row (the ping_results view) falls in, from its integer t_us
    (integer division on both backends; t_us is never negative for a real measurement)."""
    size = literal_column(str(int(bucket_seconds)), Integer)
    return (ping_results.c.t_us // literal_column("1000000", BigInteger)) // size * size


def dialect_of(engine: Engine) -> str:
    """The engine's dialect name ('sqlite', 'postgresql', ...)."""
    return engine.dialect.name
