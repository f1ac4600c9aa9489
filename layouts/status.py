"""The status overview's parts: the counts bar, a tile per server (as data for layouts.components.ServerTiles),
grouped by country and ordered worst first or by name, the wall's down banner, and the alerts and log feeds."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from urllib.parse import quote

import pandas as pd
from dash import html

from common import format as fmt
from common import timezones as tzs
from layouts import ids
from layouts.alerts import kind_icon, kind_label
from layouts.sip import BADGE_STATES, sip_badge_text
from queries.logs import ROUTINE_PREFIXES
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
EPOCH = pd.Timestamp("1970-01-01")
FULL_CARDS_MAX = 48  # more servers than this are drawn as compact tiles
ALERT_ITEMS = 50  # alerts the feed lists (open ones first)


def card_state(row: dict) -> str:
    """The state a card is coloured by: stale, down, partial, unknown, degraded, else the latency class."""
    status = row.get("status")
    if status in ("stale", "down", "partial", "unknown", "degraded"):
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


def _metrics(row: dict) -> list[str]:
    """Loss, jitter and MOS as people read them, in the order a card shows them."""
    return [fmt.pct(row.get("loss_percentage")), fmt.ms(row.get("jitter_time")), fmt.mos(row.get("mos"))]


def _latency_text(row: dict, state: str) -> str:
    """The card's big number: the last average RTT, or why there is none."""
    if row.get("success"):
        return fmt.ms(row.get("avg_time"))
    return "no reply" if state == "down" else fmt.MISSING


def _text_class(row: dict, state: str) -> str:
    """The class the latency figure is coloured by: its latency class, down, or unknown."""
    if row.get("success"):
        return row.get("latency_class") or "unknown"
    return "down" if state == "down" else "unknown"


def _epoch(value) -> float | None:
    """A stored (naive UTC) time as epoch seconds; None when missing."""
    return None if fmt.is_missing(value) else round((pd.Timestamp(value) - EPOCH).total_seconds(), 3)


def _alert_pill(alert: dict) -> list:
    """[kind, severity, label, icon, hover text] of one open alert (assets/25_components.js draws it)."""
    return [alert["kind"], alert["severity"], kind_label(alert["kind"]), kind_icon(alert["kind"]),
            f"{alert['severity']}: {alert.get('message') or kind_label(alert['kind'])}"]


def checked_text(checked, tz: str | None = None) -> str | None:
    """When a server was last checked, in the display zone and naming it ('2026-11-01 14:59:48 UTC+03:00')."""
    if fmt.is_missing(checked):
        return None
    return f"{tzs.time_text(checked, tz, seconds=True)} {tzs.short_label(tz, pd.Timestamp(checked).to_pydatetime())}"


def tile_data(row: dict, beats, slots: int = HEARTBEAT_SLOTS, tz: str | None = None) -> dict:
    """One server's tile as data: who, state, figures, open alerts (critical first), concerns, SIP line and its
    strip. Times are epoch seconds, not ages, so a tile whose server has no new round stays the same object."""
    state = card_state(row)
    beats = as_beats(beats)[-slots:] if slots > 0 else []
    codes = beat_codes(beats, slots)
    alerts = sorted(row.get("open_alerts") or [], key=lambda a: a["severity"] != "critical")  # stable
    concerns = row.get("concerns") if row.get("status") in ("degraded", "down") and fmt.has_text(row.get("concerns")) \
        else None
    checked = row.get("timestamp")
    return {"id": str(row["server_id"]), "p": row["partner"], "c": row["country"], "ip": row["ip"],
            "dn": row.get("dn_ext") or "", "s": state, "lc": _text_class(row, state), "v": _latency_text(row, state),
            "m": _metrics(row), "a": [_alert_pill(a) for a in alerts], "cn": concerns, "hb": codes,
            "ht": strip_summary(beats, codes), "t": _epoch(checked),
            "ck": checked_text(checked, tz), "sip": sip_data(row),
            "mt": "; ".join(row["maintenance"]) if row.get("maintenance") else None,
            "vt": vantage_title(row)}  # issue 13: each vantage point's figures on the state badge's hover


def sip_data(row: dict) -> list | None:
    """[badge state, text, SIP status] of the tile's SIP line (issue 14: 'down for calls · SIP 503'); None for a
    server without a SIP check. assets/25_components.js draws it as layouts.sip.sip_badge would."""
    if not row.get("has_sip"):
        return None
    return [BADGE_STATES.get(row.get("sip_status"), "unknown"), sip_badge_text(row), row.get("sip_status") or "unknown"]


