"""The stale watcher: runs in the web app, so a dead collector is still noticed.

Each check reads the newest stored timestamp of every configured server and the open 'stale' alerts,
opens one for a server with no result for longer than stale_after_seconds, and resolves it once a fresh
row appears. It keeps no state between checks, so any number of watchers (web workers, restarts) agree;
the store's idempotent insert keeps the alert single and only the watcher that made a change reports it.
"""
from __future__ import annotations

import logging
import socket
from datetime import datetime
from typing import Callable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.periodic import PeriodicWorker
from collector.alerts import STALE, AlertEvent, OpenAlert, Rule, Subject, describe, make_event, stale_rule
from collector.alertmanager import publish
from settings import Config, Server
from storage.alertstore import apply_events, load_open
from storage.compact import newest_at
from common.timeutil import iso_z, to_naive_utc, utcnow
from storage.writer import Writer
from queries.status import server_status
from runtime.vantage_alerts import COLLECTOR_STALE, VANTAGE, collector_stale_events, vantage_events
from storage.schema import collectors


def load_beats(engine: Engine) -> list[dict]:
    """Every collector's heartbeat row (empty before any collector of schema v4 wrote one)."""
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(collectors)).mappings()]


def _reporting(beat: dict, config: Config, now: datetime) -> bool:
    """True while the collector's last round is newer than stale_after_seconds."""
    last = beat.get("last_round_at")
    return last is not None and (now - last).total_seconds() <= config.stale_after_seconds

log = logging.getLogger("runtime.stale")


def latest_times(engine: Engine, server_ids: list[str]) -> dict[str, datetime]:
    """The newest stored timestamp of each server id that has any rows (one key seek per series of the server)."""
    found = {}
    with engine.connect() as conn:
        for sid in server_ids:
            at = newest_at(conn, sid)
            if at is not None:
                found[sid] = at
    return found


def default_interval(stale_after_seconds: float) -> float:
    """Check five times per stale period, at most once a minute and at least once a second."""
    return min(60.0, max(1.0, stale_after_seconds / 5))


