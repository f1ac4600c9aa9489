"""The current state of every configured server: its latest stored round, classified, and its open alerts."""
from __future__ import annotations

from datetime import datetime, timedelta
from operator import attrgetter
from typing import NamedTuple

import pandas as pd
from sqlalchemy import BigInteger, func, literal, select
from sqlalchemy.engine import Engine

from settings import THRESHOLD_NAMES, Config
from queries.alerts import open_alerts_by_server
from storage.alertstore import load_open
from queries.series import clean_number
from queries.sipstatus import (PREFIX, SIP_COLUMNS, down_for_calls, sip_adjusted, sip_by_server, sip_object,
                               sip_warning)
from storage.schema import ping_results as pr
from storage.compact import newest_id, t_us
from storage.schema import alerts, maintenance_windows, ping_compact, series, server_latest
from common.timeutil import iso_z, utcnow, to_naive_utc
from common.format import records

STATUSES = ("up", "degraded", "partial", "down", "stale", "unknown")
LATEST_COLUMNS = [pr.c.server_id, pr.c.timestamp, pr.c.avg_time, pr.c.min_time, pr.c.max_time,
                  pr.c.loss_percentage, pr.c.jitter_time, pr.c.latency_class, pr.c.success, pr.c.error,
                  pr.c.concerns, pr.c.mos, pr.c.r_factor, pr.c.probe, pr.c.collector]
BEAT_COLUMNS = [pr.c.timestamp, pr.c.latency_class, pr.c.success, pr.c.avg_time, pr.c.loss_percentage]
# Older than any stored round: the lower bound for a server with fewer rounds than asked for.
BEFORE_ANY_ROUND = datetime(1970, 1, 1)
ID_CHUNK = 500  # stays under SQLite's bound-variable limit


class Beat(NamedTuple):
    """One stored round of a server, as the cards' heartbeat strip shows it."""

    timestamp: datetime
    latency_class: str | None
    success: bool | None
    avg_time: float | None
    loss_percentage: float | None


def status_stamp(engine: Engine) -> tuple:
    """A cheap stamp of what server_status reads besides the clock: the newest row id (every round adds rows and
    a heartbeat), the alerts' count and last change, and the stored maintenance windows."""
    with engine.connect() as conn:
        newest = newest_id(conn)
        alerted = tuple(conn.execute(select(func.count(), func.max(alerts.c.updated_at)).select_from(alerts)).one())
        windows = tuple(conn.execute(select(func.count(), func.max(maintenance_windows.c.id))
                                     .select_from(maintenance_windows)).one())
    return newest, alerted, windows


def latest_rows(engine: Engine, server_ids: list[str], collectors: tuple[str, ...] = ()) -> list[dict]:
    """The newest stored row of each (collector, server id) as a dict, through the writer-maintained server_latest
    table; with collectors, only theirs."""
    # Two steps, so the plan cannot flip: server_latest's few hundred rows first, then one seek of the raw rows'
    # (series, time) key per (series, time). As one join, SQLite drove from ping_results instead (the
    # v10 key (collector, server_id) has no server_id prefix for the IN), reading every stored row of every
    # server: 1.2 s at 200 servers x 2 days. Ids are chunked to stay under SQLite's bound-variable limit.
    # Plain rows, not pd.read_sql: the frame was built only to be taken apart again (8 of 20 ms).
    found = []
    with engine.connect() as conn:
        for i in range(0, len(server_ids), ID_CHUNK):
            newest = _latest_keys(conn, server_ids[i:i + ID_CHUNK], collectors)
            if newest:
                found += _rows_at(conn, newest)
    return found


def _latest_keys(conn, server_ids: list[str], collectors: tuple[str, ...]) -> set[tuple]:
    """(collector, server id, timestamp) of each server's newest round in server_latest."""
    stmt = select(server_latest.c.collector, server_latest.c.server_id, server_latest.c.timestamp).where(
        server_latest.c.server_id.in_(server_ids))
    if collectors:
        stmt = stmt.where(server_latest.c.collector.in_(collectors))
    return {(c, sid, to_naive_utc(at)) for c, sid, at in conn.execute(stmt)}


