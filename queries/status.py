"""The current state of every configured server: its latest stored round, classified, and its open alerts."""
from __future__ import annotations

from datetime import datetime, timedelta
from operator import attrgetter
from typing import NamedTuple

import pandas as pd
from sqlalchemy import DateTime, func, literal, select
from sqlalchemy.engine import Engine

from settings import THRESHOLD_NAMES, Config
from queries.alerts import open_alerts_by_server
from storage.alertstore import load_open
from queries.series import clean_number
from queries.sipstatus import down_for_calls, sip_adjusted, sip_object, sip_warning, with_sip
from storage.schema import ping_results as pr
from storage.schema import alerts, maintenance_windows, server_latest
from common.timeutil import iso_z, utcnow, to_naive_utc

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
        newest = conn.execute(select(func.max(pr.c.id))).scalar()
        alerted = tuple(conn.execute(select(func.count(), func.max(alerts.c.updated_at)).select_from(alerts)).one())
        windows = tuple(conn.execute(select(func.count(), func.max(maintenance_windows.c.id))
                                     .select_from(maintenance_windows)).one())
    return newest, alerted, windows


def latest_rows(engine: Engine, server_ids: list[str], collectors: tuple[str, ...] = ()) -> pd.DataFrame:
    """The newest stored row of each (collector, server id), through the writer-maintained server_latest table;
    with collectors, only theirs."""
    # Two steps, so the plan cannot flip: server_latest's few hundred rows first, then one index seek of
    # ix_ping_results_server_time per (server, time). As one join, SQLite drove from ping_results instead (the
    # v10 key (collector, server_id) has no server_id prefix for the IN), reading every stored row of every
    # server: 1.2 s at 200 servers x 2 days. Ids are chunked to stay under SQLite's bound-variable limit.
    frames = []
    with engine.connect() as conn:
        for i in range(0, len(server_ids), ID_CHUNK):
            newest = _latest_keys(conn, server_ids[i:i + ID_CHUNK], collectors)
            if newest:
                frames.append(_rows_at(conn, newest))
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[c.name for c in LATEST_COLUMNS])


def _latest_keys(conn, server_ids: list[str], collectors: tuple[str, ...]) -> set[tuple]:
    """(collector, server id, timestamp) of each server's newest round in server_latest."""
    stmt = select(server_latest.c.collector, server_latest.c.server_id, server_latest.c.timestamp).where(
        server_latest.c.server_id.in_(server_ids))
    if collectors:
        stmt = stmt.where(server_latest.c.collector.in_(collectors))
    return {tuple(r) for r in conn.execute(stmt)}


def _rows_at(conn, newest: set[tuple]) -> pd.DataFrame:
    """The ping_results rows at those (collector, server id, timestamp) keys."""
    # server_id IN (...) AND timestamp IN (...) is one index seek per combination on SQLite and PostgreSQL
    # (a round stores its servers at a handful of instants); a row-value IN was a scan. Pairs not asked for
    # are dropped below.
    stmt = select(*LATEST_COLUMNS).where(pr.c.server_id.in_(sorted({sid for _, sid, _ in newest})),
                                         pr.c.timestamp.in_(sorted({at for _, _, at in newest})))
    frame = pd.read_sql(stmt, conn)
    if frame.empty:
        return frame
    # Keep each collector's own newest row (two collectors may store a server at the same instant).
    keys = zip(frame["collector"].fillna(""), frame["server_id"], frame["timestamp"].map(to_naive_utc))
    wanted = {(c, sid, to_naive_utc(at)) for c, sid, at in newest}
    return frame[[k in wanted for k in keys]].reset_index(drop=True)


def recent_rounds_stmt(server_ids: list[str], per_server: int):
    """SELECT server_id + BEAT_COLUMNS of the last per_server rounds of each server (in no promised order)."""
    # Per server, the time of its per_server-th newest round is a short backward walk of
    # ix_ping_results_server_time; the rows from that time on are then one index range per server. This is
    # exact whatever the interval or gaps in the history, never scans older rows, and is plain SQL (a
    # correlated scalar subquery with LIMIT/OFFSET) on SQLite and PostgreSQL alike.
    newer = pr.alias("newer")
    since = (select(newer.c.timestamp).where(newer.c.server_id == server_latest.c.server_id)
             .order_by(newer.c.timestamp.desc()).limit(1).offset(per_server - 1).scalar_subquery())
    # DISTINCT: server_latest holds a row per (collector, server) since v4.
    cut = (select(server_latest.c.server_id, since.label("since"))
           .where(server_latest.c.server_id.in_(server_ids)).distinct().cte("cut"))
    # A server with fewer rounds has no such time (NULL): coalescing to a floor keeps the index range form.
    floor = func.coalesce(cut.c.since, literal(BEFORE_ANY_ROUND, DateTime))
    on = (pr.c.server_id == cut.c.server_id) & (pr.c.timestamp >= floor)
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
            "last_check": iso_z(pd.Timestamp(stamp).to_pydatetime()) if stamp is not None else None,
            "sip_status": None}  # filled in by _views_with_sip for a server with a SIP check


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


