"""Raw rows as CSV or JSON text, a chunk at a time, so a large export never sits in memory whole.

Shared by the API's /api/export-data and the dashboard's export button.
"""
from __future__ import annotations

import csv
import io
import json
import math
import numbers
import re
from datetime import datetime
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from common.timeutil import iso_z

# Cells a spreadsheet would run as a formula (OWASP "CSV injection"); tab and CR are in
# OWASP's list too, since some spreadsheets strip them before looking at the next character.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Decimals every float is written with: the 0.001 ms the probes measure, as in the rest of the API (queries.series),
# so a derived value reads 0.011 and not 0.010999999999999998 (binary noise of the arithmetic behind it).
FLOAT_DECIMALS = 3
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)


def neutralise(text: str) -> str:
    """Prefix a single quote to text a spreadsheet would evaluate; plain numbers such as -3.5 stay as they are."""
    if text.startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _missing(value) -> bool:
    """True for None, NaN and NaT (pandas' several spellings of 'no value')."""
    return value is None or (not isinstance(value, (str, bytes)) and bool(pd.isna(value)))


def json_value(value):
    """A JSON-ready scalar: None for missing, ISO 8601 Z for times, native bool/int/str, floats rounded to
    FLOAT_DECIMALS."""
    if _missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(round_floats(np.array([float(value)]))[0]) if math.isfinite(value) else None
    return str(value)


def round_floats(values: np.ndarray) -> np.ndarray:
    """Floats rounded to FLOAT_DECIMALS, the same way for a cell and a column. Values of 1e12 and more are
    left alone: they have no such decimals to drop, and np.round's scaling would add noise to them."""
    return np.where(np.abs(values) < 1e12, np.round(values, FLOAT_DECIMALS), values)


def cell_text(value) -> str:
    """One CSV cell: empty for missing, true/false, ISO 8601 Z times, numbers as json_value gives them (floats to
    FLOAT_DECIMALS), text neutralised."""
    value = json_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def _csv_text(rows: Iterable[Iterable]) -> str:
    """Rows written as RFC 4180 CSV text (CRLF line ends, quoting where needed)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def _peek(chunks: Iterable[pd.DataFrame]) -> tuple[pd.DataFrame | None, Iterator[pd.DataFrame]]:
    """The first chunk (None when there is none) and an iterator over all of them."""
    iterator = iter(chunks)
    first = next(iterator, None)
    return first, (iterator if first is None else _prepend(first, iterator))


def _prepend(first: pd.DataFrame, rest: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    yield first
    yield from rest


def column_text(column: pd.Series) -> pd.Series:
    """A whole column as CSV cells, vectorised by dtype; per cell the same as cell_text (missing stays NA)."""
    if pd.api.types.is_bool_dtype(column):
        return column.map({True: "true", False: "false"}, na_action="ignore")
    if pd.api.types.is_datetime64_any_dtype(column):
        if column.dt.tz is not None:
            column = column.dt.tz_convert("UTC")
        return column.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    if pd.api.types.is_float_dtype(column):  # numbers are never neutralised
        values = column.replace([np.inf, -np.inf], np.nan)
        return pd.Series(round_floats(values.to_numpy(dtype=float)), index=column.index)
    if pd.api.types.is_integer_dtype(column):
        return column
    if pd.api.types.is_string_dtype(column) and not pd.api.types.is_object_dtype(column):
        return neutralise_column(column)
    return column.map(cell_text, na_action="ignore")  # mixed object columns, cell by cell


def neutralise_column(text: pd.Series) -> pd.Series:
    """neutralise() over a whole string column at once."""
    risky = text.str.startswith(FORMULA_PREFIXES) & ~text.str.fullmatch(_NUMBER.pattern)
    return text.mask(risky.fillna(False).astype(bool), "'" + text)


def iter_csv(chunks: Iterable[pd.DataFrame], columns: list[str] | None = None) -> Iterator[str]:
    """CSV text piece by piece: the header, then one piece per chunk; `columns` fixes the header and order."""
    first, chunks = _peek(chunks)
    names = list(columns) if columns is not None else ([] if first is None else list(first.columns))
    yield _csv_text([[neutralise(str(name)) for name in names]])
    for chunk in chunks:
        if chunk.empty:
            continue
        chunk = chunk.reindex(columns=names)
        # Positional keys: a header may repeat a name, and to_csv must not re-order anything.
        cells = pd.DataFrame({i: column_text(chunk.iloc[:, i]) for i in range(len(names))})
        yield cells.to_csv(index=False, header=False, na_rep="", lineterminator="\r\n")


def iter_json(chunks: Iterable[pd.DataFrame], head: dict, key: str = "rows") -> Iterator[str]:
    """A JSON object piece by piece: the fields of `head`, then `key` holding every row of every chunk."""
    opening = json.dumps(head)[:-1]
    yield opening + (", " if head else "") + json.dumps(key) + ": ["
    separator = ""
    for chunk in chunks:
        if chunk.empty:
            continue
        yield separator + ", ".join(json.dumps({k: json_value(v) for k, v in record.items()}, allow_nan=False)
                                    for record in chunk.to_dict("records"))
        separator = ", "
    yield "]}"


def export_filename(filters, fmt: str) -> str:
    """A download name that says which window the file covers: the API's and the dashboard's exports alike."""
    return f"latency-{filters.start:%Y%m%dT%H%M%SZ}-{filters.end:%Y%m%dT%H%M%SZ}.{fmt}"
