"""Pure pandas shaping of query results before they are drawn."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from common import timezones as tzs
from common.format import ms_number


def insert_gaps(df: pd.DataFrame, bucket_seconds: int, gap_seconds: float, key: str = "key",
                time: str = "bucket") -> pd.DataFrame:
    """Add an all-NaN row after every point followed by a gap, so a line breaks there instead of
    bridging it. Label columns (every non-numeric column) are copied so the row stays in its series."""
    if df.empty:
        return df
    df = df.sort_values([key, time], ignore_index=True)
    previous = df.groupby(key, sort=False)[time].shift()
    gap = (df[time] - previous).dt.total_seconds() > gap_seconds
    labels = [c for c in df.columns if c == key or not pd.api.types.is_numeric_dtype(df[c])]
    filler = df.loc[gap, labels].copy()
    filler[time] = previous[gap] + pd.Timedelta(seconds=int(bucket_seconds))
    if filler.empty:
        return df
    out = pd.concat([df, filler.reindex(columns=df.columns)], ignore_index=True)
    return out.sort_values([key, time], ignore_index=True)


def series_names(df: pd.DataFrame, group: str) -> dict[str, str]:
    """The legend name of each key: the country, or 'partner · ip' per server."""
    if df.empty:
        return {}
    firsts = df.drop_duplicates("key")
    if group != "server":
        return {str(k): str(k) for k in firsts["key"]}
    return {str(r["key"]): f"{r['partner']} · {r['server_ip']}" for r in firsts.to_dict("records")}


def value_ceiling(values: pd.Series, floor: float, headroom: float = 1.15) -> float:
    """An axis top that fits the values with some headroom, never below `floor`."""
    finite = pd.to_numeric(values, errors="coerce").dropna()
    top = float(finite.max()) * headroom if not finite.empty else 0.0
    return max(top, floor)


def bucket_grid(window, bucket_seconds: int) -> pd.DatetimeIndex:
    """Every bucket start in a (start, end) window, aligned like the SQL buckets (to the epoch)."""
    step = f"{int(bucket_seconds)}s"
    return pd.date_range(pd.Timestamp(window[0]).floor(step), pd.Timestamp(window[1]), freq=step)


def value_matrix(df: pd.DataFrame, column: str, buckets: pd.DatetimeIndex) -> pd.DataFrame:
    """Keys as rows, buckets as columns, NaN where a key has no data in a bucket."""
    if df.empty:
        return pd.DataFrame(index=pd.Index([], name="key"), columns=buckets, dtype=float)
    table = df.pivot_table(index="key", columns="bucket", values=column, aggfunc="mean", dropna=False)
    return table.reindex(columns=buckets).sort_index()


def band_polygon(x: pd.Series, lower: pd.Series, upper: pd.Series) -> tuple[list, list]:
    """Outline of the area between two lines as one polygon per unbroken run, separated by None.

    Drawn with fill='toself', each run closes on itself; fill='tonexty' would bridge data gaps instead."""
    frame = pd.DataFrame({"x": list(x), "lo": list(lower), "hi": list(upper)})
    valid = frame["lo"].notna() & frame["hi"].notna()
    run = (valid != valid.shift()).cumsum()
    xs, ys = [], []
    for _, seg in frame[valid].groupby(run[valid], sort=True):
        if xs:
            xs.append(None)
            ys.append(None)
        xs += list(seg["x"]) + list(seg["x"][::-1])
        ys += list(seg["hi"]) + list(seg["lo"][::-1])
    return xs, ys


def trace_uid(*parts) -> str:
    """A stable trace uid; plotly uses it in CSS selectors, so it is made of letters and digits only."""
    return "t" + hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:12]


def ms_labels(values) -> np.ndarray:
    """RTTs as hover text without the unit, as common.format.ms_number writes them ('23.4', '0.042'); ''
    where missing. Plotly's d3 formats have no rule for "two significant figures below 1", so the text is
    made here."""
    numbers = _floats(values)
    out = np.full(len(numbers), "", dtype=object)
    finite = np.isfinite(numbers)
    plain = finite & ((np.abs(numbers) >= 1) | (numbers == 0))  # the common case, one decimal, without the checks
    out[plain] = [f"{v:.1f}" for v in numbers[plain]]
    small = finite & ~plain
    out[small] = [ms_number(v) for v in numbers[small]]
    return out


def _floats(values) -> np.ndarray:
    """Values as a float array, NaN for anything missing or not a number."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):  # None, text or mixed objects in the values
        return pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").to_numpy(dtype=float)


def has_sub_ms(values) -> bool:
    """True when some value is above 0 and below 1 ms, where the '%{y:.1f}' hover would read 0.0."""
    numbers = _floats(values)
    return bool(((numbers > 0) & (numbers < 1)).any())


def in_zone(df: pd.DataFrame | None, columns, tz: str | None) -> pd.DataFrame | None:
    """A copy of df with its stored naive-UTC time columns as wall-clock times of the display zone tz (plotly's
    date axes know no zones, so a figure draws what a person in that zone reads); unchanged for UTC."""
    if df is None or df.empty or tzs.is_utc(tz):
        return df
    present = [c for c in columns if c in df.columns]
    return df.assign(**{c: tzs.to_display(pd.to_datetime(df[c]), tz) for c in present})


def window_in(window, tz: str | None):
    """A (start, end) window of naive UTC times in the display zone; None stays None."""
    if window is None or tzs.is_utc(tz):
        return window
    return tuple(tzs.to_display(pd.Timestamp(t), tz).to_pydatetime() for t in window)


def zone_note(tz: str | None, window=None) -> str:
    """'UTC' or 'UTC+03:00': which zone the time axis is in, for the note under it."""
    at = pd.Timestamp(window[1]).to_pydatetime() if window is not None else pd.Timestamp.now("UTC").tz_localize(None)
    return f"times {tzs.short_label(tz, at)}"
