"""Time-weighted availability, SLA figures and incidents (issue 15), from the rollups and the incident records.

The rule (README, "Availability and SLA"): each stored round of a server stands for `interval_seconds` from its
time on. A down round (nothing came back) is down time, any other round up time; a degraded round (concerns:
high latency, loss, jitter) is up time and also counted in degraded_seconds. Time in maintenance is left out:
rounds inside a server's maintenance spans count neither as up nor as down, and its incidents are cut to the time
outside them. Unmeasured time (the window minus the rounds' time and maintenance) is left out too.
availability = up / (up + down). A partner is in maintenance while all its servers are, a country while all its
partners are.
A partner is down while all its servers are down together (the overlap of their incidents), a country while all
its partners are; any_server_down_seconds is the time at least one of them was down.
Vantage points: counts and incidents are kept per (collector, server). A server measured by one collector in the
window (the single-site case, or collector= naming one) has that collector's figures. Measured by several, it is
down only while every one of them that measured it in the window saw it down (the overlap of their incidents, like
the merged status); measured and degraded time are its best-measured collector's.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Iterable, Sequence

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.engine import Engine

from queries.filters import Filters, QueryError
from settings import Config
from settings.sla import default_target, partner_target, server_targets
from storage.schema import availability_rollups as ar
from storage.schema import incidents as inc
from storage.compact import t_us
from storage.schema import ping_results as pr

GROUPS = ("server", "partner", "country")
ROW_FIELDS = ("key", "availability_percent", "up_seconds", "down_seconds", "degraded_seconds", "maintenance_seconds",
              "unmeasured_seconds", "incidents", "mttr_seconds", "mtbf_seconds", "longest_incident_seconds",
              "sla_target_percent", "error_budget_seconds", "error_budget_left_seconds", "met")
# Beyond the fields: the time any member was down (partner and country rows; equals down for a server).
EXTRA_FIELDS = ("any_server_down_seconds",)
_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)
HOUR = timedelta(hours=1)

Span = tuple[datetime, datetime]


@dataclass
class Counts:
    """A server's rounds in a window, split by outcome."""

    rounds: int = 0
    down: int = 0
    degraded: int = 0

    def add(self, rounds: int, down: int, degraded: int) -> None:
        """Add another part of the window."""
        self.rounds += int(rounds or 0)
        self.down += int(down or 0)
        self.degraded += int(degraded or 0)


@dataclass
class Incident:
    """One stored incident (ended_at None while it lasts), as one collector saw it."""

    id: int
    server_id: str
    partner: str
    country: str
    started_at: datetime
    ended_at: datetime | None
    down_rounds: int
    cause: str
    collector: str = ""


Key = tuple[str, str]  # (collector, server id)


@dataclass
class Member:
    """What a row is made of: measured seconds, down spans (unclipped), and its own SLA target."""

    key: str
    measured_seconds: float
    down_seconds: float
    degraded_seconds: float
    spans: list[Span] = field(default_factory=list)
    maintenance: list[Span] = field(default_factory=list)  # merged, unclipped maintenance spans


def month_window(value: str) -> tuple[datetime, datetime]:
    """'2026-11' as [2026-11-01, 2026-12-01) in naive UTC; QueryError naming `month` otherwise."""
    match = _MONTH.fullmatch(value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise QueryError("month", f"{value!r} is not a month as YYYY-MM (e.g. 2026-11)")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1)
    return start, start + timedelta(days=calendar.monthrange(year, month)[1])


def maintenance_seconds(key: str, start: datetime, end: datetime, spans: Sequence[Span] = ()) -> float:
    """Seconds of [start, end) inside the given maintenance spans of `key` (a server, partner or country)."""
    return _length(_clip(_union(list(spans)), start, end))


def server_maintenance(engine: Engine, config: Config, start: datetime, end: datetime) -> dict[str, list[Span]]:
    """server id -> its merged maintenance spans in [start, end) (config and API windows, weekly ones expanded)."""
    from queries.maintenance import maintenance_spans
    found: dict[str, list[Span]] = {}
    for server_id, s, e in maintenance_spans(config, engine, start, end):
        found.setdefault(server_id, []).append((s, e))
    return found


# --- spans -------------------------------------------------------------------------------------------------

