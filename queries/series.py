"""Turn ping_series rows into the shape the API returns and charts draw: one dict of parallel arrays per key."""
from __future__ import annotations

import numbers
import numpy as np
import pandas as pd


POINT_FIELDS = ("latency_ms", "loss_pct", "jitter_ms", "mos", "rounds")
DECIMALS = 3


def gap_seconds_for(bucket_seconds: int, interval_seconds: float | None = None) -> int:
    """How far apart two consecutive points may be before a null point marks a gap between them.

    Twice the larger of bucket and collector interval: rounds drift across bucket edges, so two
    adjacent non-empty buckets can be one interval plus one bucket apart without anything missing.
    series_payload also raises it to twice the series' own median step (see typical_step).
    """
    return int(2 * max(bucket_seconds, interval_seconds or 0))


def series_payload(df: pd.DataFrame, group: str = "country", bucket_seconds: int = 60,
                   gap_seconds: int | None = None, fields: tuple[str, ...] = POINT_FIELDS) -> list[dict]:
    """One dict per key of a ping_series frame: labels, timestamps and value arrays (fields), gaps as nulls."""
    gap = gap_seconds or gap_seconds_for(bucket_seconds)
    if df.empty:
        return []
    # Columns are converted once for the whole frame and each series is sliced out as numpy arrays:
    # pandas operations per series cost ~0.1 ms each, most of the route's time over 20 series.
    columns = _point_arrays(df, fields)
    return [_one_series(df.iloc[rows[0]], {name: a[rows] for name, a in columns.items()}, group, bucket_seconds, gap,
                        fields) for rows in df.groupby("key", sort=False).indices.values()]


def _point_arrays(df: pd.DataFrame, fields: tuple[str, ...] = POINT_FIELDS) -> dict[str, np.ndarray]:
    """Each point field as a numpy array (floats rounded to DECIMALS, NaN for missing), plus epoch seconds."""
    arrays = {"seconds": df["bucket"].to_numpy(dtype="datetime64[s]").astype("int64")}
    for name in fields:
        values = df[name]
        if pd.api.types.is_integer_dtype(values.dtype):
            arrays[name] = values.to_numpy()
        else:
            floats = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
            arrays[name] = np.round(floats, DECIMALS)
    return arrays


def _one_series(first: pd.Series, points: dict[str, np.ndarray], group: str, bucket_seconds: int, gap: int,
                fields: tuple[str, ...] = POINT_FIELDS) -> dict:
    """The payload of one key's points (ordered by time), with one empty point after each gap."""
    seconds = points["seconds"]
    steps = np.diff(seconds)
    gap = max(gap, 2 * (float(np.median(steps)) if len(steps) else 0.0))
    at = np.flatnonzero(steps > gap) + 1  # an empty point goes before each of these positions
    series = {"key": str(first["key"]), **_labels(first, group),
              "timestamps": iso_z_seconds(np.insert(seconds, at, seconds[at - 1] + bucket_seconds))}
    for name in fields:
        series[name] = json_list(np.insert(points[name], at, 0 if name == "rounds" else np.nan))
    return series


def _labels(row: pd.Series, group: str) -> dict:
    """The naming fields of a series: country, plus server, partner and ip when grouped by server."""
    if group == "server":
        return {"country": row["country"], "server": str(row["key"]), "partner": row["partner"],
                "ip": row["server_ip"]}
    return {"country": str(row["key"])}


def typical_step(buckets: pd.Series) -> float:
    """The median distance in seconds between consecutive points (0 for fewer than two).

    History stored while the collector ran at a longer interval than today's must not look broken.
    """
    steps = np.diff(buckets.to_numpy(dtype="datetime64[s]").astype("int64"))
    return float(np.median(steps)) if len(steps) else 0.0


def iso_z_seconds(seconds: np.ndarray) -> list[str]:
    """Epoch seconds as ISO 8601 UTC strings with a Z (as common.timeutil.iso_z)."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    return [f"{t}Z" for t in text.tolist()]


def json_list(values: np.ndarray) -> list:
    """An array as JSON-safe values: None for NaN, numbers as they are."""
    if values.dtype.kind in "iu":
        return values.tolist()
    return [None if v != v else v for v in values.tolist()]  # v != v: NaN


def clean_number(value) -> float | int | None:
    """A JSON-safe number: None for missing or NaN, ints kept, floats rounded to DECIMALS."""
    if value is None or pd.isna(value):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    return round(float(value), DECIMALS)


def series_frame(series: list[dict], group: str = "country", fields: tuple[str, ...] = POINT_FIELDS) -> pd.DataFrame:
    """The series in long form (one row per key and timestamp), e.g. for a CSV download."""
    labels = ["key", "country"] + (["server", "partner", "ip"] if group == "server" else [])
    columns = labels + ["timestamp", *fields]
    rows = [{**{k: s[k] for k in labels}, "timestamp": ts, **{f: s[f][i] for f in fields}}
            for s in series for i, ts in enumerate(s["timestamps"])]
    return pd.DataFrame(rows, columns=columns)
