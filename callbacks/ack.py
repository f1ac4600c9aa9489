"""The Acknowledge button on an open alert in the alerts feed (assets/25_components.js sets the feed's `ack`).

Only an operator may acknowledge (api.principal, filled in by the security guard); with no auth configured
that is a browser on this machine. The panel is redrawn at once so the acknowledgement shows.
"""
from __future__ import annotations

import logging

from dash import Input, Output, State, no_update

from api.principal import current_principal, may_write
from callbacks.registry import callback
from common.timeutil import to_naive_utc, utcnow
from layouts import ids
from callbacks.overview import alerts_parts
from layouts.panels import notice
from runtime import get_runtime
from storage.alertstore import acknowledge

log = logging.getLogger("api.writes")  # one logger for every write, whichever door it came through


@callback(Output(ids.ACK_NOTICE, "children"), Output(ids.ALERT_FEED, "items", allow_duplicate=True),
          Input(ids.ALERT_FEED, "ack"), State(ids.URL, "search"), prevent_initial_call=True)
def acknowledge_clicked(ack, search):
    """Store the acknowledgement the feed sent ({alert, comment}), then redraw the feed's items (or say why not)."""
    if not isinstance(ack, dict) or not isinstance(ack.get("alert"), int):
        return no_update, no_update
    comment = str(ack.get("comment") or "").strip()
    if not may_write():
        who = current_principal()
        return notice(f"{who.name} may not acknowledge alerts: that needs the operator role.", "danger",
                      "bi-lock-fill"), no_update
    if not comment:
        return notice("Write a comment first: why it is acknowledged, or the ticket.", "warning"), no_update
    rt, who = get_runtime(), current_principal().name
    outcome = acknowledge(rt.writer, ack["alert"], who, comment[:1000], to_naive_utc(utcnow()))
    if outcome == "ok":
        log.info("alert %d acknowledged by %s: %s", ack["alert"], who, comment)
        rt.cache.clear()
    return None, alerts_parts(rt, search, utcnow())["alerts"]
