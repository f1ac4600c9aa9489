"""The Acknowledge button on an open alert in the warnings panel.

Only an operator may acknowledge (api.principal, filled in by the security guard); with no auth configured
that is a browser on this machine. The panel is redrawn at once so the acknowledgement shows.
"""
from __future__ import annotations

import logging

from dash import ALL, Input, Output, State, ctx, no_update

from api.principal import current_principal, may_write
from callbacks.registry import callback
from common.timeutil import to_naive_utc, utcnow
from layouts import ids
from layouts.panels import ACK_BUTTON, ACK_COMMENT, notice
from runtime import get_runtime
from storage.alertstore import acknowledge

log = logging.getLogger("api.writes")  # one logger for every write, whichever door it came through


@callback(Output(ids.WARNINGS, "children", allow_duplicate=True),
          Input({"type": ACK_BUTTON, "alert": ALL}, "n_clicks"),
          State({"type": ACK_COMMENT, "alert": ALL}, "value"), State({"type": ACK_COMMENT, "alert": ALL}, "id"),
          State(ids.URL, "search"), prevent_initial_call=True)
def acknowledge_clicked(clicks, comments, comment_ids, search):
    """Store the acknowledgement of the clicked alert, then redraw the panel (or say why not)."""
    trigger = ctx.triggered_id
    if not trigger or not any(clicks):  # the panel was redrawn with fresh buttons: nothing was clicked
        return no_update
    alert_id = trigger["alert"]
    comment = next((c for c, i in zip(comments, comment_ids) if i["alert"] == alert_id), None) or ""
    from callbacks.overview import refresh_warnings
    if not may_write():
        who = current_principal()
        return [notice(f"{who.name} may not acknowledge alerts: that needs the operator role.", "danger",
                       "bi-lock-fill"), refresh_warnings(search, 0)]
    if not comment.strip():
        return [notice("Write a comment first: why it is acknowledged, or the ticket.", "warning"),
                refresh_warnings(search, 0)]
    rt, who = get_runtime(), current_principal().name
    outcome = acknowledge(rt.writer, alert_id, who, comment.strip()[:1000], to_naive_utc(utcnow()))
    if outcome == "ok":
        log.info("alert %d acknowledged by %s: %s", alert_id, who, comment.strip())
        rt.cache.clear()
    return refresh_warnings(search, 0)