# Worst first (issue 16): the order of trouble. Down, then degraded (loss or limits crossed), stale, then the
# answering servers by latency class, worst first; a server waiting for its first round is not in trouble.
TROUBLE_RANK = {"down": 0, "partial": 1, "degraded": 2, "stale": 3, "critical": 4, "poor": 5, "fair": 6, "good": 7,
                "excellent": 8, "unknown": 9}
ORDERS = ("trouble", "name")
DEFAULT_ORDER = "trouble"
TROUBLED = ("down", "partial", "degraded", "stale")


def _number(value, missing: float = -1.0) -> float:
    """A figure to sort on, missing ones last."""
    return missing if fmt.is_missing(value) else float(value)


def trouble_key(row: dict) -> tuple:
    """Sort key of a server, worst first: its state, then critical and open alerts, loss, latency, name."""
    alerts = row.get("open_alerts") or []
    return (TROUBLE_RANK.get(card_state(row), len(TROUBLE_RANK)), -sum(a["severity"] == "critical" for a in alerts),
            -len(alerts), -_number(row.get("loss_percentage")), -_number(row.get("avg_time")),
            str(row["partner"]).casefold(), str(row["ip"]))


def name_key(row: dict) -> tuple:
    """Sort key of a server in alphabetical order: partner, then address."""
    return str(row["partner"]).casefold(), str(row["ip"])


def country_trouble_key(country: str, rows: list[dict]) -> tuple:
    """Sort key of a country, worst first: its worst server, then how many are down, degraded, stale."""
    states = Counter(r["status"] for r in rows)
    return (min(trouble_key(r)[0] for r in rows), *(-states[s] for s in TROUBLED), country.casefold())


def ordered_countries(rows: list[dict], order: str = DEFAULT_ORDER) -> list[tuple[str, list[dict]]]:
    """(country, its rows) in display order: worst first, or alphabetical (order='name'); the rows sorted the
    same way within each country."""
    countries = defaultdict(list)
    for row in rows:
        countries[row["country"]].append(row)
    by_name = order == "name"
    server_key = name_key if by_name else trouble_key
    groups = [(c, sorted(rs, key=server_key)) for c, rs in countries.items()]
    groups.sort(key=(lambda g: g[0].casefold()) if by_name else (lambda g: country_trouble_key(*g)))
    return groups


def _group_note(rows: list[dict]) -> str:
    """'2 servers · 1 down' for a country header."""
    bad = Counter(r["status"] for r in rows)
    parts = [f"{len(rows)} server{'s' if len(rows) != 1 else ''}"]
    parts += [f"{bad[k]} {k}" for k in TROUBLED if bad[k]]
    return " · ".join(parts)


def beats_by_server(beats) -> dict:
    """Recent rounds per server id: a {server_id: [Beat, ...]} mapping as is, or a frame grouped once."""
    if not isinstance(beats, pd.DataFrame):
        return beats or {}
    grouped = defaultdict(list)
    for beat in as_beats(beats):
        grouped[beat.server_id].append(beat)
    return grouped


def server_tiles(status: pd.DataFrame, beats, order: str = DEFAULT_ORDER,
                 slots: int = HEARTBEAT_SLOTS, tz: str | None = None) -> tuple[list[dict], list[list]]:
    """(tiles in display order, groups [country, note, count]) for the status rows, each tile with its
    heartbeat from beats ({server_id: rounds oldest first}, e.g. queries.status.recent_rounds); times in tz."""
    beats = beats_by_server(beats)
    tiles, groups = [], []
    for country, rows in ordered_countries(fmt.records(status), order):  # one conversion for all tiles
        tiles += [tile_data(r, beats.get(r["server_id"], ()), slots, tz) for r in rows]
        groups.append([country, _group_note(rows), len(rows)])
    return tiles, groups


def tile_density(count: int) -> str:
    """Full cards for a few dozen servers; compact tiles beyond, so 200 fit on a screen or two."""
    return "full" if count <= FULL_CARDS_MAX else "compact"


