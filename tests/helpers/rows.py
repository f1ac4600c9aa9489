"""Comparing stored tables row by row (rollups rebuilt, copied, upgraded)."""
from __future__ import annotations

import pytest
from sqlalchemy import select


def all_rows(engine, table):
    """Every row of a table in primary-key order."""
    with engine.connect() as conn:
        return conn.execute(select(table).order_by(*table.primary_key.columns)).all()


def assert_same_rows(before, after):
    """Row lists equal, floats compared approximately."""
    assert len(before) == len(after) > 100
    for a, b in zip(before, after, strict=True):
        assert a._mapping.keys() == b._mapping.keys()
        for key in a._mapping.keys():
            va, vb = a._mapping[key], b._mapping[key]
            assert va == pytest.approx(vb) if isinstance(va, float) else va == vb, key