def _rows_at(conn, newest: set[tuple]) -> list[dict]:
    """The ping_results rows at those (collector, server id, timestamp) keys, as dicts."""
    # server_id IN (...) AND t_us IN (...): the servers' series, then one key seek per (series, instant) on SQLite
    # and PostgreSQL (a round stores its servers at a handful of instants); a row-value IN was a scan. Pairs not
    # asked for are dropped below.
    stmt = select(*LATEST_COLUMNS).where(pr.c.server_id.in_(sorted({sid for _, sid, _ in newest})),
                                         pr.c.t_us.in_(sorted({t_us(at) for _, _, at in newest})))
    # Keep each collector's own newest row (two collectors may store a server at the same instant).
    rows = (dict(row, timestamp=to_naive_utc(row["timestamp"])) for row in conn.execute(stmt).mappings())
    return [row for row in rows if (row["collector"] or "", row["server_id"], row["timestamp"]) in newest]


def recent_rounds_stmt(server_ids: list[str], per_server: int):
    """SELECT server_id + BEAT_COLUMNS of the last per_server rounds of each server (in no promised order)."""
    # Per series of the servers, the time of its per_server-th newest row is a short backward walk of
    # ping_compact's (series, time) key; the rows from that time on are then one key range per series. Each
    # series gives up to per_server rows, so a server's newest per_server are among them (_newest keeps those).
    # This is exact whatever the interval or gaps in the history, never scans older rows, and is plain SQL (a
    # correlated scalar subquery with LIMIT/OFFSET) on SQLite and PostgreSQL alike.
    since = (select(ping_compact.c.t_us).where(ping_compact.c.series_id == series.c.id)
             .order_by(ping_compact.c.t_us.desc()).limit(1).offset(per_server - 1).scalar_subquery())
    cut = (select(series.c.id.label("series_id"), since.label("since"))
           .where(series.c.server_id.in_(server_ids)).cte("cut"))
    # A series with fewer rows has no such time (NULL): coalescing to a floor keeps the key range form.
    floor = func.coalesce(cut.c.since, literal(t_us(BEFORE_ANY_ROUND), BigInteger))
    on = (pr.c.series_id == cut.c.series_id) & (pr.c.t_us >= floor)
    return select(pr.c.server_id, *BEAT_COLUMNS).select_from(cut.join(pr, on))


def _newest(beats: list[Beat], count: int) -> list[Beat]:
    """The newest `count` beats, oldest first."""
    # SQL promises no order without ORDER BY (sorting here is cheaper than a temp B-tree), and two rows of one
    # server with the same time (two collectors) can put more than `count` rows past the cut.
    beats.sort(key=attrgetter("timestamp"))
    return beats[-count:]


def recent_rounds(engine: Engine, server_ids: list[str], per_server: int = 30) -> dict[str, list[Beat]]:
    """The last per_server rounds of each server id as Beats, oldest first ([] for a server without rounds)."""
    found: dict[str, list[Beat]] = {sid: [] for sid in server_ids}
    if per_server < 1 or not found:
        return found
    ids = list(found)
    with engine.connect() as conn:
        for i in range(0, len(ids), ID_CHUNK):
            for row in conn.execute(recent_rounds_stmt(ids[i:i + ID_CHUNK], per_server)).all():
                found[row[0]].append(Beat._make(row[1:]))
    return {sid: _newest(beats, per_server) for sid, beats in found.items()}


def has_open_stale_alert(row: dict) -> bool:
    """True when the stale watcher holds an open 'stale' alert for this server."""
    return any(a["kind"] == "stale" for a in row.get("open_alerts") or [])


def classify(row: dict, config: Config, now: datetime) -> str:
    """up, degraded, down, stale or unknown for one server's latest row (and its open alerts, if given)."""
    # The watcher's open stale alert wins, so the status and the alert list never disagree about staleness.
    if has_open_stale_alert(row):
        return "stale"
    if row.get("timestamp") is None or pd.isna(row.get("timestamp")):
        return "unknown"
    if now - row["timestamp"] > timedelta(seconds=config.stale_after_seconds):
        return "stale"
    if not row.get("success"):
        return "down"
    return "degraded" if row.get("concerns") else "up"


def _vantage(row: dict, config: Config, now: datetime, silent: set[str] = frozenset()) -> dict:
    """One collector's view of a server: its name, status and figures (stale while its collector_stale alert is
    open, so the status and the alert list agree, as for the per-server stale alert)."""
    stamp = row.get("timestamp")
    own = "stale" if (row.get("collector") or "") in silent else classify(dict(row, open_alerts=None), config, now)
    return {"collector": row.get("collector") or "", "status": own,
            "latency_ms": clean_number(row.get("avg_time")), "loss_pct": clean_number(row.get("loss_percentage")),
            "jitter_ms": clean_number(row.get("jitter_time")),
            "last_check": iso_z(stamp), "sip_status": None}  # filled in by _views_with_sip for a server with a SIP check


