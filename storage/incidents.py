"""Keep the incidents table and the hourly availability rollups as rounds arrive, and rebuild them (issue 15).

An incident is one span of `down` (no reply at all) of a server: from its first down round to its first up
round. The writer calls fold_rounds() inside each round's transaction, so incidents are exact to the round
and survive raw-row retention (the alerts table is no substitute: a down alert opens only after
rounds_to_open rounds and is held back while the monitoring host's own link is down).
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Iterable

from sqlalchemy import Integer, bindparam, case, cast, func, insert, literal, select, update
from sqlalchemy.engine import Connection

from storage.rollups import _bucket_sql, _insert_for, round_params, round_rows, rows_span
from storage.schema import availability_rollups, incidents
from storage.schema import ping_results as pr

AVAILABILITY_RESOLUTIONS_SECONDS = (3600, 86400)
_COLLECTOR = func.coalesce(pr.c.collector, literal("")).label("collector")  # '' for rows stored without a name
_COUNT_COLUMNS = ["rounds", "down_rounds", "degraded_rounds"]


def is_down(row: dict) -> bool:
    """A round is down when nothing came back (success false)."""
    return not row.get("success")


def cause_of(row: dict) -> str:
    """Why a down round was down: the probe's error (SIP code, unknown host, ...) or plainly no reply."""
    error = (row.get("error") or "").strip()
    return f"probe error: {error}" if error else "no reply"


def _open_incidents(conn: Connection, collector: str) -> dict[str, int]:
    """server_id -> id of its open incident as seen from `collector`."""
    rows = conn.execute(select(incidents.c.server_id, incidents.c.id)
                        .where(incidents.c.ended_at.is_(None), incidents.c.collector == collector))
    return {server_id: incident_id for server_id, incident_id in rows}


def fold_incidents(conn: Connection, rounds: Iterable[list[dict]], collector: str = "") -> None:
    """Open, extend and close one collector's incidents for each round's rows, rounds in time order, in the
    caller's transaction (each vantage point has its own: one seeing a server down never ends another's span)."""
    open_ids = _open_incidents(conn, collector)
    for rows in rounds:
        ended, extended, opened = [], [], []
        for row in rows:
            server_id, at = row.get("server_id"), row["timestamp"]
            if server_id is None:
                continue
            current = open_ids.get(server_id)
            if not is_down(row):
                if current is not None:
                    ended.append({"incident_id": current, "at": at})
                    del open_ids[server_id]
            elif current is not None:
                extended.append({"incident_id": current, "at": at})
            else:
                opened.append({"collector": collector, "server_id": server_id, "partner": row["partner"],
                               "country": row["country"], "started_at": at, "last_down_at": at, "down_rounds": 1,
                               "cause": cause_of(row)})
        _apply(conn, ended, extended, opened, open_ids)


def _apply(conn: Connection, ended: list, extended: list, opened: list, open_ids: dict[str, int]) -> None:
    """Write one round's incident changes; new incidents join open_ids."""
    by_id = incidents.c.id == bindparam("incident_id")
    if ended:
        conn.execute(update(incidents).where(by_id).values(ended_at=bindparam("at")), ended)
    if extended:
        conn.execute(update(incidents).where(by_id).values(last_down_at=bindparam("at"),
                                                            down_rounds=incidents.c.down_rounds + 1), extended)
    for row in opened:  # one by one for the ids; a round opens few incidents
        open_ids[row["server_id"]] = conn.execute(insert(incidents).values(**row)).inserted_primary_key[0]


def _availability_select(dialect: str, resolution: int):
    """Raw rows counted per server and bucket: all rounds, down rounds, degraded (up with concerns) rounds."""
    bucket = _bucket_sql(dialect, resolution).label("bucket_start")
    collector = func.coalesce(pr.c.collector, literal("")).label("collector")
    down = case((pr.c.success.is_(True), 0), else_=1)
    degraded = case((pr.c.success.is_(True) & pr.c.concerns.is_not(None) & (pr.c.concerns != ""), 1), else_=0)
    return (select(literal(resolution).label("resolution_seconds"), collector, pr.c.server_id, bucket,
                   func.max(pr.c.partner), func.max(pr.c.country), func.count(),
                   cast(func.sum(down), Integer), cast(func.sum(degraded), Integer))
            .where(pr.c.server_id.is_not(None)).group_by(collector, pr.c.server_id, bucket))


@lru_cache(maxsize=8)
def _availability_upsert(dialect: str, resolution: int):
    """INSERT the rounds' counts ... ON CONFLICT add them to the bucket's row (built once per dialect and
    resolution, as rollups.round_statements: ~1 ms each, on every round's commit otherwise)."""
    columns = ["resolution_seconds", "collector", "server_id", "bucket_start", "partner", "country", *_COUNT_COLUMNS]
    stmt = _insert_for(dialect)(availability_rollups).from_select(
        columns, _availability_select(dialect, resolution).where(round_rows()))
    t, new = availability_rollups.c, stmt.excluded
    return stmt.on_conflict_do_update(index_elements=["resolution_seconds", "collector", "server_id", "bucket_start"],
                                      set_={name: t[name] + new[name] for name in _COUNT_COLUMNS})