def down_banner(status: pd.DataFrame, names: int = 6):
    """The wall's full-width banner when any server is down (None when none is): how many and which."""
    down = [r for r in fmt.records(status) if r["status"] == "down"]
    if not down:
        return None
    down.sort(key=trouble_key)
    who = ", ".join(f"{r['partner']} ({r['country']})" for r in down[:names])
    more = f" and {len(down) - names} more" if len(down) > names else ""
    count = f"{len(down)} server{'s' if len(down) != 1 else ''} down"
    return html.Div([html.I(className="bi bi-x-octagon-fill"), html.Strong(count.upper()),
                     html.Span(who + more, className="lm-banner-who")],
                    className="lm-down-banner", role="alert", **{"data-down": str(len(down))})


def alert_items(warnings: pd.DataFrame, limit: int = ALERT_ITEMS) -> list[dict]:
    """The alerts feed's items (assets/25_components.js AlertFeed): open first, then resolved, as data."""
    items = []
    for i, r in enumerate(fmt.records(warnings.head(limit))):
        server = r.get("server_id")
        items.append({"k": f"{r.get('id', i)}:{r['kind']}:{server}", "sv": r["severity"], "ic": kind_icon(r["kind"]),
                      "r": r.get("state") == "resolved", "id": None if server is None else str(server),
                      "p": r.get("partner"), "c": r.get("country"), "ip": r.get("ip"), "msg": r.get("message") or "",
                      "b": _epoch(r.get("started_at")), "e": _epoch(r.get("resolved_at")), **_ack_fields(r)})
    return items


def _ack_fields(row: dict) -> dict:
    """Issue 15's parts of an alert item: the stored alert id an open one is acknowledged by (aid), who
    acknowledged it, when and why (ak), and the path report taken when it opened (ps)."""
    fields = {}
    if row.get("state") != "resolved" and not fmt.is_missing(row.get("id")):  # stale rows from status have no id
        fields["aid"] = int(row["id"])
        if fmt.has_text(row.get("acknowledged_by")):
            fields["ak"] = (f"Acknowledged by {row['acknowledged_by']} at {fmt.utc(row.get('acknowledged_at'))}: "
                            f"{row.get('ack_comment') or ''}")
    if fmt.has_text(row.get("path_snapshot")):
        fields["ps"] = row["path_snapshot"]
    return fields


def _log_count(row: dict) -> int:
    """How many lines a viewer row stands for (1 unless queries.logs.viewer_logs folded a routine run)."""
    count = row.get("count")
    return 1 if fmt.is_missing(count) else int(count)


def _log_time(row: dict, tz: str | None) -> str:
    """When the line was written, in the display zone; for a folded run, from its first line to its last."""
    last = tzs.time_text(row.get("timestamp"), tz, seconds=True)
    if _log_count(row) == 1:
        return last
    first = row.get("first_timestamp")
    same_day = tzs.time_text(first, tz)[:10] == last[:10]
    return f"{tzs.clock_text(first, tz) if same_day else tzs.time_text(first, tz)} – {last}"


def _log_head(row: dict) -> str | None:
    """A folded run's name ('round finished'); None for a single line."""
    if _log_count(row) == 1:
        return None
    message = row.get("message") or ""
    return next((p for p in ROUTINE_PREFIXES if message.startswith(p)), "similar lines")


def log_lines(logs: pd.DataFrame, tz: str | None = None) -> list[list]:
    """The log feed's lines, newest first: [id, level, time, module, message, count, run name]; a run of routine
    lines folded by queries.logs.viewer_logs has its count and name (the feed reads 'round finished × 40')."""
    return [[int(r["id"]) if not fmt.is_missing(r.get("id")) else i, str(r.get("level") or ""), _log_time(r, tz),
             r.get("module") or "", r.get("message") or "", _log_count(r), _log_head(r)]
            for i, r in enumerate(fmt.records(logs))]


def status_counts(status: pd.DataFrame) -> dict[str, int]:
    """How many servers are in each status."""
    return {k: int(v) for k, v in status["status"].value_counts().items()}


EMPTY_TILES = "No configured server matches these filters."


def startup_message(collector_here: bool, interval_seconds: float, round_seconds: float, now: datetime) -> str:
    """What a page with no results yet says: the collector is starting and when the first results are due."""
    if collector_here:
        due = now + timedelta(seconds=round_seconds)
        return (f"The collector is starting: the first round is under way and its results are due within about "
                f"{round_seconds:.0f} s (by {due:%H:%M:%S} UTC). This page refreshes by itself.")
    return (f"No results yet. The collector runs in another process (this one serves the page only); it measures "
            f"every {interval_seconds:g} s, so the first results are due within {interval_seconds:g} s of it "
            f"starting. This page refreshes by itself.")