def merged_status(views: list[dict]) -> str | None:
    """The merged state of a server from its recent vantage points; None when no collector measured it recently.

    down only when every collector that measured it recently sees it down; partial when some do and others
    don't; otherwise the worst state they report (degraded over up)."""
    recent = [v["status"] for v in views if v["status"] in ("up", "degraded", "down")]
    if not recent:
        return None
    down = recent.count("down")
    if down == len(recent):
        return "down"
    if down:
        return "partial"
    return "degraded" if "degraded" in recent else "up"


def _merge_vantage_points(latest: list[dict], config: Config, now: datetime,
                          silent: set[str] = frozenset()) -> dict[str, dict]:
    """server id -> one row from its per-collector rows: the newest recent row's values, the merged status and
    every vantage point's view (key 'vantage_points'), and the collectors that see it down ('down_from')."""
    by_server: dict[str, list[dict]] = {}
    for r in latest:
        by_server.setdefault(r["server_id"], []).append(r)
    merged = {}
    for sid, rows in by_server.items():
        rows.sort(key=lambda r: r.get("collector") or "")
        views = [_vantage(r, config, now, silent) for r in rows]
        recent = [r for r, v in zip(rows, views) if v["status"] in ("up", "degraded", "down")]
        # The figures shown are the newest recent row's (the newest of all when none is recent).
        pick = max(recent or rows, key=lambda r: r["timestamp"])
        merged[sid] = dict(pick, vantage_points=views, merged=merged_status(views),
                           down_from=[v["collector"] for v in views if v["status"] == "down"])
    return merged


def _recent_collectors(row: dict) -> set[str]:
    """The collectors whose view of this server is recent (up, degraded or down)."""
    return {v["collector"] for v in row.get("vantage_points") or [] if v["status"] in ("up", "degraded", "down")}


def _views_with_sip(row: dict) -> dict:
    """The row with each vantage point's view after its own SIP check (sip_status; up becomes down when its SIP is
    down, as for a single site), and the merged state and down_from made again from those views: a trunk dead for
    calls from one place and answering from another is partial, not down and not up."""
    sip_views, views = row.get("sip_views"), row.get("vantage_points")
    if not isinstance(sip_views, dict) or not isinstance(views, list):
        return row
    views = [dict(v, sip_status=sip_views.get(v["collector"]),
                  status=sip_adjusted(v["status"], {"sip_status": sip_views.get(v["collector"])})) for v in views]
    return dict(row, vantage_points=views, merged=merged_status(views),
                down_from=[v["collector"] for v in views if v["status"] == "down"])


def _final_status(row: dict, config: Config, now: datetime) -> str:
    """A stale alert, staleness or no data as classify() says; otherwise the merged state of the vantage points."""
    own = classify(row, config, now)
    if own in ("stale", "unknown"):
        return own
    views = row.get("vantage_points") or []
    if views and all(v["status"] == "stale" for v in views):  # every collector that measured it fell silent
        return "stale"
    return row.get("merged") or own


def _server_row(server) -> dict:
    """A configured server's own columns of the status frame."""
    return {"server_id": server.id, "partner": server.partner, "country": server.country, "ip": server.ip,
            "dn_ext": server.dn_ext, "configured_probe": server.probe, "has_sip": server.sip is not None,
            "sip_verify": server.sip.verify if server.sip and server.sip.transport == "tls" else None}


SERVER_COLUMNS = list(_server_row(type("S", (), {"id": "", "partner": "", "country": "", "ip": "", "dn_ext": "",
                                                 "probe": "", "sip": None})))
STATUS_COLUMNS = (SERVER_COLUMNS + [c.name for c in LATEST_COLUMNS if c.name != "server_id"]
                  + ["vantage_points", "merged", "down_from"] + [PREFIX + c for c in SIP_COLUMNS]
                  + ["sip_views", "open_alerts", "maintenance", "status", "down_for_calls", "stale", "age_seconds"])
NUMERIC_COLUMNS = ["avg_time", "min_time", "max_time", "loss_percentage", "jitter_time", "mos", "r_factor",
                   "age_seconds"]


def _status_row(row: dict, config: Config, now: datetime) -> dict:
    """The row with its status, down_for_calls and stale flags, and its age in seconds."""
    # A stale alert wins (classify); otherwise a partial outage is only seen by merging the vantage points; then
    # a server whose ping answers but whose SIP is down is down.
    status = sip_adjusted(_final_status(row, config, now), row)
    stamp = row.get("timestamp")
    return dict(row, status=status, down_for_calls=status == "down" and down_for_calls(row),
                stale=status == "stale", age_seconds=(now - stamp).total_seconds() if stamp is not None else None)


