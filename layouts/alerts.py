"""How alerts read on the page: kind labels and icons, severity pills, a server's open-alert badges."""
from __future__ import annotations

from dash import html

KIND_LABELS = {"high_latency": "high latency", "packet_loss": "packet loss", "jitter": "jitter", "down": "down",
               "stale": "stale", "connectivity": "connectivity", "mos": "low MOS"}
KIND_ICONS = {"high_latency": "bi-speedometer2", "packet_loss": "bi-graph-down-arrow", "jitter": "bi-activity",
              "down": "bi-x-octagon-fill", "stale": "bi-hourglass-split", "connectivity": "bi-wifi-off",
              "mos": "bi-telephone-x"}
OTHER_ICON = "bi-exclamation-triangle-fill"


def kind_label(kind: str) -> str:
    """'high latency' for high_latency; an unknown kind reads as itself."""
    return KIND_LABELS.get(kind, str(kind).replace("_", " "))


def kind_icon(kind: str) -> str:
    """The Bootstrap icon class of an alert kind."""
    return KIND_ICONS.get(kind, OTHER_ICON)


def severity_pill(severity: str, resolved: bool = False) -> html.Span:
    """A small uppercase pill: the severity, or 'resolved' in calm colours."""
    name = "resolved" if resolved else severity
    return html.Span(name, className=f"lm-sev lm-sev-{name}")


def alert_badge(alert: dict) -> html.Span:
    """One open alert as a pill coloured by severity; its message shows on hover."""
    return html.Span([html.I(className=f"bi {kind_icon(alert['kind'])} me-1"), kind_label(alert["kind"])],
                     className=f"lm-alert lm-alert-{alert['severity']}",
                     title=f"{alert['severity']}: {alert.get('message') or kind_label(alert['kind'])}",
                     **{"data-kind": alert["kind"], "data-severity": alert["severity"]})


def alert_badges(alerts: list[dict] | None) -> html.Div | None:
    """A server's open alerts, critical first; None when it has none."""
    if not alerts:
        return None
    ordered = sorted(alerts, key=lambda a: a["severity"] != "critical")  # stable: keeps oldest first within
    return html.Div([alert_badge(a) for a in ordered], className="lm-alerts", **{"aria-label": "open alerts"})
