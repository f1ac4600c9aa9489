"""Small SQL helpers that hide the differences between SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import BigInteger, Integer, cast, func, literal_column
from sqlalchemy.engine import Engine

from queries.filters import Filters
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


def dialect_of(engine: Engine) -> str:
    """The engine's dialect name ('sqlite', 'postgresql', ...)."""
    return engine.dialect.name
