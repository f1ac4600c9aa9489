"""Warnings: the dashboard's panel data and a server's concern history.

current_warnings() is the one function the warnings panel reads. Today it derives the warnings from
each server's latest status row (its stored concerns, down and stale); when the alerts table lands,
only that function changes.
"""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.config import Config
from queries.filters import Filters
from queries.sqlutil import where_filters
from queries.status import server_status
from storage.schema import ping_results as pr

WARNING_COLUMNS = ["server_id", "partner", "country", "ip", "kind", "severity", "message", "at"]
# Prefixes of the texts collector.measure.concerns() writes, and what each one means.
CONCERN_KINDS = (("probe failed", "down"), ("no reply", "down"), ("high latency", "latency"),
                 ("packet loss", "loss"), ("jitter", "jitter"))
SEVERITY = {"down": "danger", "stale": "secondary", "latency": "warning", "loss": "warning",
            "jitter": "warning", "other": "warning"}
SEVERITY_RANK = {"danger": 0, "secondary": 1, "warning": 2}


def concern_kind(text: str) -> str:
    """down, latency, loss, jitter or other for one stored concern text."""
    lowered = (text or "").strip().lower()
    return next((kind for prefix, kind in CONCERN_KINDS if lowered.startswith(prefix)), "other")


def split_concerns(text) -> list[str]:
    """The separate concerns of a stored concerns value ('a; b'), blanks dropped."""
    if not isinstance(text, str):
        return []
    return [part.strip() for part in text.split(";") if part.strip()]


def _row_warnings(row: dict) -> list[dict]:
    """The warnings one server's latest status row raises."""
    base = {k: row.get(k) for k in ("server_id", "partner", "country", "ip")}
    at = row.get("timestamp")
    if row.get("status") == "stale":
        when = pd.Timestamp(at).strftime("%Y-%m-%d %H:%M")
        return [dict(base, kind="stale", message=f"no new result since {when} UTC", at=at)]
    if row.get("status") not in ("down", "degraded"):
        return []
    texts = split_concerns(row.get("concerns")) or ["no reply"]
    return [dict(base, kind=concern_kind(t), message=t, at=at) for t in texts]


def warnings_from_status(status: pd.DataFrame) -> pd.DataFrame:
    """One row per current condition (server, kind, severity, message, at), newest first, worst first."""
    rows = [w for r in status.to_dict("records") for w in _row_warnings(r)]
    df = pd.DataFrame(rows, columns=WARNING_COLUMNS)
    if df.empty:
        return df
    df["severity"] = df["kind"].map(SEVERITY)
    df["at"] = pd.to_datetime(df["at"])
    rank = df["severity"].map(SEVERITY_RANK)
    order = df.assign(_rank=rank).sort_values(["at", "_rank"], ascending=[False, True]).index
    return df.loc[order].reset_index(drop=True)


def current_warnings(engine: Engine, config: Config, now: datetime | None = None) -> pd.DataFrame:
    """The warnings panel's rows: current high latency, loss, jitter, down and stale conditions."""
    return warnings_from_status(server_status(engine, config, now))


def concern_history(engine: Engine, server_id: str, filters: Filters, limit: int = 200) -> pd.DataFrame:
    """A server's rounds with concerns in the window (timestamp, concerns), newest first."""
    stmt = (where_filters(select(pr.c.timestamp, pr.c.concerns), filters)
            .where(pr.c.server_id == server_id, pr.c.concerns.is_not(None), pr.c.concerns != "")
            .order_by(pr.c.timestamp.desc()).limit(limit))
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    return df


def concern_summary(history: pd.DataFrame) -> pd.DataFrame:
    """Per kind of concern: rounds flagged, first and last time, and the latest text; most recent first."""
    columns = ["kind", "rounds", "first", "last", "latest"]
    rows = [{"kind": concern_kind(t), "at": r["timestamp"], "text": t}
            for r in history.to_dict("records") for t in split_concerns(r["concerns"])]
    if not rows:
        return pd.DataFrame(columns=columns)
    long = pd.DataFrame(rows).sort_values("at", ascending=False)
    grouped = long.groupby("kind", sort=False)
    out = pd.DataFrame({"rounds": grouped.size(), "first": grouped["at"].min(), "last": grouped["at"].max(),
                        "latest": grouped["text"].first()}).reset_index()
    return out.sort_values("last", ascending=False, ignore_index=True)[columns]
