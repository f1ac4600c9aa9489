"""Warnings: the dashboard's panel data (from the alerts table) and a server's concern history.

current_warnings() is the one function the warnings panel reads: the open alerts, then the alerts
resolved in the window. Staleness shows even before the stale watcher has raised its alert.
"""
from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from settings import Config
from queries.alerts import api_kind, list_alerts
from queries.catalog import matching, servers_frame
from queries.filters import Filters
from queries.querystring import parse_filters
from queries.sqlutil import where_filters
from queries.status import has_open_stale_alert, server_status
from storage.schema import ping_results as pr
from common.timeutil import utcnow

WARNING_COLUMNS = ["id", "server_id", "partner", "country", "ip", "kind", "severity", "state", "message",
                   "started_at", "resolved_at", "at", "acknowledged_by", "acknowledged_at", "ack_comment",
                   "path_snapshot"]
# Prefixes of the concern texts and their kinds: only for rows stored before concern_data existed (schema 4).
CONCERN_KINDS = (("probe failed", "down"), ("no reply", "down"), ("high latency", "latency"),
                 ("packet loss", "loss"), ("jitter", "jitter"))
SEVERITY_RANK = {"critical": 0, "warning": 1}


def concern_kind(text: str) -> str:
    """down, latency, loss, jitter or other for one concern text of a row stored before concern_data."""
    lowered = (text or "").strip().lower()
    return next((kind for prefix, kind in CONCERN_KINDS if lowered.startswith(prefix)), "other")


def split_concerns(text) -> list[str]:
    """The separate concerns of a stored concerns value ('a; b'), blanks dropped."""
    if not isinstance(text, str):
        return []
    return [part.strip() for part in text.split(";") if part.strip()]


def round_concerns(data, text) -> list[tuple[str, str]]:
    """(kind, text) of each concern of one stored round: from concern_data, else (older rows) from the text."""
    if isinstance(data, str) and data:
        return [(c["kind"], c["text"]) for c in json.loads(data)]
    return [(concern_kind(t), t) for t in split_concerns(text)]


def panel_rows(alerts: pd.DataFrame, config: Config) -> pd.DataFrame:
    """list_alerts rows in the panel's shape: the API's kind names, the configured ip, and `at` (when the
    alert began, or ended once resolved)."""
    servers = servers_frame(config)
    ips = dict(zip(servers["server_id"], servers["ip"]))
    df = alerts.assign(kind=alerts["kind"].map(api_kind), ip=alerts["server_id"].map(ips),
                       at=alerts["resolved_at"].where(alerts["state"] == "resolved", alerts["started_at"]))
    # A server removed from the config keeps its old alerts; its id is the best address left.
    df["ip"] = df["ip"].fillna(df["server_id"])
    return df.reindex(columns=WARNING_COLUMNS)


def stale_rows(status: pd.DataFrame) -> pd.DataFrame:
    """An open 'stale' row for each server the status calls stale that has no stale alert yet (the watcher
    checks only every so often, and only where a web app runs)."""
    rows = [{"server_id": r["server_id"], "partner": r["partner"], "country": r["country"], "ip": r["ip"],
             "kind": "stale", "severity": "warning", "state": "open", "started_at": r["timestamp"],
             "at": r["timestamp"],
             "message": f"No new result since {pd.Timestamp(r['timestamp']):%Y-%m-%d %H:%M} UTC"}
            for r in status.to_dict("records") if r["status"] == "stale" and not has_open_stale_alert(r)]
    return pd.DataFrame(rows, columns=WARNING_COLUMNS)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack frames of WARNING_COLUMNS (empty ones skipped, so no column loses its dtype)."""
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=WARNING_COLUMNS)


def worst_newest(df: pd.DataFrame) -> pd.DataFrame:
    """Critical before warning, then newest first."""
    rank = df["severity"].map(SEVERITY_RANK).fillna(len(SEVERITY_RANK))
    order = df.assign(_rank=rank, _at=pd.to_datetime(df["at"])).sort_values(["_rank", "_at"],
                                                                          ascending=[True, False]).index
    return df.loc[order].reset_index(drop=True)


def _status_in_view(engine: Engine, config: Config, filters: Filters, now: datetime,
                    status: pd.DataFrame | None = None) -> pd.DataFrame:
    """The status rows of the servers the filters select (from `status` when the caller has read it)."""
    status = server_status(engine, config, now) if status is None else status
    status = matching(status, filters.countries, filters.partners)
    return status[status["server_id"].isin(filters.servers)] if filters.servers else status


def current_warnings(engine: Engine, config: Config, now: datetime | None = None,
                     filters: Filters | None = None, status: pd.DataFrame | None = None) -> pd.DataFrame:
    """The warnings panel's rows: open alerts (critical first, then newest), then the alerts resolved in the
    window (newest first). Filters default to the last 24 h of every server; `status` is server_status(now)
    when the caller has it."""
    now = now or utcnow()
    filters = filters or parse_filters({}, now)
    opened = _concat([panel_rows(list_alerts(engine, "open", filters), config),
                      stale_rows(_status_in_view(engine, config, filters, now, status))])
    resolved = panel_rows(list_alerts(engine, "resolved", filters), config)
    ended = pd.to_datetime(resolved["resolved_at"])
    resolved = resolved[(ended >= filters.start) & (ended < filters.end)].sort_values("at", ascending=False)
    return _concat([worst_newest(opened), resolved])


def concern_history(engine: Engine, server_id: str, filters: Filters, limit: int = 200) -> pd.DataFrame:
    """A server's rounds with concerns in the window (timestamp, concerns), newest first."""
    stmt = (where_filters(select(pr.c.timestamp, pr.c.concerns, pr.c.concern_data), filters)
            .where(pr.c.server_id == server_id, pr.c.concerns.is_not(None), pr.c.concerns != "")
            .order_by(pr.c.t_us.desc()).limit(limit))
    with engine.connect() as conn:
        df = pd.read_sql(stmt, conn)
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    return df


def concern_summary(history: pd.DataFrame) -> pd.DataFrame:
    """Per kind of concern: rounds flagged, first and last time, and the latest text; most recent first."""
    columns = ["kind", "rounds", "first", "last", "latest"]
    rows = [{"kind": kind, "at": r["timestamp"], "text": text} for r in history.to_dict("records")
            for kind, text in round_concerns(r.get("concern_data"), r["concerns"])]
    if not rows:
        return pd.DataFrame(columns=columns)
    long = pd.DataFrame(rows).sort_values("at", ascending=False)
    grouped = long.groupby("kind", sort=False)
    out = pd.DataFrame({"rounds": grouped.size(), "first": grouped["at"].min(), "last": grouped["at"].max(),
                        "latest": grouped["text"].first()}).reset_index()
    return out.sort_values("last", ascending=False, ignore_index=True)[columns]
