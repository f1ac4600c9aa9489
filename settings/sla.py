"""SLA targets (issue 15): `sla_target_percent` per partner, a default for all, and a per-server override."""
from __future__ import annotations

import json
import math
from typing import Any

DEFAULT_TARGET_PERCENT = 99.9
SLA_DEFAULTS = {"default": DEFAULT_TARGET_PERCENT, "partners": {}}


def _percent_error(where: str, value: Any) -> str | None:
    """The problem with one target value, or None: a number above 0 and at most 100."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and 0 < value <= 100
    return None if ok else f"{where}: {json.dumps(value)} must be a percentage above 0 and at most 100 (e.g. 99.9)"


def validate_sla(data: dict) -> list[str]:
    """Problems with `sla_target_percent` and with every server's `sla_target_percent` override."""
    errors: list[str] = []
    given = data.get("sla_target_percent")
    if given is not None:
        if not isinstance(given, dict):
            errors.append(f"sla_target_percent: {json.dumps(given)} must be an object with default and/or partners")
        else:
            for key, value in given.items():
                if key == "default":
                    errors.append(_percent_error("sla_target_percent.default", value))
                elif key == "partners":
                    if not isinstance(value, dict):
                        errors.append("sla_target_percent.partners: must be an object of partner name -> percent")
                        continue
                    errors.extend(_percent_error(f"sla_target_percent.partners.{name}", v) for name, v in value.items())
                else:
                    errors.append(f"sla_target_percent.{key}: unknown key; expected default or partners")
    for i, entry in enumerate(data.get("servers") or []):
        if isinstance(entry, dict) and "sla_target_percent" in entry:
            errors.append(_percent_error(f"servers[{i}].sla_target_percent", entry["sla_target_percent"]))
    return [e for e in errors if e]


def _given(raw: dict) -> dict:
    """The sla_target_percent object with its defaults filled in."""
    return {**SLA_DEFAULTS, **(raw.get("sla_target_percent") or {})}


def default_target(raw: dict) -> float:
    """The target of every partner without its own (and of countries)."""
    return float(_given(raw)["default"])


def partner_target(raw: dict, partner: str) -> float:
    """A partner's SLA target percent: its own, else the default."""
    given = _given(raw)
    return float(given["partners"].get(partner, given["default"]))


def server_targets(config) -> dict[str, float]:
    """Every configured server's SLA target percent by server id: its own override, else its partner's."""
    # config.servers is built from raw["servers"] in order, so the two line up.
    entries = config.raw.get("servers") or []
    return {server.id: float(entry["sla_target_percent"]) if "sla_target_percent" in entry
            else partner_target(config.raw, server.partner) for server, entry in zip(config.servers, entries)}
