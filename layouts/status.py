"""The status overview's components: the counts bar and a card per server, grouped by country."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from urllib.parse import quote

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from common import format as fmt
from layouts import ids
from layouts.alerts import alert_badges
from layouts.vantage import vantage_title

COUNT_TILES = (("up", "Up", "bi-check-circle-fill"), ("degraded", "Degraded", "bi-exclamation-triangle-fill"),
               ("down", "Down", "bi-x-octagon-fill"), ("stale", "Stale", "bi-hourglass-split"))
STATE_LABELS = {"excellent": "Excellent", "good": "Good", "fair": "Fair", "poor": "Poor", "critical": "Critical",
                "degraded": "Degraded", "down": "Down", "stale": "Stale", "unknown": "Waiting", "partial": "Partial"}
HEARTBEAT_SLOTS = 30  # the bars a strip has unless told otherwise (the stylesheet's default --n)
# One letter per round: the strips are sent for every card on every refresh, so they stay short. Each letter
# is a CSS variable of .lm-heartbeat (assets/10_dashboard.css) holding its colour; "m" is a slot with no round.
BEAT_CODES = {"excellent": "e", "good": "g", "fair": "f", "poor": "p", "critical": "c"}
BEAT_NAMES = {"e": "excellent", "g": "good", "f": "fair", "p": "poor", "c": "critical", "d": "down",
              "u": "unclassified"}
NO_ROUND = "m"
NOTED = {"d": "down", "c": "critical"}  # rounds the tooltip lists by time
NOTED_TIMES = 3
RUNS = re.compile(r"(.)\1*")


def card_state(row: dict) -> str:
    """The state a card is coloured by: stale, down, unknown, degraded, else the latency class."""
    status = row.get("status")
    if status in ("stale", "down", "unknown", "degraded"):
        return status
    return row.get("latency_class") or "unknown"


def server_href(server_id: str, search: str | None) -> str:
    """The server page's path, keeping the current filters in the query string."""
    return f"/server/{quote(str(server_id), safe='')}{search or ''}"


def counts_bar(counts: dict[str, int], total: int) -> html.Div:
    """Big counts of up, degraded, down and stale servers (and how many wait for a first result)."""
    tiles = [html.Div([html.I(className=f"bi {icon}"), html.Span(str(counts.get(key, 0)), className="lm-count-n"),
                       html.Span(label, className="lm-count-label")],
                      className=f"lm-count lm-count-{key}" + (" lm-count-zero" if not counts.get(key) else ""),
                      id=f"{ids.COUNTS}-{key}")
             for key, label, icon in COUNT_TILES]
    waiting = counts.get("unknown", 0)
    note = f"{total} servers" + (f" · {waiting} waiting for a first result" if waiting else "")
    return html.Div(tiles + [html.Div(note, className="lm-count-note")], className="lm-counts-inner")


def heartbeat(beats, slots: int = HEARTBEAT_SLOTS) -> html.Div:
    """The last `slots` rounds, oldest first, as a strip of bars coloured by latency class (red down, grey
    for slots without a round), with a tooltip summarising them."""
    beats = as_beats(beats)[-slots:] if slots > 0 else []
    codes = beat_codes(beats, slots)
    # One element per strip, not one per round: its background is a gradient with a stop per run of equal
    # rounds, cut into bars by the stylesheet's mask, so a strip costs a hundred bytes or so, not thousands.
    style = {"background": strip_background(codes)}
    if slots != HEARTBEAT_SLOTS:
        style["--n"] = slots
    return html.Div(className="lm-heartbeat", role="img", title=strip_summary(beats, codes), style=style)


def as_beats(beats) -> list:
    """Rounds as objects with attributes (queries.status.Beat); a frame's rows are converted once."""
    if isinstance(beats, pd.DataFrame):
        return list(beats.astype(object).where(beats.notna(), None).itertuples(index=False))
    return list(beats or ())


def beat_code(beat) -> str:
    """One letter for a round: its latency class, 'd' when it failed, 'u' when it has no class."""
    if not beat.success:
        return "d"
    return BEAT_CODES.get(beat.latency_class, "u")


def beat_codes(beats: list, slots: int) -> str:
    """A letter per slot, oldest first, the newest round last; 'm' fills the slots older than the first round."""
    if slots < 1:
        return ""
    return "".join(beat_code(b) for b in beats[-slots:]).rjust(slots, NO_ROUND)


