"""Load and validate config.json against the declarations in settings.declarations."""
from __future__ import annotations

import difflib
import json
import math
import re
from pathlib import Path
from typing import Any, Callable

from common.timezones import LOCAL as LOCAL_ZONE
from common.timezones import is_zone_name
from settings.declarations import DEFAULTS, KNOWN_KEYS, PROBE_KINDS, RETENTION_DEFAULTS, SETTINGS, THRESHOLD_NAMES
from settings.errors import ConfigError
from settings.hosts import canonical_host, is_valid_host
from settings.model import Config, Server, SipSettings
from settings.sip import validate_sip, validate_sip_defaults



def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raises ConfigError naming the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    return validate_config(data, source=str(path))


def validate_config(data: Any, source: str = "<dict>") -> Config:
    """Validate a parsed config; returns a Config or raises ConfigError listing every problem."""
    errors: list[str] = []
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a JSON object")
    for check in _CHECKS:
        check(data, errors)
    if not errors:
        _check_sip(data, errors, _base_dir(source))
    if errors:
        raise ConfigError("\n".join(errors))
    servers = tuple(_build_server(s, data, _base_dir(source)) for s in data["servers"])
    return Config.from_raw(data, servers, source)


def _base_dir(source: str) -> Path | None:
    """The config file's folder (a relative sip ca_file is taken from there); None for a dict."""
    return None if source.startswith("<") else Path(source).resolve().parent


def _effective(entry: dict, data: dict) -> dict:
    """The server entry with its effective probe filled in (validate_sip reads it)."""
    return {**entry, "probe": entry.get("probe", data.get("probe", DEFAULTS["probe"]))}


def _check_sip(data: dict, errors: list[str], base_dir: Path | None) -> None:
    """sip_defaults, then every server's sip object merged over it; errors name the key path."""
    found, _ = validate_sip_defaults(data.get("sip_defaults"), base_dir=base_dir)
    errors.extend(found)
    for i, entry in enumerate(data["servers"]):
        found, _ = validate_sip(entry.get("sip"), f"servers[{i}].sip", data.get("sip_defaults"),
                                _effective(entry, data), base_dir=base_dir)
        errors.extend(found)


def _build_server(entry: dict, data: dict, base_dir: Path | None) -> Server:
    server = _effective(entry, data)
    _, sip = validate_sip(entry.get("sip"), "sip", data.get("sip_defaults"), server, base_dir=base_dir)
    return Server(partner=entry["partner"], country=entry["country"], ip=entry["ip"],
                  dn_ext=entry.get("dn_ext", ""), probe=server["probe"], port=entry.get("port"),
                  sip=SipSettings(**sip) if sip else None)


