"""What each vantage point (collector) sees of a server, as the card's hover text."""
from __future__ import annotations

from common import format as fmt


def vantage_title(row: dict) -> str | None:
    """'nairobi: down · london: up 23.0 ms, loss 0.0%, SIP up' for a server measured from several places (SIP for
    one with a SIP check); None for one."""
    views = row.get("vantage_points") or []
    if len(views) < 2:
        return None
    return " · ".join(f"{v['collector'] or 'unnamed'}: {v['status']}"
                      + (f" {fmt.ms(v['latency_ms'])}, loss {fmt.pct(v['loss_pct'])}" if v.get("latency_ms") is not None
                         else "")
                      + (f", SIP {v['sip_status']}" if v.get("sip_status") else "") for v in views)