def _union(spans: list[Span]) -> list[Span]:
    """Sorted, merged spans."""
    out: list[Span] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _intersect(a: list[Span], b: list[Span]) -> list[Span]:
    """The overlap of two sorted, merged span lists."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _intersect_all(groups: list[list[Span]]) -> list[Span]:
    """Times when every group is in one of its spans (empty for no groups)."""
    if not groups:
        return []
    result = _union(groups[0])
    for spans in groups[1:]:
        result = _intersect(result, _union(spans))
    return result


def _subtract(spans: list[Span], cuts: list[Span]) -> list[Span]:
    """The parts of sorted, merged `spans` outside sorted, merged `cuts`."""
    out = []
    for s, e in spans:
        for cs, ce in cuts:
            if ce <= s or cs >= e:
                continue
            if cs > s:
                out.append((s, cs))
            s = max(s, ce)
            if s >= e:
                break
        if s < e:
            out.append((s, e))
    return out


def _clip(spans: Iterable[Span], start: datetime, end: datetime) -> list[Span]:
    """Spans cut to [start, end)."""
    return [(max(s, start), min(e, end)) for s, e in spans if s < end and e > start]


def _length(spans: Iterable[Span]) -> float:
    """Total seconds of non-overlapping spans."""
    return sum((e - s).total_seconds() for s, e in spans)


# --- reading ------------------------------------------------------------------------------------------------

def _hour_ceil(at: datetime) -> datetime:
    floor = at.replace(minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + HOUR


def _hour_floor(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _day_ceil(at: datetime) -> datetime:
    floor = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return floor if floor == at else floor + timedelta(days=1)


def _segments(start: datetime, end: datetime) -> tuple[list[Span], list[Span], list[Span]]:
    """[start, end) as (whole days, whole hours, partial hours at the edges)."""
    first_hour, last_hour = _hour_ceil(start), _hour_floor(end)
    if first_hour >= last_hour:
        return [], [], [(start, end)]
    edges = [(start, first_hour), (last_hour, end)]
    first_day, last_day = _day_ceil(first_hour), last_hour.replace(hour=0)
    if first_day >= last_day:
        return [], [(first_hour, last_hour)], edges
    return [(first_day, last_day)], [(first_hour, first_day), (last_day, last_hour)], edges


def read_counts(engine: Engine, start: datetime, end: datetime,
                collectors: Sequence[str] = ()) -> dict[Key, Counts]:
    """Rounds per (collector, server) in [start, end), of the given collectors (default all): whole days and hours
    from availability_rollups, the partial hours at either edge from the raw rows (still there for any recent
    window; an edge older than raw retention counts as unmeasured)."""
    counts: dict[Key, Counts] = {}
    days, hours, edges = _segments(start, end)
    with engine.connect() as conn:
        for resolution, spans in ((86400, days), (3600, hours)):
            for s, e in spans:
                if s >= e:
                    continue
                stmt = (select(ar.c.collector, ar.c.server_id, func.sum(ar.c.rounds), func.sum(ar.c.down_rounds),
                               func.sum(ar.c.degraded_rounds))
                        .where(ar.c.resolution_seconds == resolution, ar.c.bucket_start >= s, ar.c.bucket_start < e,
                               *([ar.c.collector.in_(collectors)] if collectors else []))
                        .group_by(ar.c.collector, ar.c.server_id))
                for collector, server_id, *values in conn.execute(stmt):
                    counts.setdefault((collector, server_id), Counts()).add(*values)
        edges = [(s, e) for s, e in edges if s < e]
        if edges:
            for collector, server_id, rounds, success, degraded in conn.execute(_edge_select(edges, collectors)):
                counts.setdefault((collector, server_id), Counts()).add(rounds, rounds - (success or 0), degraded)
    return counts


def counts_outside(engine: Engine, start: datetime, end: datetime, maintenance: dict[str, list[Span]],
                   collectors: Sequence[str] = ()) -> dict[Key, Counts]:
    """read_counts for [start, end) less each server's rounds inside its own maintenance spans (exact to the
    round: a span is read like a window, from the rollups and the raw rows at its edges)."""
    counts = read_counts(engine, start, end, collectors)
    by_span: dict[Span, set[str]] = {}
    for server_id, spans in maintenance.items():
        for span in _clip(spans, start, end):
            by_span.setdefault(span, set()).add(server_id)
    for (s, e), server_ids in by_span.items():  # servers of one partner or country window share their spans
        inside = read_counts(engine, s, e, collectors)
        for key, cut in inside.items():
            if key[1] in server_ids and key in counts:
                c = counts[key]
                counts[key] = Counts(c.rounds - cut.rounds, c.down - cut.down, c.degraded - cut.degraded)
    return counts


def _edge_select(edges: list[Span], collectors: Sequence[str] = ()):
    """Raw rows of the edge spans counted per (collector, server): rounds, up rounds, degraded rounds."""
    up = func.sum(case((pr.c.success.is_(True), 1), else_=0))
    degraded = func.sum(case((pr.c.success.is_(True) & pr.c.concerns.is_not(None) & (pr.c.concerns != ""), 1),
                             else_=0))
    when = or_(*(and_(pr.c.t_us >= t_us(s), pr.c.t_us < t_us(e)) for s, e in edges))  # key ranges, not a scan
    collector = func.coalesce(pr.c.collector, literal(""))  # as the writer keys availability_rollups
    return (select(collector, pr.c.server_id, func.count(), up, degraded)
            .where(when, pr.c.server_id.is_not(None), *([collector.in_(collectors)] if collectors else []))
            .group_by(collector, pr.c.server_id))


def read_incidents(engine: Engine, start: datetime, end: datetime, collectors: Sequence[str] = ()) -> list[Incident]:
    """Stored incidents of the given collectors (default all) whose span overlaps [start, end), oldest first."""
    stmt = (select(inc.c.id, inc.c.server_id, inc.c.partner, inc.c.country, inc.c.started_at, inc.c.ended_at,
                   inc.c.down_rounds, inc.c.cause, inc.c.collector)
            .where(inc.c.started_at < end, or_(inc.c.ended_at.is_(None), inc.c.ended_at > start),
                   *([inc.c.collector.in_(collectors)] if collectors else []))
            .order_by(inc.c.started_at, inc.c.id))
    with engine.connect() as conn:
        return [Incident(*row) for row in conn.execute(stmt)]


# --- figures ------------------------------------------------------------------------------------------------

def _scope(config: Config, filters: Filters):
    """The configured servers the filters select."""
    return [s for s in config.servers
            if (not filters.countries or s.country in filters.countries)
            and (not filters.partners or s.partner in filters.partners)
            and (not filters.servers or s.id in filters.servers)]


def _incident_spans(incidents: list[Incident], now: datetime) -> dict[Key, list[Span]]:
    """Each (collector, server)'s incident spans; an open incident lasts until now."""
    spans: dict[Key, list[Span]] = {}
    for i in incidents:
        spans.setdefault((i.collector, i.server_id), []).append((i.started_at, i.ended_at or now))
    return spans