def _is_number(value: Any) -> bool:
    """A finite int or float (JSON NaN and Infinity parse to floats but are not usable numbers)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _positive(key: str, value: Any, errors: list[str], integer: bool = False) -> None:
    if not _is_number(value) or (integer and not isinstance(value, int)) or value <= 0:
        what = "a positive whole number" if integer else "a positive number"
        errors.append(f"{key}: {json.dumps(value)} must be {what}")


def _check_required(data: dict, errors: list[str]) -> None:
    for setting in SETTINGS:
        if setting.required and setting.name not in data:
            errors.append(f"{setting.name}: required key is missing")


def _check_numbers(data: dict, errors: list[str]) -> None:
    for key, integer in (("ping_count", True), ("ping_timeout", False), ("interval_seconds", False),
                         ("stale_after_seconds", False), ("max_concurrent_probes", True),
                         ("spool_max_rounds", True), ("fping_interval_ms", False), ("fping_period_ms", False)):
        if key in data:
            _positive(key, data[key], errors, integer)


def _check_thresholds(data: dict, errors: list[str]) -> None:
    thresholds = data.get("latency_thresholds")
    if thresholds is None:
        return
    if not isinstance(thresholds, dict):
        errors.append("latency_thresholds: must be an object with excellent, good, fair, poor, critical")
        return
    previous = None
    for name in THRESHOLD_NAMES:
        value = thresholds.get(name)
        key = f"latency_thresholds.{name}"
        if name not in thresholds:
            errors.append(f"{key}: required key is missing")
        elif not _is_number(value) or value <= 0:
            errors.append(f"{key}: {json.dumps(value)} must be a positive number of ms")
        elif previous is not None and value <= previous[1]:
            errors.append(f"{key}: {value} must be greater than latency_thresholds.{previous[0]} ({previous[1]});"
                          " thresholds must be strictly increasing")
        if _is_number(value):
            previous = (name, value)


_ALERT_LIMITS = {  # name: (lowest, highest, whole number)
    "max_packet_loss": (0, 100, False), "critical_packet_loss": (0, 100, False), "max_jitter": (0, None, False),
    "min_mos": (1, 4.5, False), "max_sip_response_ms": (0, None, False), "rounds_to_open": (1, None, True), "rounds_to_resolve": (1, None, True),
}


def _limit_error(name: str, value: Any) -> str | None:
    """The problem with one alert_conditions value, or None when it is fine."""
    low, high, whole = _ALERT_LIMITS[name]
    if name in ("min_mos", "max_sip_response_ms") and value is None:
        return None
    ok = _is_number(value) and value >= low and (high is None or value <= high) and (not whole or value == int(value))
    if ok:
        return None
    kind = "a whole number" if whole else "a number"
    span = f"from {low} to {high}" if high is not None else f"of at least {low}"
    return f"alert_conditions.{name}: {json.dumps(value)} must be {kind} {span}"


def _check_alerts(data: dict, errors: list[str]) -> None:
    alerts = data.get("alert_conditions")
    if alerts is None:
        return
    if not isinstance(alerts, dict):
        errors.append(f"alert_conditions: must be an object with any of {', '.join(_ALERT_LIMITS)}")
        return
    for name, value in alerts.items():
        if name not in _ALERT_LIMITS:
            errors.append(f"alert_conditions.{name}: unknown key; expected one of {', '.join(_ALERT_LIMITS)}")
        elif (problem := _limit_error(name, value)) is not None:
            errors.append(problem)


OVERRIDE_KEYS = ("latency_thresholds", "alert_conditions")


def _check_override(data: dict, given: Any, where: str, errors: list[str]) -> None:
    """One override object {latency_thresholds?, alert_conditions?}: any subset of keys, merged over the
    top-level values and checked like them, so an override can never make an unusable combination."""
    if not isinstance(given, dict):
        errors.append(f"{where}: must be an object with any of {', '.join(OVERRIDE_KEYS)}")
        return
    for key, value in given.items():
        if key not in OVERRIDE_KEYS:
            errors.append(f"{where}.{key}: unknown key; expected {', '.join(OVERRIDE_KEYS)}")
        elif not isinstance(value, dict):
            errors.append(f"{where}.{key}: must be an object")
        else:
            merged = {**DEFAULTS[key], **(data.get(key) or {}), **value}
            if key == "alert_conditions":
                merged = value  # each limit is checked on its own; the rest are already checked at the top level
            found: list[str] = []
            (_check_thresholds if key == "latency_thresholds" else _check_alerts)({key: merged}, found)
            errors.extend(f"{where}.{e}" for e in found)


def _check_partners(data: dict, errors: list[str]) -> None:
    partners = data.get("partners")
    if partners is None:
        return
    if not isinstance(partners, dict):
        errors.append("partners: must be an object of partner name -> {latency_thresholds, alert_conditions}")
        return
    known = {s.get("partner") for s in data.get("servers") or [] if isinstance(s, dict)}
    for name, given in partners.items():
        if name not in known:
            errors.append(f"partners.{name}: no server has this partner (check the spelling)")
        _check_override(data, given, f"partners.{name}", errors)
    if isinstance(data.get("servers"), list):
        for i, entry in enumerate(data["servers"]):
            if isinstance(entry, dict):
                merged = {k: {**((partners.get(entry.get("partner")) or {}).get(k) or {}), **entry[k]}
                          for k in OVERRIDE_KEYS if isinstance(entry.get(k), dict)}
                if merged:
                    _check_override(data, merged, f"servers[{i}]", errors)


def _check_server_overrides(data: dict, errors: list[str]) -> None:
    """Per-server overrides when there is no partners section (with one, _check_partners checks the merge)."""
    if isinstance(data.get("partners"), dict) or not isinstance(data.get("servers"), list):
        return
    for i, entry in enumerate(data["servers"]):
        if isinstance(entry, dict):
            given = {k: entry[k] for k in OVERRIDE_KEYS if k in entry}
            if given:
                _check_override(data, given, f"servers[{i}]", errors)


def _check_maintenance(data: dict, errors: list[str]) -> None:
    from settings.maintenance import window_errors
    windows = data.get("maintenance")
    if windows is None:
        return
    if not isinstance(windows, list):
        errors.append("maintenance: must be a list of maintenance windows")
        return
    for i, entry in enumerate(windows):
        errors.extend(window_errors(entry, f"maintenance[{i}]"))


def _check_control_targets(data: dict, errors: list[str]) -> None:
    targets = data.get("control_targets")
    if targets is None:
        return
    if not isinstance(targets, list):
        errors.append("control_targets: must be a list of IP addresses or host names")
        return
    for i, host in enumerate(targets):
        if not is_valid_host(host):
            errors.append(f"control_targets[{i}]: {json.dumps(host)} is not an IP address or host name")


def _check_notifications(data: dict, errors: list[str]) -> None:
    channels = data.get("notifications")
    if channels is None:
        return
    if not isinstance(channels, list):
        errors.append("notifications: must be a list of {\"url\": ..., \"min_severity\": ...} objects")
        return
    for i, entry in enumerate(channels):
        where = f"notifications[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) or "://" not in entry["url"]:
            errors.append(f"{where}.url: must be an Apprise URL such as json://host/path or slack://...")
        elif entry.get("min_severity", "warning") not in ("warning", "critical"):
            errors.append(f"{where}.min_severity: {json.dumps(entry['min_severity'])} must be warning or critical")


# Each pair is (shorter, longer): a rollup must outlive the rows it summarises, or old graphs would have holes.
_RETENTION_ORDER = (("raw_days", "five_minute_rollup_days"), ("five_minute_rollup_days", "hourly_rollup_days"),
                    ("raw_days", "sla_days"))


def _retention_error(name: str, value: Any) -> str | None:
    """The problem with one retention value, or None when it is fine."""
    where = f"retention.{name}"
    if name not in RETENTION_DEFAULTS:
        hint = difflib.get_close_matches(name, RETENTION_DEFAULTS, n=1)
        return f"{where}: unknown key" + (f" (did you mean {hint[0]}?)" if hint else
                                          f"; expected one of {', '.join(RETENTION_DEFAULTS)}")
    if name == "batch_rows":
        ok = _is_number(value) and isinstance(value, int) and value > 0
        return None if ok else f"{where}: {json.dumps(value)} must be a positive whole number of rows"
    if value is None or (_is_number(value) and value > 0):
        return None
    return f"{where}: {json.dumps(value)} must be a positive number of days, or null to keep forever"


def _retention_shown(name: str, given: dict) -> str:
    """A retention value as the error message shows it: JSON, marked when it is the default."""
    value = given.get(name, RETENTION_DEFAULTS[name])
    return json.dumps(value) + ("" if name in given else " (the default)")


def _check_retention_order(given: dict, errors: list[str]) -> None:
    """Rollups are kept at least as long as raw rows, hourly at least as long as 5-minute (null = forever)."""
    days = {name: math.inf if value is None else value for name, value in {**RETENTION_DEFAULTS, **given}.items()}
    for shorter, longer in _RETENTION_ORDER:
        if days[longer] < days[shorter]:
            errors.append(f"retention.{longer}: {_retention_shown(longer, given)} is shorter than retention.{shorter}"
                          f" ({_retention_shown(shorter, given)}); rollups must be kept at least as long as the rows"
                          " they summarise (null = forever)")


def _check_retention(data: dict, errors: list[str]) -> None:
    if "retention" not in data:
        return
    given = data["retention"]
    if not isinstance(given, dict):
        errors.append(f"retention: {json.dumps(given)} must be an object with any of {', '.join(RETENTION_DEFAULTS)}")
        return
    problems = [p for p in (_retention_error(name, value) for name, value in given.items()) if p]
    errors.extend(problems)
    if not problems:  # comparing values that are themselves wrong would only repeat the error
        _check_retention_order(given, errors)


def _check_unknown_keys(data: dict, errors: list[str]) -> None:
    """A misspelt key would silently fall back to its default; name it instead."""
    for key in data:
        if key not in KNOWN_KEYS:
            hint = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            errors.append(f"{key}: unknown key" + (f" (did you mean {hint[0]}?)" if hint else ""))


def _check_auth(data: dict, errors: list[str]) -> None:
    if "auth" in data:
        from settings.auth import validate_auth
        errors.extend(validate_auth(data))


def _check_sla(data: dict, errors: list[str]) -> None:
    from settings.sla import validate_sla
    errors.extend(validate_sla(data))


def _check_os_params(data: dict, errors: list[str]) -> None:
    for key in ("windows_params", "unix_params"):
        params = data.get(key)
        if params is None:
            continue
        if not isinstance(params, dict):
            errors.append(f"{key}: must be an object with count_param and timeout_param")
            continue
        for name in ("count_param", "timeout_param"):
            value = params.get(name)
            if not isinstance(value, str) or not re.fullmatch(r"-[A-Za-z]", value or ""):
                errors.append(f"{key}.{name}: {json.dumps(value)} must be a single ping flag such as \"-c\"")


def _check_strings(data: dict, errors: list[str]) -> None:
    for key in ("database_path", "database_url", "log_file", "collector_name", "public_url", "collector_location",
                "spool_path"):
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            errors.append(f"{key}: {json.dumps(value)} must be a non-empty string")
    if "probe" in data and data["probe"] not in PROBE_KINDS:
        errors.append(f"probe: {json.dumps(data['probe'])} is not one of {', '.join(PROBE_KINDS)}")


def _check_display_timezone(data: dict, errors: list[str]) -> None:
    """display_timezone: UTC, local, or a time zone name the machine's zone database (zoneinfo) knows."""
    value = data.get("display_timezone")
    if "display_timezone" not in data or value == LOCAL_ZONE:
        return
    if not is_zone_name(value):
        errors.append(f"display_timezone: {json.dumps(value)} is not a time zone: use \"UTC\", \"local\" or an "
                      "IANA name such as \"Africa/Nairobi\"")