def strip_background(codes: str) -> str:
    """The CSS background of a strip: one colour, or a hard-edged gradient with a stop per run of equal letters."""
    runs = [(m.group(1), m.end()) for m in RUNS.finditer(codes)]
    if len(runs) < 2:
        return f"var(--{runs[0][0]})" if runs else "none"
    # In 'colour 0 40%' the 0 is clamped to the previous stop's position, so each run starts with a hard edge.
    stops = ",".join(f"var(--{code}) 0 {100 * end / len(codes):.4g}%" for code, end in runs)
    return f"linear-gradient(90deg,{stops})"


def strip_summary(beats: list, codes: str) -> str:
    """The strip's tooltip: the rounds' times and classes, latency and loss, and when it was down."""
    if not beats:
        return "No round stored yet"
    own = codes[-len(beats):]
    counts = Counter(own)
    rounds = f"{len(beats)} round{'s' if len(beats) != 1 else ''}"
    head = f"Last {rounds}" if len(beats) == len(codes) else f"Only {rounds} stored"
    classes = ", ".join(f"{counts[code]} {name}" for code, name in BEAT_NAMES.items() if counts[code])
    lines = [f"{head}, {fmt.clock_span(beats[0].timestamp, beats[-1].timestamp)} UTC: {classes}",
             _strip_figures(beats, own)]
    noted = [_noted_times(beats, own, code, name) for code, name in NOTED.items() if counts[code]]
    return "\n".join(lines + (["; ".join(noted)] if noted else []))


def _strip_figures(beats: list, codes: str) -> str:
    """'avg 62.4 ms, max 180.2 ms, loss 0.8%' over the rounds (latency over the answered ones)."""
    answered = [b.avg_time for b, code in zip(beats, codes) if code != "d" and b.avg_time is not None]
    losses = [b.loss_percentage for b in beats if b.loss_percentage is not None]
    figures = [f"avg {fmt.ms(sum(answered) / len(answered))}, max {fmt.ms(max(answered))}" if answered
               else "no replies"]
    return ", ".join(figures + ([f"loss {fmt.pct(sum(losses) / len(losses))}"] if losses else []))


def _noted_times(beats: list, codes: str, code: str, name: str) -> str:
    """'down at 11:16, 11:15 (+2 more)': the newest rounds of one class."""
    times = [fmt.clock(b.timestamp) for b, c in zip(reversed(beats), reversed(codes)) if c == code]
    more = f" (+{len(times) - NOTED_TIMES} more)" if len(times) > NOTED_TIMES else ""
    return f"{name} at {', '.join(times[:NOTED_TIMES])}{more}"


def _metrics(row: dict) -> html.Div:
    """Loss, jitter and MOS as label/value pairs of one grid: two elements a figure instead of three."""
    pairs = (("loss", fmt.pct(row.get("loss_percentage"))), ("jitter", fmt.ms(row.get("jitter_time"))),
             ("MOS", fmt.mos(row.get("mos"))))
    return html.Div([e for label, value in pairs for e in (html.Small(label), html.Strong(value))],
                    className="lm-metrics lm-metrics-grid")


def _latency_text(row: dict, state: str) -> str:
    """The card's big number: the last average RTT, or why there is none."""
    if row.get("success"):
        return fmt.ms(row.get("avg_time"))
    return "no reply" if state == "down" else fmt.MISSING


def _card_body(row: dict, state: str, beats, slots: int) -> list:
    """Header, latency figure, metrics, open alerts, concerns, heartbeat and age of one card."""
    latency_class = row.get("latency_class") if row.get("success") else ("down" if state == "down" else "unknown")
    concerns = row.get("concerns") if row.get("status") in ("degraded", "down") and fmt.has_text(row.get("concerns")) \
        else None
    return [
        html.Div([html.Span(row["partner"], className="lm-card-title"),
                  html.Span(STATE_LABELS.get(state, state), className=f"lm-badge lm-badge-{state}",
                            title=vantage_title(row))],  # issue 13: each vantage point's figures on hover
                 className="lm-card-head"),
        html.Div([html.Span(row["ip"], className="lm-ip"), html.Span(row.get("dn_ext") or "", className="lm-dn")],
                 className="lm-card-sub"),
        html.Div(_latency_text(row, state), className=f"lm-latency lm-text-{latency_class or 'unknown'}"),
        _metrics(row),
        alert_badges(row.get("open_alerts")),
        html.Div([html.I(className="bi bi-exclamation-triangle-fill me-1"), concerns], className="lm-card-concerns")
        if concerns else None,
        heartbeat(beats, slots),
        html.Div(f"checked {fmt.age(row.get('age_seconds'))}", className="lm-checked"),
    ]