def _views(counts: dict[Key, Counts], spans_of: dict[Key, list[Span]]) -> dict[str, list[str]]:
    """server id -> the collectors that measured it in the window (rounds counted), or, with none, those whose
    incidents reach into it (an outage that outlived every round)."""
    measured: dict[str, list[str]] = {}
    for (collector, server_id), c in sorted(counts.items()):
        if c.rounds > 0:
            measured.setdefault(server_id, []).append(collector)
    for collector, server_id in sorted(spans_of):
        if server_id not in measured:
            measured.setdefault(server_id, [])
    out = {}
    for server_id, names in measured.items():
        out[server_id] = names or sorted({c for c, sid in spans_of if sid == server_id})
    return out


def merged_spans(collectors: list[str], server_id: str, spans_of: dict[Key, list[Span]]) -> list[Span]:
    """When the server was down from every one of these vantage points (the overlap of their incidents)."""
    return _intersect_all([spans_of.get((c, server_id), []) for c in collectors])


def _server_member(server_id: str, views: list[str], counts: dict[Key, Counts], spans_of: dict[Key, list[Span]],
                   planned: list[Span], interval: float, start: datetime, end: datetime) -> Member:
    """A server's Member: its one vantage point's figures, or, seen from several, down while all saw it down."""
    if len(views) <= 1:
        c = counts.get((views[0], server_id), Counts()) if views else Counts()
        spans = _union(spans_of.get((views[0], server_id), [])) if views else []
        return Member(server_id, c.rounds * interval, c.down * interval, c.degraded * interval,
                      _subtract(spans, planned), planned)
    together = _subtract(merged_spans(views, server_id, spans_of), planned)
    seen = [counts.get((v, server_id), Counts()) for v in views]
    measured = max(c.rounds for c in seen) * interval
    down = min(_length(_clip(together, start, end)), measured)
    return Member(server_id, measured, down, max(c.degraded for c in seen) * interval, together, planned)


