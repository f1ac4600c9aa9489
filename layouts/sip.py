"""The dashboard's SIP hooks: a badge on each card, a panel on the server page (its callback: callbacks/sip.py)."""
from __future__ import annotations

from dash import html

from common import format as fmt
from layouts import ids
from layouts.common import graph, panel

SERVER_SIP_HISTORY = ids.PREFIX + "server-sip-history"
# partial: SIP down from some vantage points only (queries.sipstatus.merged_sip_status), coloured like the card's
# partial state.
BADGE_STATES = {"up": "up", "maintenance": "degraded", "down": "down", "partial": "partial"}


def sip_badge_text(row: dict) -> str:
    """'SIP up 200 · 81.2 ms', 'down for calls · SIP 503', 'SIP down timeout'; plus ' · verify off'."""
    status = row.get("sip_status")
    if status is None:
        return "SIP waiting"
    code = row.get("sip_code")
    what = str(int(code)) if code is not None and not fmt.is_missing(code) else (row.get("sip_failure") or "")
    head = f"down for calls · SIP {what}" if row.get("down_for_calls") else f"SIP {status} {what}"
    parts = [head.strip()]
    if not fmt.is_missing(row.get("sip_response_avg_ms")):
        parts.append(fmt.ms(row["sip_response_avg_ms"]))
    if row.get("sip_verify") is False:
        parts.append("verify off")  # TLS without certificate verification: said on the card, not hidden
    return " · ".join(parts)


def sip_badge(row: dict) -> html.Div | None:
    """The card's SIP line, coloured by the SIP status; None for a server without a SIP check."""
    if not row.get("has_sip"):
        return None
    state = BADGE_STATES.get(row.get("sip_status"), "unknown")
    return html.Div(html.Span(sip_badge_text(row), className=f"lm-badge lm-badge-{state}"),
                    className="lm-card-sip", **{"data-sip": row.get("sip_status") or "unknown"})


def sip_panel() -> html.Section:
    """The server page's SIP history panel (response time and code)."""
    return panel("SIP OPTIONS", graph(SERVER_SIP_HISTORY, "lm-graph lm-graph-history"), "bi-telephone")
