"""The status overview's components: the counts bar and a card per server, grouped by country."""
from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import quote

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from layouts import format as fmt
from layouts import ids
from layouts.alerts import alert_badges

COUNT_TILES = (("up", "Up", "bi-check-circle-fill"), ("degraded", "Degraded", "bi-exclamation-triangle-fill"),
               ("down", "Down", "bi-x-octagon-fill"), ("stale", "Stale", "bi-hourglass-split"))
STATE_LABELS = {"excellent": "Excellent", "good": "Good", "fair": "Fair", "poor": "Poor", "critical": "Critical",
                "degraded": "Degraded", "down": "Down", "stale": "Stale", "unknown": "Waiting"}


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


def heartbeat(beats: pd.DataFrame) -> html.Div:
    """The last rounds as a strip of small bars coloured by latency class (grey gaps for missing)."""
    bars = [html.Span(className=f"lm-beat lm-beat-{_beat_class(b)}", title=_beat_title(b)) for b in fmt.records(beats)]
    return html.Div(bars, className="lm-heartbeat", **{"aria-label": "recent rounds"})


def _beat_title(beat: dict) -> str:
    return f"{fmt.utc(beat['timestamp'])} · {fmt.ms(beat['avg_time'])} · loss {fmt.pct(beat['loss_percentage'])}"


def _beat_class(beat: dict) -> str:
    if not beat.get("success"):
        return "down"
    return beat.get("latency_class") or "unknown"


def _metric(label: str, value: str) -> html.Div:
    return html.Div([html.Span(label, className="lm-metric-label"), html.Span(value, className="lm-metric-value")],
                    className="lm-metric")


def _latency_text(row: dict, state: str) -> str:
    """The card's big number: the last average RTT, or why there is none."""
    if row.get("success"):
        return fmt.ms(row.get("avg_time"))
    return "no reply" if state == "down" else fmt.MISSING


def _card_body(row: dict, state: str, beats: pd.DataFrame) -> list:
    """Header, latency figure, metrics, open alerts, concerns, heartbeat and age of one card."""
    latency_class = row.get("latency_class") if row.get("success") else ("down" if state == "down" else "unknown")
    concerns = row.get("concerns") if row.get("status") in ("degraded", "down") and fmt.has_text(row.get("concerns")) \
        else None
    return [
        html.Div([html.Span(row["partner"], className="lm-card-title"),
                  html.Span(STATE_LABELS.get(state, state), className=f"lm-badge lm-badge-{state}")],
                 className="lm-card-head"),
        html.Div([html.Span(row["ip"], className="lm-ip"), html.Span(row.get("dn_ext") or "", className="lm-dn")],
                 className="lm-card-sub"),
        html.Div(_latency_text(row, state), className=f"lm-latency lm-text-{latency_class or 'unknown'}"),
        html.Div([_metric("loss", fmt.pct(row.get("loss_percentage"))),
                  _metric("jitter", fmt.ms(row.get("jitter_time"))), _metric("MOS", fmt.mos(row.get("mos")))],
                 className="lm-metrics"),
        alert_badges(row.get("open_alerts")),
        html.Div([html.I(className="bi bi-exclamation-triangle-fill me-1"), concerns], className="lm-card-concerns")
        if concerns else None,
        heartbeat(beats),
        html.Div(f"checked {fmt.age(row.get('age_seconds'))}", className="lm-checked"),
    ]


def server_card(row: dict, beats: pd.DataFrame, search: str | None) -> dcc.Link:
    """One server's card, coloured by its state; the whole card links to the server's page."""
    state = card_state(row)
    # dcc.Link takes no data-* attributes, so the card inside carries them (tests and CSS select on them).
    card = html.Div([c for c in _card_body(row, state, beats) if c is not None],
                    className=f"lm-card lm-state-{state}",
                    **{"data-server": str(row["server_id"]), "data-state": state,
                       "data-alerts": str(len(row.get("open_alerts") or []))})
    return dcc.Link(card, href=server_href(row["server_id"], search), className=ids.CARD_CLASS,
                    title=f"{row['partner']} ({row['country']}) – open history")


def _group_note(rows: pd.DataFrame) -> str:
    """'2 servers · 1 down' for a country header."""
    bad = rows["status"].value_counts()
    parts = [f"{len(rows)} server{'s' if len(rows) != 1 else ''}"]
    parts += [f"{bad[k]} {k}" for k in ("down", "degraded", "stale") if bad.get(k, 0)]
    return " · ".join(parts)


def _group_size(cards: int) -> dict:
    """Flex sizing that lets small country groups share a row and big ones take their width."""
    return {"--lm-group-basis": f"{16 * cards}rem", "flexGrow": cards}


def country_groups(status: pd.DataFrame, beats: pd.DataFrame, search: str | None) -> list:
    """A section per country (alphabetical) holding its servers' cards in config order."""
    sections = []
    for country, rows in status.groupby("country", sort=True):
        cards = [server_card(r, beats[beats["server_id"] == r["server_id"]], search) for r in fmt.records(rows)]
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