class StaleWatcher(PeriodicWorker):
    """A thread that opens and resolves 'stale' alerts; start() and stop() are safe to repeat."""

    thread_name = "stale-watcher"
    check_on_start = True

    def __init__(self, config: Config, writer: Writer, read_engine: Engine, notifier=None, *,
                 interval_seconds: float | None = None, now: Callable[[], datetime] = utcnow, name: str | None = None):
        self.config = config
        self.writer = writer
        self.read_engine = read_engine
        self.notifier = notifier
        self.now = now
        self.name = name or config.collector_name or socket.gethostname()
        self.rule: Rule = stale_rule(config.stale_after_seconds)
        self.interval_seconds = interval_seconds or default_interval(config.stale_after_seconds)
        # A server that never stored a row is measured from when this watcher first saw it in the config (its
        # start, or the reload that added it), not from the epoch: a hot-added server is unknown, never stale,
        # until stale_after_seconds after it was added.
        self.started_at = to_naive_utc(now())
        self.watched_since: dict[str, datetime] = {s.id: self.started_at for s in config.servers}
        self._failing = False


    def on_check_error(self) -> None:
        """Log a failed check once per outage (a locked or missing database), not every interval."""
        if not self._failing:
            log.exception("stale check failed; retrying every %.0f s", self.interval_seconds)
        self._failing = True

    def on_check_ok(self) -> None:
        """Say once that checks work again after an outage."""
        if self._failing:
            log.info("stale check works again")
        self._failing = False

    def reload(self, config: Config) -> None:
        """Watch the servers and stale limit of a reloaded config from the next check on."""
        added_at = to_naive_utc(self.now())
        # Set before the config: a check running meanwhile then never sees a new server without its time.
        self.watched_since = {s.id: self.watched_since.get(s.id, added_at) for s in config.servers}
        self.config, self.rule = config, stale_rule(config.stale_after_seconds)
        self.interval_seconds = default_interval(config.stale_after_seconds)

    # -- one check --------------------------------------------------------------------------------------
    def check_once(self) -> list[AlertEvent]:
        """Compare every server's newest row with stale_after_seconds; store, log and notify the changes."""
        now = to_naive_utc(self.now())
        servers = self.config.servers
        latest = latest_times(self.read_engine, [s.id for s in servers])
        open_rows = {r["server_id"]: r for r in load_open(self.read_engine, kinds=(STALE,))}
        events = [e for s in servers for e in self._judge(s, latest.get(s.id), open_rows.get(s.id), now)]
        beats = load_beats(self.read_engine)
        if beats and not any(_reporting(b, self.config, now) for b in beats):
            # Every collector fell silent: their collector_stale alerts say so, not one stale alert per server.
            events = [e for e in events if e.action != "open"]
        events += self._vantage_checks(beats, now)
        stored = apply_events(self.writer, events)
        publish(stored, self.notifier, log)
        return stored

    def _vantage_checks(self, beats: list[dict], now: datetime) -> list[AlertEvent]:
        """collector_stale per silent collector and the merged down/partial alert per server (runtime/vantage_alerts)."""
        opened = load_open(self.read_engine, kinds=(COLLECTOR_STALE, VANTAGE))
        silent = {r["collector"]: r for r in opened if r["kind"] == COLLECTOR_STALE}
        merged = {r["server_id"]: r for r in opened if r["kind"] == VANTAGE}
        events = collector_stale_events(beats, silent, self.config.stale_after_seconds, now)
        if len(beats) > 1:  # one vantage point: its own down alert says it all
            rows = server_status(self.read_engine, self.config, now).to_dict("records")
            events += vantage_events(rows, merged, {b["name"]: b.get("location") or b["name"] for b in beats}, now)
        return events

    def _judge(self, server: Server, latest: datetime | None, row: dict | None, now: datetime) -> list[AlertEvent]:
        """The events for one server: open when too old, a worse peak while open, resolve when fresh."""
        age = (now - (latest or self._since(server))).total_seconds()
        if self.rule.severity(age) is not None:
            return [self._opened(server, latest, age, now)] if row is None else self._aged(row, age, now)
        if row is not None and latest is not None:
            return [self._resolved(row, latest, now)]
        return []

    def _since(self, server: Server) -> datetime:
        """When this watcher began watching a server (for one that never stored a row)."""
        return self.watched_since.get(server.id, self.started_at)

    def _opened(self, server: Server, latest: datetime | None, age: float, now: datetime) -> AlertEvent:
        subject = Subject(server.id, server.partner, server.country)
        alert = OpenAlert(subject, self.rule.severity(age), age, latest or self._since(server))
        last = f"last result {iso_z(latest)}" if latest else "no result stored yet"
        message = describe(self.rule, subject, age, alert.severity, last)
        return make_event("open", self.rule, subject, alert, age, now, message, collector=self.name)

    def _aged(self, row: dict, age: float, now: datetime) -> list[AlertEvent]:
        """Record the growing age as the alert's peak (no log line, no notification)."""
        if row["peak"] is not None and age <= row["peak"]:
            return []
        alert, subject = self._from_row(row, age)
        message = describe(self.rule, subject, age, alert.severity)
        return [make_event("update", self.rule, subject, alert, age, now, message, collector=self.name)]

    def _resolved(self, row: dict, latest: datetime, now: datetime) -> AlertEvent:
        alert, subject = self._from_row(row, row["peak"])
        age = (now - latest).total_seconds()
        message = (f"No results (stale) on {subject.where()} resolved: results are stored again "
                   f"(latest {iso_z(latest)}); longest gap {self.rule.fmt(alert.peak or 0)}")
        return make_event("resolve", self.rule, subject, alert, age, now, message, collector=self.name)

    def _from_row(self, row: dict, peak: float | None) -> tuple[OpenAlert, Subject]:
        subject = Subject(row["server_id"], row["partner"], row["country"])
        return OpenAlert(subject, row["severity"], peak, row["started_at"]), subject
