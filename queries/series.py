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
                   gap_seconds: int | None = None) -> list[dict]:
    """One dict per key of a ping_series frame: labels, timestamps and value arrays, gaps as nulls."""
    gap = gap_seconds or gap_seconds_for(bucket_seconds)
    if df.empty:
        return []
    return [_one_series(rows, group, bucket_seconds, gap) for _, rows in df.groupby("key", sort=False)]


def _one_series(rows: pd.DataFrame, group: str, bucket_seconds: int, gap: int) -> dict:
    """The payload of one key's rows (already ordered by bucket), built column-wise."""
    series = {"key": str(rows["key"].iloc[0]), **_labels(rows.iloc[0], group)}
    points = with_gaps(rows, bucket_seconds, max(gap, 2 * typical_step(rows["bucket"])))
    series["timestamps"] = iso_z_list(points["bucket"])
    for name in POINT_FIELDS:
        series[name] = json_values(points[name])
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
    steps = buckets.diff().dropna().dt.total_seconds()
    return float(steps.median()) if len(steps) else 0.0


def with_gaps(rows: pd.DataFrame, bucket_seconds: int, gap_seconds: int) -> pd.DataFrame:
    """The rows plus one empty row (rounds 0, values missing) after each row followed by a gap."""
    to_next = rows["bucket"].diff().shift(-1).dt.total_seconds()
    before_gap = rows.loc[to_next > gap_seconds, "bucket"]
    if before_gap.empty:
        return rows
    fillers = pd.DataFrame({"bucket": before_gap + pd.Timedelta(seconds=bucket_seconds), "rounds": 0})
    return pd.concat([rows, fillers], ignore_index=True).sort_values("bucket", kind="stable", ignore_index=True)


def iso_z_list(times: pd.Series) -> list[str]:
    """Naive UTC times as ISO 8601 strings with a Z, whole seconds (as storage.timeutil.iso_z)."""
    # numpy's formatter is ~10x faster than Series.dt.strftime over thousands of points.
    text = np.datetime_as_string(times.to_numpy(dtype="datetime64[s]"), unit="s")
    return [f"{t}Z" for t in text.tolist()]


def json_values(values: pd.Series) -> list:
    """A column as JSON-safe values: None for missing, integers kept, floats rounded to DECIMALS."""
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.tolist()
    floats = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    return [None if v != v else v for v in np.round(floats, DECIMALS).tolist()]  # v != v: NaN


def clean_number(value) -> float | int | None:
    """A JSON-safe number: None for missing or NaN, ints kept, floats rounded to DECIMALS."""
    if value is None or pd.isna(value):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    return round(float(value), DECIMALS)


def series_frame(series: list[dict], group: str = "country") -> pd.DataFrame:
    """The series in long form (one row per key and timestamp), e.g. for a CSV download."""
    labels = ["key", "country"] + (["server", "partner", "ip"] if group == "server" else [])
    columns = labels + ["timestamp", *POINT_FIELDS]
    rows = [{**{k: s[k] for k in labels}, "timestamp": ts, **{f: s[f][i] for f in POINT_FIELDS}}
            for s in series for i, ts in enumerate(s["timestamps"])]
    return pd.DataFrame(rows, columns=columns)