def _check_servers(data: dict, errors: list[str]) -> None:
    servers = data.get("servers")
    if servers is None:
        return
    if not isinstance(servers, list):
        errors.append("servers: must be a list of server objects")
        return
    seen: dict[tuple, int] = {}
    default_probe = data.get("probe", DEFAULTS["probe"])
    for i, entry in enumerate(servers):
        key = _check_server(i, entry, errors, default_probe)
        if key is None:
            continue
        if key in seen:
            errors.append(f"servers[{i}]: duplicate of servers[{seen[key]}] ({key[0]}"
                          f"{':' + str(key[1]) if key[1] else ''})")
        else:
            seen[key] = i


def _check_server(i: int, entry: Any, errors: list[str], default_probe: str) -> tuple | None:
    where = f"servers[{i}]"
    if not isinstance(entry, dict):
        errors.append(f"{where}: must be an object with partner, country, ip, dn_ext")
        return None
    before = len(errors)
    for name in ("partner", "country", "ip"):
        value = entry.get(name)
        if name not in entry:
            errors.append(f"{where}.{name}: required key is missing")
        elif not isinstance(value, str) or not value.strip():
            errors.append(f"{where}.{name}: {json.dumps(value)} must be a non-empty string")
    if "dn_ext" in entry and not isinstance(entry["dn_ext"], str):
        errors.append(f"{where}.dn_ext: {json.dumps(entry['dn_ext'])} must be a string")
    if isinstance(entry.get("ip"), str) and entry["ip"].strip() and not is_valid_host(entry["ip"]):
        errors.append(f"{where}.ip: {json.dumps(entry['ip'])} is not an IP address or host name")
    probe = entry.get("probe")
    if probe is not None and probe not in PROBE_KINDS:
        errors.append(f"{where}.probe: {json.dumps(probe)} is not one of {', '.join(PROBE_KINDS)}")
    for name in OVERRIDE_KEYS:
        if name in entry and not isinstance(entry[name], dict):
            errors.append(f"{where}.{name}: must be an object (an override of the top-level {name})")
    port = entry.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535):
        errors.append(f"{where}.port: {json.dumps(port)} must be a whole number from 1 to 65535")
    if len(errors) > before:
        return None
    # The key mirrors Server.id (results are keyed by it), with the effective probe and a canonical host.
    return (canonical_host(entry["ip"]), port if entry.get("probe", default_probe) == "tcp" else None)


_CHECKS: tuple[Callable[[dict, list[str]], None], ...] = (
    _check_required, _check_unknown_keys, _check_numbers, _check_thresholds, _check_alerts, _check_control_targets,
    _check_notifications, _check_auth, _check_os_params, _check_strings,
    _check_servers, _check_retention, _check_display_timezone, _check_sla,
    _check_partners, _check_server_overrides, _check_maintenance,
)