def fold_rounds(conn: Connection, round_ids: list[int], rounds: list[list[dict]], collector: str = "",
                span: tuple[int, int] | None = None) -> None:
    """Add one collector's stored rounds (their rows' (first, last) t_us: span, found from `rounds` if not given)
    to the availability rollups and its incidents, inside the transaction that stored them."""
    span = span or rows_span(rounds)
    if round_ids:
        for resolution in AVAILABILITY_RESOLUTIONS_SECONDS:
            conn.execute(_availability_upsert(conn.dialect.name, resolution), round_params(round_ids, span))
    fold_incidents(conn, (sorted(rows, key=lambda r: r["timestamp"]) for rows in rounds if rows), collector or "")


def rebuild(conn: Connection, chunk_rows: int = 50_000, since: datetime | None = None) -> None:
    """Recompute availability_rollups and incidents per (collector, server) from the raw rows (upgrading a
    database to version 7; with `since`, only from the rows at or after it, adding to what is stored: v11).

    One sequential pass in row order (rounds are stored oldest first), counting in Python: reading 8.6 million
    rows through the (server, time) index instead costs one random page read per row, tens of minutes. Should a
    server's rows turn out not to be in time order, the incidents are redone from an ordered query."""
    if since is None:
        conn.execute(availability_rollups.delete())
        conn.execute(incidents.delete())
    stmt = (select(_COLLECTOR, pr.c.server_id, pr.c.partner, pr.c.country, pr.c.timestamp, pr.c.success, pr.c.error,
                   pr.c.concerns).where(*_raw_rows(since)).order_by(pr.c.id))
    counts: dict[tuple, list] = {}
    tracker = _IncidentTracker()
    result = conn.execute(stmt.execution_options(stream_results=True))  # this statement only, not the connection
    while chunk := result.fetchmany(chunk_rows):
        for collector, server_id, partner, country, at, success, error, concerns in chunk:
            hour = at.replace(minute=0, second=0, microsecond=0)
            for key in ((3600, collector, server_id, hour), (86400, collector, server_id, hour.replace(hour=0))):
                entry = counts.get(key)
                if entry is None:
                    entry = counts[key] = [partner, country, 0, 0, 0]
                entry[2] += 1
                if not success:
                    entry[3] += 1
                elif concerns:
                    entry[4] += 1
            tracker.add((collector, server_id), partner, country, at, success, error)
    rows = [{"resolution_seconds": k[0], "collector": k[1], "server_id": k[2], "bucket_start": k[3], "partner": v[0],
             "country": v[1], "rounds": v[2], "down_rounds": v[3], "degraded_rounds": v[4]} for k, v in counts.items()]
    for start in range(0, len(rows), chunk_rows):
        conn.execute(insert(availability_rollups), rows[start:start + chunk_rows])
    if tracker.out_of_order:
        _rebuild_incidents_ordered(conn, chunk_rows, since)
    elif tracker.rows():
        conn.execute(insert(incidents), tracker.rows())


class _IncidentTracker:
    """Incidents from rows fed per (collector, server) key in time order (across keys in any interleaving)."""

    def __init__(self):
        self.open: dict[tuple, dict] = {}
        self.done: list[dict] = []
        self.last: dict[tuple, object] = {}
        self.out_of_order = False

    def add(self, key: tuple[str, str], partner, country, at, success, error) -> None:
        """One row of the (collector, server) key."""
        previous = self.last.get(key)
        if previous is not None and at < previous:
            self.out_of_order = True
        self.last[key] = at
        current = self.open.get(key)
        if success:
            if current is not None:
                current["ended_at"] = at
                self.done.append(self.open.pop(key))
        elif current is not None:
            current["last_down_at"] = at
            current["down_rounds"] += 1
        else:
            self.open[key] = {"collector": key[0], "server_id": key[1], "partner": partner, "country": country,
                              "started_at": at,
                                    "ended_at": None, "last_down_at": at, "down_rounds": 1,
                                    "cause": cause_of({"error": error})}

    def rows(self) -> list[dict]:
        """Every incident, finished and open."""
        return self.done + list(self.open.values())


def _rebuild_incidents_ordered(conn: Connection, chunk_rows: int, since: datetime | None) -> None:
    """Incidents from the rows in (collector, server, time) order: the slow, always-right path."""
    if since is None:
        conn.execute(incidents.delete())
    else:
        conn.execute(incidents.delete().where(incidents.c.started_at >= since))
    stmt = (select(_COLLECTOR, pr.c.server_id, pr.c.partner, pr.c.country, pr.c.timestamp, pr.c.success, pr.c.error)
            .where(*_raw_rows(since)).order_by(_COLLECTOR, pr.c.server_id, pr.c.timestamp))
    result = conn.execute(stmt.execution_options(stream_results=True))  # this statement only, not the connection
    while chunk := result.fetchmany(chunk_rows):
        rows = [dict(r._mapping) for r in chunk]
        for collector in dict.fromkeys(r["collector"] for r in rows):
            fold_incidents(conn, ([r] for r in rows if r["collector"] == collector), collector)


def _raw_rows(since: datetime | None) -> list:
    """The WHERE clause of the rows a rebuild reads."""
    return [pr.c.server_id.is_not(None)] + ([] if since is None else [pr.c.timestamp >= since])