def _row(key: str, start: datetime, end: datetime, now: datetime, measured: float, down: float, degraded: float,
         any_down: float, spans: list[Span], target: float, maintenance: Sequence[Span]) -> dict:
    """One SLA row from a member's seconds, its (unclipped, merged) down spans and maintenance spans."""
    maint = maintenance_seconds(key, start, min(end, max(now, start)), maintenance)
    up = max(measured - down, 0.0)
    window = (min(end, max(now, start)) - start).total_seconds()  # a window reaching into the future ends now
    unmeasured = max(window - measured - maint, 0.0)
    started = [(s, e) for s, e in spans if start <= s < end]
    durations = [(e - s).total_seconds() for s, e in started]
    resolved = [(e - s).total_seconds() for s, e in started if e < now]
    counted = up + down
    availability = 100.0 * up / counted if counted else None
    budget = (1 - target / 100.0) * counted
    return {"key": key, "availability_percent": None if availability is None else round(availability, 4),
            "up_seconds": up, "down_seconds": down, "degraded_seconds": degraded, "maintenance_seconds": maint,
            "unmeasured_seconds": unmeasured, "incidents": len(started),
            "mttr_seconds": sum(resolved) / len(resolved) if resolved else None,
            "mtbf_seconds": up / len(started) if started else None,
            "longest_incident_seconds": max(durations) if durations else None,
            "sla_target_percent": target, "error_budget_seconds": round(budget, 3),
            "error_budget_left_seconds": round(budget - down, 3),
            "met": None if availability is None else availability >= target,
            "any_server_down_seconds": any_down}


def compute_rows(config: Config, filters: Filters, group: str, counts: dict[str, Counts], incidents: list[Incident],
                 start: datetime, end: datetime, now: datetime,
                 maintenance: dict[str, Sequence[Span]] | None = None) -> list[dict]:
    """The SLA rows of one grouping for [start, end) from per-server counts (maintenance rounds already taken
    out, see counts_outside), the incidents and each server's maintenance spans (server id -> spans)."""
    interval = float(config.interval_seconds)
    maintenance = maintenance or {}
    spans_of = _incident_spans(incidents, now)
    views = _views(counts, spans_of)
    targets = server_targets(config)
    servers = {}
    for s in _scope(config, filters):
        planned = _union(list(maintenance.get(s.id, ())))
        servers[s.id] = (s, _server_member(s.id, views.get(s.id, []), counts, spans_of, planned, interval, start,
                                           end))
    if group == "server":
        return [_row(m.key, start, end, now, m.measured_seconds, m.down_seconds, m.degraded_seconds, m.down_seconds,
                     m.spans, targets.get(m.key, default_target(config.raw)), m.maintenance)
                for _s, m in servers.values()]
    partners: dict[str, list[Member]] = {}
    country_of: dict[str, str] = {}
    for s, m in servers.values():
        partners.setdefault(s.partner, []).append(m)
        country_of.setdefault(s.partner, s.country)
    merged = {name: _merge(name, members, start, end) for name, members in partners.items()}
    if group == "partner":
        return [_row(name, start, end, now, m.measured_seconds, m.down_seconds, m.degraded_seconds, any_down,
                     m.spans, partner_target(config.raw, name), m.maintenance)
                for name, (m, any_down) in sorted(merged.items())]
    countries: dict[str, list[Member]] = {}
    for name, (m, _any) in merged.items():
        countries.setdefault(country_of[name], []).append(m)
    rows = []
    for name, members in sorted(countries.items()):
        m, any_down = _merge(name, members, start, end)
        rows.append(_row(name, start, end, now, m.measured_seconds, m.down_seconds, m.degraded_seconds, any_down,
                         m.spans, default_target(config.raw), m.maintenance))
    return rows


def _merge(key: str, members: list[Member], start: datetime, end: datetime) -> tuple[Member, float]:
    """A group of members as one: down while all are down, in maintenance while all are; measured and degraded
    as its best-measured member.

    Returns the merged member and the seconds any member was down."""
    together = _intersect_all([m.spans for m in members])
    any_down = _length(_clip(_union([s for m in members for s in m.spans]), start, end))
    measured = max((m.measured_seconds for m in members), default=0.0)
    degraded = max((m.degraded_seconds for m in members), default=0.0)
    planned = _intersect_all([m.maintenance for m in members])
    return Member(key, measured, _length(_clip(together, start, end)), degraded, together, planned), any_down


def sla_rows(engine: Engine, config: Config, filters: Filters, group: str, now: datetime,
             maintenance: dict[str, Sequence[Span]] | None = None) -> list[dict]:
    """The SLA rows for the filters' window and grouping; maintenance (server id -> spans) defaults to the
    config's and the API's windows."""
    if group not in GROUPS:
        raise QueryError("group", f"{group!r} is not one of {', '.join(GROUPS)}")
    start, end = filters.start, filters.end
    if maintenance is None:
        maintenance = server_maintenance(engine, config, start, end)
    return compute_rows(config, filters, group, counts_outside(engine, start, end, maintenance, filters.collectors),
                        read_incidents(engine, start, end, filters.collectors), start, end, now, maintenance)


