"""How far back the stored measurements reach: a fresh install holds only minutes of them."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from storage.schema import ping_results


def first_stored_at(engine: Engine) -> datetime | None:
    """The time of the oldest stored round (naive UTC), or None when nothing is stored yet; one step of the
    time index, however many rows."""
    with engine.connect() as conn:
        value = conn.execute(select(func.min(ping_results.c.timestamp))).scalar()
    return None if value is None else pd.Timestamp(value).to_pydatetime()