def _merge_vantage_points(latest: pd.DataFrame, config: Config, now: datetime,
                          silent: set[str] = frozenset()) -> pd.DataFrame:
    """One row per server from its per-collector rows: the newest recent row's values, the merged status and
    every vantage point's view (column 'vantage_points'), and the collectors that see it down ('down_from')."""
    if latest.empty:
        return latest.assign(vantage_points=pd.Series(dtype=object), down_from=pd.Series(dtype=object),
                             merged=pd.Series(dtype=object))
    latest = latest.assign(timestamp=pd.to_datetime(latest["timestamp"]))
    records = latest.astype(object).where(latest.notna(), None).to_dict("records")
    by_server: dict[str, list[dict]] = {}
    for r in records:
        by_server.setdefault(r["server_id"], []).append(r)
    merged = []
    for sid, rows in by_server.items():
        views = sorted((_vantage(r, config, now, silent) for r in rows), key=lambda v: v["collector"])
        state = merged_status(views)
        recent = [r for r, v in zip(sorted(rows, key=lambda r: r.get("collector") or ""), views)
                  if v["status"] in ("up", "degraded", "down")]
        # The figures shown are the newest recent row's (the newest of all when none is recent).
        pick = max(recent or rows, key=lambda r: r["timestamp"])
        merged.append(dict(pick, vantage_points=views, merged=state,
                           down_from=[v["collector"] for v in views if v["status"] == "down"]))
    return pd.DataFrame(merged)


def _views_with_sip(df: pd.DataFrame) -> pd.DataFrame:
    """Each vantage point's view after its own SIP check (sip_status; up becomes down when its SIP is down, as for
    a single site), and the merged state and down_from made again from those views: a trunk dead for calls from
    one place and answering from another is partial, not down and not up."""
    if "sip_views" not in df:
        return df
    views_col, merged_col, down_col = [], [], []
    for views, sip_views, merged, down_from in zip(df["vantage_points"], df["sip_views"], df["merged"],
                                                   df["down_from"]):
        if not isinstance(sip_views, dict) or not isinstance(views, list):
            views_col.append(views), merged_col.append(merged), down_col.append(down_from)
            continue
        views = [dict(v, sip_status=sip_views.get(v["collector"]),
                      status=sip_adjusted(v["status"], {"sip_status": sip_views.get(v["collector"])})) for v in views]
        views_col.append(views)
        merged_col.append(merged_status(views))
        down_col.append([v["collector"] for v in views if v["status"] == "down"])
    return df.assign(vantage_points=pd.Series(views_col, index=df.index, dtype=object),
                     merged=pd.Series(merged_col, index=df.index, dtype=object),
                     down_from=pd.Series(down_col, index=df.index, dtype=object))


def _final_status(row: dict, config: Config, now: datetime) -> str:
    """A stale alert, staleness or no data as classify() says; otherwise the merged state of the vantage points."""
    own = classify(row, config, now)
    if own in ("stale", "unknown"):
        return own
    views = row.get("vantage_points") or []
    if views and all(v["status"] == "stale" for v in views):  # every collector that measured it fell silent
        return "stale"
    return row.get("merged") or own


def server_status(engine: Engine, config: Config, now: datetime | None = None,
                  collectors: tuple[str, ...] = ()) -> pd.DataFrame:
    """One row per configured server, in config order, with its latest values, open alerts and merged status
    (over the given collectors, or all)."""
    now = now or utcnow()
    servers = pd.DataFrame([{"server_id": s.id, "partner": s.partner, "country": s.country, "ip": s.ip,
                             "dn_ext": s.dn_ext, "configured_probe": s.probe, "has_sip": s.sip is not None,
                             "sip_verify": s.sip.verify if s.sip and s.sip.transport == "tls" else None}
                            for s in config.servers],
                           columns=["server_id", "partner", "country", "ip", "dn_ext", "configured_probe", "has_sip",
                                    "sip_verify"])
    silent = {r["collector"] for r in load_open(engine, kinds=("collector_stale",))}
    latest = _merge_vantage_points(latest_rows(engine, list(servers["server_id"]), collectors), config, now, silent)
    df = servers.merge(latest, on="server_id", how="left")
    df["timestamp"] = pd.to_datetime(df["timestamp"])
    df = _views_with_sip(with_sip(df, engine, set(df.loc[df["has_sip"].astype(bool), "server_id"]), collectors))
    opened = open_alerts_by_server(engine, list(servers["server_id"]))
    df["open_alerts"] = pd.Series([opened.get(sid, []) for sid in df["server_id"]], index=df.index, dtype=object)
    from queries.maintenance import maintenance_now  # the cards' "maintenance" badge
    windows = maintenance_now(config, engine, to_naive_utc(now))
    df["maintenance"] = pd.Series([[w.comment or "maintenance" for w in windows.get(sid, [])]
                                   for sid in df["server_id"]], index=df.index, dtype=object)
    records = df.astype(object).where(df.notna(), None).to_dict("records")
    # A stale alert wins (classify); otherwise a partial outage is only seen by merging the vantage points; then
    # a server whose ping answers but whose SIP is down is down.
    df["status"] = [sip_adjusted(_final_status(r, config, now), r) for r in records]
    df["down_for_calls"] = [status == "down" and down_for_calls(r) for status, r in zip(df["status"], records)]
    df["stale"] = df["status"] == "stale"
    df["age_seconds"] = (now - df["timestamp"]).dt.total_seconds()
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
            "last_check": iso_z(stamp.to_pydatetime()) if stamp is not None else None,
            "stale": bool(row["stale"]), "warnings": warnings_of(row, config),
            "open_alerts": open_alert_summary(row.get("open_alerts")),
            "down_for_calls": bool(row["down_for_calls"]),
            "sip": sip_object(row, bool(row.get("has_sip"))),
            "maintenance": list(row.get("maintenance") or []),
            "vantage_points": row.get("vantage_points") or []}


def status_records(df: pd.DataFrame, config: Config) -> list[dict]:
    """Every server_status row in the API's shape, in config order."""
    records = df.astype(object).where(df.notna(), None).to_dict("records")
    return [status_record(r, config) for r in records]
