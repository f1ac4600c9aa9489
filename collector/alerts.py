"""Alert conditions as data, and the pure evaluator of the alert life cycle (no I/O, no clock, no logging).

Life cycle of one (server, condition) pair:
- a round whose value is past a limit is *bad*, one within the limits is *good*; a round without a value
  (e.g. no latency because nothing came back) tells nothing and leaves the counters as they are;
- after `rounds_to_open` consecutive bad rounds an alert opens with the worst severity and value of the streak;
- while it is open its severity may only rise (escalate) and its peak only worsen (update);
- after `rounds_to_resolve` consecutive good rounds it resolves.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Mapping, NamedTuple

from settings import ALERT_DEFAULTS, Config, Server
from collector.measure import Measurement

SEVERITIES = ("warning", "critical")
ACTIONS = ("open", "escalate", "update", "resolve")
STALE = "stale"
CONNECTIVITY = "connectivity"


def severity_rank(severity: str | None) -> int:
    """0 for no severity, then 1 for warning and 2 for critical, so severities compare as numbers."""
    return SEVERITIES.index(severity) + 1 if severity else 0


def duration_text(seconds: float) -> str:
    """A short human duration: '45 s', '12 min', '3 h 5 min'."""
    seconds = int(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def _no_note(_m: Measurement) -> str | None:
    return None


@dataclass(frozen=True)
class Rule:
    """One alert condition: which value of a Measurement, its limits, which direction is worse, how to print it."""

    kind: str
    label: str
    value: Callable[[Measurement], float | None]
    warning: float | None
    critical: float | None
    fmt: Callable[[float], str]
    below: bool = False  # True when a lower value is worse (MOS, replies)
    show_limit: bool = True
    note: Callable[[Measurement], str | None] = _no_note
    source: str = "network"  # "sip": value and note read the server's SipRoundResult, not its Measurement

    def is_worse(self, a: float, b: float) -> bool:
        """True when value a is worse than value b for this condition."""
        return a < b if self.below else a > b

    def worst(self, a: float | None, b: float | None) -> float | None:
        """The worse of two values (None means 'not seen')."""
        if a is None or b is None:
            return b if a is None else a
        return a if self.is_worse(a, b) else b

    def severity(self, value: float) -> str | None:
        """critical, warning or None (good) for one value."""
        for name, limit in (("critical", self.critical), ("warning", self.warning)):
            if limit is not None and self.is_worse(value, limit):
                return name
        return None

    def limit_text(self, severity: str) -> str:
        """' (critical: above 500.0 ms)' for messages; empty for conditions without a meaningful limit."""
        limit = self.critical if severity == "critical" else self.warning
        if not self.show_limit or limit is None:
            return ""
        return f" ({severity}: {'below' if self.below else 'above'} {self.fmt(limit)})"


# -- the conditions, as data --------------------------------------------------------------------------------
def _latency(m: Measurement) -> float | None:
    return m.avg_time


def _loss(m: Measurement) -> float | None:
    # A round with no reply at all is the 'down' condition's business, not packet loss.
    return m.loss_percentage if m.success else None


def _jitter(m: Measurement) -> float | None:
    return m.jitter_time if m.success else None


def _mos(m: Measurement) -> float | None:
    return m.mos if m.success else None


def _replies(m: Measurement) -> float:
    return float(m.packets_received)


def _down_note(m: Measurement) -> str | None:
    return f"probe failed: {m.error}" if m.error else None


def _ms(v: float) -> str:
    return f"{v:.1f} ms"


def _pct(v: float) -> str:
    return f"{v:.1f}% loss"


def _mos_text(v: float) -> str:
    return f"MOS {v:.2f}"


def _replies_text(v: float) -> str:
    return "no reply (100% loss)" if v == 0 else f"{v:.0f} replies"


def _targets_text(v: float) -> str:
    return "no control target answered" if v == 0 else f"{v:.0f} control target(s) answered"


def _no_value(_m: Measurement) -> None:
    return None


CONNECTIVITY_RULE = Rule(CONNECTIVITY, "lost connectivity", _no_value, None, 1.0,
                         _targets_text, below=True, show_limit=False)


# The stale watcher measures ages itself; this rule only supplies the label, limit and formatting.
def stale_rule(stale_after_seconds: float) -> Rule:
    """The 'stale' condition: no stored result for longer than stale_after_seconds (warning)."""
    return Rule(STALE, "no results (stale)", _no_value, float(stale_after_seconds), None, duration_text)


def rules_from_config(config: Config, server_id: str | None = None) -> list[Rule]:
    """The conditions the config asks for (those that apply to one server, with its overrides), in evaluation order."""
    limits = config.alert_conditions_for(server_id)
    thresholds = config.thresholds_for(server_id)
    rules = [
        Rule("down", "down", _replies, None, 1.0, _replies_text, below=True, show_limit=False, note=_down_note),
        Rule("latency", "high latency", _latency, thresholds["fair"], thresholds["critical"], _ms),
        Rule("loss", "packet loss", _loss, float(limits.max_packet_loss),
             float(limits.critical_packet_loss), _pct),
        Rule("jitter", "jitter", _jitter, float(limits.max_jitter), None, _ms),
    ]
    if limits.min_mos is not None:
        rules.append(Rule("mos", "low MOS", _mos, float(limits.min_mos), None, _mos_text, below=True))
    # The SIP conditions only where some server has a SIP check: their open alerts resolve when none has.
    return rules + (sip_rules(config, limits) if any(s.sip is not None for s in config.servers) else [])


# SIP conditions read the round's SipRoundResult of a server (servers without a SIP check have none).
_SIP_LEVELS = {"down": 0.0, "maintenance": 1.0, "up": 2.0}
TLS_WARNING_DAYS = 14.0
TLS_CRITICAL_DAYS = 3.0


def _sip_level(sip) -> float:
    return _SIP_LEVELS.get(sip.status, 0.0)


def _sip_level_text(v: float) -> str:
    return {0.0: "SIP down", 1.0: "SIP in maintenance (503 with Retry-After)"}.get(v, "SIP up")


def _sip_note(sip) -> str | None:
    if sip.status == "up":
        return None
    return f"{sip.failure}: {sip.detail}" if sip.detail else sip.failure


def _sip_response(sip) -> float | None:
    return sip.response_avg_ms if sip.answered else None


def _sip_code_note(sip) -> str | None:
    return f"{sip.code} {sip.reason or ''}".strip() if sip.code else None


def _tls_days(sip) -> float | None:
    return sip.tls_days_left


def _days_text(v: float) -> str:
    return f"certificate expires in {v:.1f} days" if v >= 0 else f"certificate expired {-v:.1f} days ago"


def sip_rules(config: Config, limits=None) -> list[Rule]:
    """sip_down (critical; maintenance is a warning), sip_slow (max_sip_response_ms of `limits`, default the
    config's top-level alert_conditions), tls_certificate."""
    rules = [Rule("sip_down", "SIP down", _sip_level, 1.5, 0.5, _sip_level_text, below=True, show_limit=False,
                  note=_sip_note, source="sip")]
    limit = (limits or config.alert_conditions).max_sip_response_ms
    if limit is not None:
        rules.append(Rule("sip_slow", "slow SIP response", _sip_response, float(limit), None, _ms,
                          note=_sip_code_note, source="sip"))
    rules.append(Rule("tls_certificate", "TLS certificate expiry", _tls_days, TLS_WARNING_DAYS, TLS_CRITICAL_DAYS,
                      _days_text, below=True, source="sip"))
    return rules


# -- events and state ---------------------------------------------------------------------------------------
class Subject(NamedTuple):
    """What an alert is about: a server, or the monitoring host itself (all None)."""

    server_id: str | None
    partner: str | None
    country: str | None

    def where(self) -> str:
        """'Safari Voice Kenya (127.0.0.1)' or 'the monitoring host'."""
        if self.server_id is None:
            return "the monitoring host"
        return f"{self.partner} {self.country} ({self.server_id})"


HOST = Subject(None, None, None)


@dataclass(frozen=True)
class AlertEvent:
    """One change of an alert, with everything the store, the log and the notifier need."""

    action: str  # open | escalate | update | resolve
    kind: str
    condition: str
    severity: str
    server_id: str | None
    partner: str | None
    country: str | None
    value: float | None
    value_text: str
    peak: float | None
    peak_text: str
    started_at: datetime
    at: datetime
    message: str
    previous_severity: str | None = None
    collector: str | None = None


@dataclass
class _Track:
    """Consecutive bad/good rounds of one (server, kind), and the current bad streak's worst."""

    bad: int = 0
    good: int = 0
    since: datetime | None = None
    severity: str | None = None
    peak: float | None = None


@dataclass
class OpenAlert:
    """An alert the engine believes is open."""

    subject: Subject
    severity: str
    peak: float | None
    started_at: datetime


def make_event(action: str, rule: Rule, subject: Subject, alert: OpenAlert, value: float | None, at: datetime,
               message: str, previous: str | None = None, collector: str | None = None) -> AlertEvent:
    """Build an AlertEvent for an alert in its state after the change."""
    return AlertEvent(
        action=action, kind=rule.kind, condition=rule.label, severity=alert.severity,
        server_id=subject.server_id, partner=subject.partner, country=subject.country,
        value=value, value_text="-" if value is None else rule.fmt(value), peak=alert.peak,
        peak_text="-" if alert.peak is None else rule.fmt(alert.peak), started_at=alert.started_at, at=at,
        message=message, previous_severity=previous, collector=collector)


def describe(rule: Rule, subject: Subject, value: float, severity: str, note: str | None = None) -> str:
    """'High latency on Safari Voice Kenya (127.0.0.1): 612.0 ms (critical: above 500.0 ms)'."""
    text = f"{rule.label[0].upper()}{rule.label[1:]} on {subject.where()}: {rule.fmt(value)}"
    return text + rule.limit_text(severity) + (f"; {note}" if note else "")


# -- the engine ---------------------------------------------------------------------------------------------
class AlertEngine:
    """Holds the counters and the open set in memory and turns each round into alert events."""

    def __init__(self, rules: Iterable[Rule], rounds_to_open: int = ALERT_DEFAULTS["rounds_to_open"],
                 rounds_to_resolve: int = ALERT_DEFAULTS["rounds_to_resolve"], collector: str | None = None,
                 server_rules: Mapping[str, tuple[list[Rule], int, int]] | None = None):
        self.rules = {rule.kind: rule for rule in rules}
        self.rounds_to_open = max(1, int(rounds_to_open))
        self.rounds_to_resolve = max(1, int(rounds_to_resolve))
        self.collector = collector
        # server id -> (rules, rounds_to_open, rounds_to_resolve) for servers with partner/server overrides
        self.server_rules = {sid: ({r.kind: r for r in rules}, max(1, int(o)), max(1, int(c)))
                             for sid, (rules, o, c) in (server_rules or {}).items()}
        self._tracks: dict[tuple, _Track] = {}
        self._open: dict[tuple, OpenAlert] = {}

    def _counts(self, server_id: str | None) -> tuple[int, int]:
        """(rounds_to_open, rounds_to_resolve) that apply to one server."""
        found = self.server_rules.get(server_id)
        return (found[1], found[2]) if found else (self.rounds_to_open, self.rounds_to_resolve)

    def forget(self, key: tuple) -> None:
        """Drop an alert the engine opened but that was not stored (its server is in maintenance); the bad
        streak is kept, so it opens on the first bad round after the window if the fault is still there."""
        self._open.pop(key, None)

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every kind this engine opens and resolves (its rules plus connectivity)."""
        extra = {kind for rules, _o, _c in self.server_rules.values() for kind in rules} - set(self.rules)
        return (*self.rules, *sorted(extra), CONNECTIVITY)

    def open_alerts(self) -> dict[tuple, OpenAlert]:
        """A copy of the open set, keyed by (server_id, kind)."""
        return dict(self._open)

    def restore(self, rows: Iterable[Mapping]) -> None:
        """Mark alerts loaded from storage as open (rows with server_id, partner, country, kind, ...)."""
        for row in rows:
            if row["kind"] in self.kinds:
                subject = Subject(row["server_id"], row["partner"], row["country"])
                self._open[(row["server_id"], row["kind"])] = OpenAlert(
                    subject, row["severity"], row["peak"], row["started_at"])

    def snapshot(self) -> tuple:
        """A copy of the whole state, so a round whose events could not be stored can be undone."""
        return copy.deepcopy((self._tracks, self._open))

    def rollback(self, snapshot: tuple) -> None:
        """Return to a state taken with snapshot()."""
        self._tracks, self._open = snapshot

    def evaluate(self, round_measurements: Mapping[str, tuple[Server, Measurement]], at: datetime,
                 controls: list[Measurement] | None = None, sip: Mapping | None = None) -> list[AlertEvent]:
        """The alert events of one round; partner conditions are held back when every control target failed.

        sip holds the round's SipRoundResult by server id, read by the rules whose source is "sip"."""
        events = self._connectivity(controls, at) if controls else []
        if controls and not any(m.success for m in controls):
            # Every reliable host failed too: the fault is our own link, and this round says nothing about partners.
            return events
        for server, m in round_measurements.values():
            subject = Subject(server.id, server.partner, server.country)
            rules = self.server_rules[server.id][0] if server.id in self.server_rules else self.rules
            for rule in rules.values():
                seen = m if rule.source == "network" else (sip or {}).get(server.id)
                if seen is not None:
                    events += self.check(subject, rule, rule.value(seen), at, rule.note(seen))
        return events

    def _connectivity(self, controls: list[Measurement], at: datetime) -> list[AlertEvent]:
        answered = sum(1 for m in controls if m.success)
        note = f"all {len(controls)} failed; partner alerts are held back" if not answered else None
        return self.check(HOST, CONNECTIVITY_RULE, float(answered), at, note)

    def check(self, subject: Subject, rule: Rule, value: float | None, at: datetime,
              note: str | None = None) -> list[AlertEvent]:
        """Advance one (subject, rule) pair by one round's value; returns the events it causes."""
        if value is None:
            return []
        key = (subject.server_id, rule.kind)
        track = self._tracks.setdefault(key, _Track())
        severity = rule.severity(value)
        if severity is None:
            return self._good(key, rule, value, at, track)
        return self._bad(key, subject, rule, value, severity, at, note, track)

    def _bad(self, key, subject, rule, value, severity, at, note, track: _Track) -> list[AlertEvent]:
        track.good, track.bad = 0, track.bad + 1
        track.since = track.since or at
        track.severity = max(track.severity, severity, key=severity_rank)
        track.peak = rule.worst(track.peak, value)
        if key in self._open:
            return self._worsen(key, rule, value, severity, at, note)
        if track.bad < self._counts(subject.server_id)[0]:
            return []
        alert = self._open[key] = OpenAlert(subject, track.severity, track.peak, track.since)
        message = describe(rule, subject, value, alert.severity, note)
        return [make_event("open", rule, subject, alert, value, at, message, collector=self.collector)]

    def _worsen(self, key, rule, value, severity, at, note) -> list[AlertEvent]:
        alert = self._open[key]
        peak = rule.worst(alert.peak, value)
        previous = alert.severity
        if severity_rank(severity) > severity_rank(previous):
            alert.severity, alert.peak = severity, peak
            message = describe(rule, alert.subject, value, severity, note) + f" (was {previous})"
            return [make_event("escalate", rule, alert.subject, alert, value, at, message, previous, self.collector)]
        if peak != alert.peak:
            alert.peak = peak
            message = describe(rule, alert.subject, value, alert.severity, note)
            return [make_event("update", rule, alert.subject, alert, value, at, message, collector=self.collector)]
        return []

    def _good(self, key, rule, value, at, track: _Track) -> list[AlertEvent]:
        track.bad, track.since, track.severity, track.peak = 0, None, None, None
        track.good += 1
        alert = self._open.get(key)
        to_resolve = self._counts(key[0])[1]
        if alert is None or track.good < to_resolve:
            return []
        del self._open[key]
        track.good = 0
        message = (f"{rule.label[0].upper()}{rule.label[1:]} on {alert.subject.where()} resolved: "
                   f"{rule.fmt(value)} for {to_resolve} good round(s)"
                   + ("" if alert.peak is None or not rule.show_limit else f"; worst {rule.fmt(alert.peak)}"))
        return [make_event("resolve", rule, alert.subject, alert, value, at, message, collector=self.collector)]