def server_card(row: dict, beats, search: str | None, slots: int = HEARTBEAT_SLOTS) -> dcc.Link:
    """One server's card (beats: its recent rounds, oldest first), coloured by its state; it links to its page."""
    state = card_state(row)
    # dcc.Link takes no data-* attributes, so the card inside carries them (tests and CSS select on them).
    card = html.Div([c for c in _card_body(row, state, beats, slots) if c is not None],
                    className=f"lm-card lm-state-{state}",
                    **{"data-server": str(row["server_id"]), "data-state": state,
                       "data-alerts": str(len(row.get("open_alerts") or []))})
    return dcc.Link(card, href=server_href(row["server_id"], search), className=ids.CARD_CLASS,
                    title=f"{row['partner']} ({row['country']}) – open history")


def _group_note(rows: list[dict]) -> str:
    """'2 servers · 1 down' for a country header."""
    bad = Counter(r["status"] for r in rows)
    parts = [f"{len(rows)} server{'s' if len(rows) != 1 else ''}"]
    parts += [f"{bad[k]} {k}" for k in ("down", "degraded", "stale") if bad[k]]
    return " · ".join(parts)


def _group_size(cards: int) -> dict:
    """Flex sizing that lets small country groups share a row and big ones take their width."""
    return {"--lm-group-basis": f"{16 * cards}rem", "flexGrow": cards}


def beats_by_server(beats) -> dict:
    """Recent rounds per server id: a {server_id: [Beat, ...]} mapping as is, or a frame grouped once."""
    if not isinstance(beats, pd.DataFrame):
        return beats or {}
    grouped = defaultdict(list)
    for beat in as_beats(beats):
        grouped[beat.server_id].append(beat)
    return grouped


def country_groups(status: pd.DataFrame, beats, search: str | None, slots: int = HEARTBEAT_SLOTS) -> list:
    """A section per country (alphabetical) holding its servers' cards in config order, each with its
    heartbeat from beats ({server_id: rounds oldest first}, e.g. queries.status.recent_rounds)."""
    beats = beats_by_server(beats)
    countries = defaultdict(list)
    for row in fmt.records(status):  # once for all cards: a pandas conversion per card cost most of the time
        countries[row["country"]].append(row)
    sections = []
    for country in sorted(countries):
        rows = countries[country]
        cards = [server_card(r, beats.get(r["server_id"], ()), search, slots) for r in rows]
        sections.append(html.Section([
            html.H3([html.Span(country), html.Small(_group_note(rows), className="lm-group-note")],
                    className="lm-group-title"),
            html.Div(cards, className="lm-card-grid"),
        ], className="lm-group", style=_group_size(len(cards)), **{"data-country": country}))
    return sections


def status_counts(status: pd.DataFrame) -> dict[str, int]:
    """How many servers are in each status."""
    return {k: int(v) for k, v in status["status"].value_counts().items()}


def empty_cards_note() -> dbc.Alert:
    """Shown when the filters match no configured server."""
    return dbc.Alert("No configured server matches these filters.", color="secondary", className="mb-0")


def startup_message(collector_here: bool, interval_seconds: float, round_seconds: float, now: datetime) -> str:
    """What a page with no results yet says: the collector is starting and when the first results are due."""
    if collector_here:
        due = now + timedelta(seconds=round_seconds)
        return (f"The collector is starting: the first round is under way and its results are due within about "
                f"{round_seconds:.0f} s (by {due:%H:%M:%S} UTC). This page refreshes by itself.")
    return (f"No results yet. The collector runs in another process (this one serves the page only); it measures "
            f"every {interval_seconds:g} s, so the first results are due within {interval_seconds:g} s of it "
            f"starting. This page refreshes by itself.")
