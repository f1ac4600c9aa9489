"""How far back the stored measurements reach: a fresh install holds only minutes of them."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from storage.compact import oldest_at


def first_stored_at(engine: Engine) -> datetime | None:
    """The time of the oldest stored round (naive UTC), or None when nothing is stored yet; one key seek per
    series, however many rows."""
    with engine.connect() as conn:
        return oldest_at(conn)