def status_rows(engine: Engine, config: Config, now: datetime | None = None,
                collectors: tuple[str, ...] = ()) -> list[dict]:
    """One dict per configured server, in config order, with its latest values, open alerts, merged status (over
    the given collectors, or all) and age; None for what is missing."""
    now = now or utcnow()
    ids = [s.id for s in config.servers]
    silent = {r["collector"] for r in load_open(engine, kinds=("collector_stale",))}
    # Row dicts throughout: building and merging frames step by step for a few hundred rows was most of the
    # status route's time (80 ms at 200 servers).
    latest = _merge_vantage_points(latest_rows(engine, ids, collectors), config, now, silent)
    sip_ids = {s.id for s in config.servers if s.sip is not None}
    sip = sip_by_server(engine, sip_ids, {sid: _recent_collectors(latest.get(sid, {})) for sid in sip_ids},
                        collectors)
    opened = open_alerts_by_server(engine, ids)
    from queries.maintenance import maintenance_now  # the cards' "maintenance" badge
    windows = maintenance_now(config, engine, to_naive_utc(now))
    rows = []
    for server in config.servers:
        row = {**_server_row(server), **latest.get(server.id, {}), **sip.get(server.id, {}),
               "open_alerts": opened.get(server.id, []),
               "maintenance": [w.comment or "maintenance" for w in windows.get(server.id, [])]}
        rows.append(_status_row(_views_with_sip(row), config, now))
    return rows


def server_status(engine: Engine, config: Config, now: datetime | None = None,
                  collectors: tuple[str, ...] = ()) -> pd.DataFrame:
    """status_rows as a frame, with typed time and number columns."""
    return _status_frame(status_rows(engine, config, now, collectors))


def _status_frame(rows: list[dict]) -> pd.DataFrame:
    """The status rows as a frame with typed time and number columns."""
    df = pd.DataFrame.from_records(rows, columns=STATUS_COLUMNS)
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    df[PREFIX + "timestamp"] = pd.to_datetime(df[PREFIX + "timestamp"])
    for column in NUMERIC_COLUMNS:  # all None (no server has a round yet) would leave them object
        if df[column].dtype == object:
            df[column] = pd.to_numeric(df[column])
    return df


def quality_of(latency_class) -> str | None:
    """The latency class as an API quality word; None for 'down' or no data."""
    return latency_class if latency_class in THRESHOLD_NAMES else None


def warnings_of(row: dict, config: Config) -> list[str]:
    """Why a server needs attention: the stored round's concerns, staleness, then each open alert (kind: message)."""
    found = [c for c in (row.get("concerns") or "").split("; ") if c]
    found += [w for w in (sip_warning(row),) if w and row["status"] != "stale"]
    alerts = row.get("open_alerts") or []
    if row["status"] == "stale" and not has_open_stale_alert(row):
        found.append(f"no result for {int(row['age_seconds'])} s (stale after {config.stale_after_seconds} s)")
    return found + [f"{a['kind']}: {a['message']}" for a in alerts]


def open_alert_summary(alerts: list[dict] | None) -> list[dict]:
    """A server's open alerts in the API's shape: id, kind, severity, started_at."""
    return [{"id": int(a["id"]), "kind": a["kind"], "severity": a["severity"], "started_at": iso_z(a["started_at"])}
            for a in alerts or []]


def status_record(row: dict, config: Config) -> dict:
    """One server_status row in the API's shape (field names carry their units)."""
    stamp = row.get("timestamp")
    return {"id": row["server_id"], "partner": row["partner"], "country": row["country"], "ip": row["ip"],
            "dn_ext": row["dn_ext"], "status": row["status"], "quality": quality_of(row.get("latency_class")),
            "latency_ms": clean_number(row.get("avg_time")), "loss_pct": clean_number(row.get("loss_percentage")),
            "jitter_ms": clean_number(row.get("jitter_time")), "mos": clean_number(row.get("mos")),
            "r_factor": clean_number(row.get("r_factor")),
            "last_check": iso_z(stamp),
            "stale": bool(row["stale"]), "warnings": warnings_of(row, config),
            "open_alerts": open_alert_summary(row.get("open_alerts")),
            "down_for_calls": bool(row["down_for_calls"]),
            "sip": sip_object(row, bool(row.get("has_sip"))),
            "maintenance": list(row.get("maintenance") or []),
            "vantage_points": row.get("vantage_points") or []}


def status_records(rows: list[dict], config: Config) -> list[dict]:
    """Every status_rows row in the API's shape, in config order."""
    return [status_record(r, config) for r in rows]