def daily_availability(engine: Engine, config: Config, filters: Filters, group: str, now: datetime,
                       ) -> dict[str, list[tuple[str, float | None]]]:
    """Per row key, (YYYY-MM-DD, availability % or None) for every UTC day of the window (the Reports strips)."""
    incidents = read_incidents(engine, filters.start, filters.end, filters.collectors)
    maintenance = server_maintenance(engine, config, filters.start, filters.end)
    out: dict[str, list[tuple[str, float | None]]] = {}
    day = filters.start.replace(hour=0, minute=0, second=0, microsecond=0)
    while day < filters.end and day < now:
        day_end = min(day + timedelta(days=1), filters.end)
        begin = max(day, filters.start)
        counts = counts_outside(engine, begin, day_end, maintenance, filters.collectors)
        for row in compute_rows(config, filters, group, counts, incidents, begin, day_end, now, maintenance):
            out.setdefault(row["key"], []).append((day.date().isoformat(), row["availability_percent"]))
        day += timedelta(days=1)
    return out


# --- incidents ----------------------------------------------------------------------------------------------

def incident_records(engine: Engine, config: Config, filters: Filters, now: datetime,
                     scope: str = "server") -> list[dict]:
    """Incidents overlapping the window, newest first: one per server span, or partner-wide spans
    (scope='partner': all the partner's servers down together).

    A server seen from one vantage point in the window has that collector's stored incidents; seen from several,
    the spans when all of them saw it down (no stored id or round count: it is the overlap of theirs)."""
    incidents = read_incidents(engine, filters.start, filters.end, filters.collectors)
    in_scope = {s.id: s for s in _scope(config, filters)}
    spans_of = _incident_spans(incidents, now)
    views = _views(read_counts(engine, filters.start, filters.end, filters.collectors), spans_of)
    if scope == "server":
        rows = []
        for i in incidents:
            names = views.get(i.server_id, [])
            if i.server_id in in_scope and len(names) <= 1 and names[:1] in ([], [i.collector]):
                rows.append(_incident_record(i.id, i.server_id, i.partner, i.country, i.started_at, i.ended_at, now,
                                             i.down_rounds, i.cause, i.collector))
        for server_id, names in views.items():
            if server_id in in_scope and len(names) > 1:
                s = in_scope[server_id]
                for start, end in merged_spans(names, server_id, spans_of):
                    if end <= filters.start or start >= filters.end:
                        continue
                    rows.append(_incident_record(None, server_id, s.partner, s.country, start,
                                                 None if end >= now else end, now, None,
                                                 f"down from all {len(names)} vantage points", None))
        return sorted(rows, key=lambda r: (r["started_at"], r["id"] or 0), reverse=True)
    members: dict[str, list[str]] = {}
    for s in in_scope.values():
        members.setdefault(s.partner, []).append(s.id)
    rows = []
    for partner, ids in members.items():
        country = in_scope[ids[0]].country
        server_spans = [merged_spans(views.get(i, []), i, spans_of) for i in ids]
        for s, e in _intersect_all(server_spans):
            ongoing = e >= now
            rows.append(_incident_record(None, None, partner, country, s, None if ongoing else e, now, None,
                                         f"all {len(ids)} servers of the partner down", None))
    return sorted(rows, key=lambda r: r["started_at"], reverse=True)


def _incident_record(incident_id, server_id, partner, country, started_at, ended_at, now, down_rounds, cause,
                     collector) -> dict:
    """One incident as the API and the pages show it (times as naive UTC; the route formats them); collector is
    None for a merged or partner-wide one."""
    return {"id": incident_id, "server_id": server_id, "partner": partner, "country": country,
            "started_at": started_at, "ended_at": ended_at, "ongoing": ended_at is None,
            "duration_seconds": ((ended_at or now) - started_at).total_seconds(), "down_rounds": down_rounds,
            "cause": cause, "collector": collector}


def with_target(row: dict, target: float) -> dict:
    """A row judged against another target (the Reports page's "SLA target" field): budget and met follow."""
    counted = row["up_seconds"] + row["down_seconds"]
    budget = (1 - target / 100.0) * counted
    met = None if row["availability_percent"] is None else row["availability_percent"] >= target
    return dict(row, sla_target_percent=target, error_budget_seconds=round(budget, 3),
                error_budget_left_seconds=round(budget - row["down_seconds"], 3), met=met)
