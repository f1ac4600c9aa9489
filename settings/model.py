"""The validated configuration as typed objects: Config, its servers, alert conditions and retention."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from settings.declarations import ALERT_DEFAULTS, DEFAULTS, RETENTION_DEFAULTS


@dataclass(frozen=True)
class SipSettings:
    """A server's SIP OPTIONS check, normalised by settings/sip.py (every key filled in)."""

    transport: str
    port: int
    request_uri: str | None
    up_codes: tuple | None = None  # None: the probe's default list
    verify: bool = True
    ca_file: str | None = None
    from_user: str = "monitor"
    tls_server_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (what SipTarget.from_settings takes)."""
        return asdict(self)


@dataclass(frozen=True)
class Server:
    """One monitored server as configured."""

    partner: str
    country: str
    ip: str
    dn_ext: str
    probe: str
    port: int | None = None
    sip: SipSettings | None = None  # the SIP OPTIONS check, None without one

    @property
    def id(self) -> str:
        """Stable identifier used in URLs and the API: the host, plus the port for tcp."""
        return f"{self.ip}:{self.port}" if self.probe == "tcp" and self.port else self.ip


@dataclass(frozen=True)
class AlertConditions:
    """The alert limits; every default comes from ALERT_SETTINGS."""

    max_packet_loss: float = ALERT_DEFAULTS["max_packet_loss"]
    critical_packet_loss: float = ALERT_DEFAULTS["critical_packet_loss"]
    max_jitter: float = ALERT_DEFAULTS["max_jitter"]
    min_mos: float | None = ALERT_DEFAULTS["min_mos"]
    max_sip_response_ms: float | None = ALERT_DEFAULTS["max_sip_response_ms"]
    rounds_to_open: int = ALERT_DEFAULTS["rounds_to_open"]
    rounds_to_resolve: int = ALERT_DEFAULTS["rounds_to_resolve"]

    def as_dict(self) -> dict[str, Any]:
        """The limits as a plain dict (the config file's shape)."""
        return asdict(self)


@dataclass(frozen=True)
class Retention:
    """How long rows are kept, in days (None = forever), and the delete batch size."""

    raw_days: float | None = RETENTION_DEFAULTS["raw_days"]
    five_minute_rollup_days: float | None = RETENTION_DEFAULTS["five_minute_rollup_days"]
    hourly_rollup_days: float | None = RETENTION_DEFAULTS["hourly_rollup_days"]
    logs_days: float | None = RETENTION_DEFAULTS["logs_days"]
    sla_days: float | None = RETENTION_DEFAULTS["sla_days"]
    batch_rows: int = RETENTION_DEFAULTS["batch_rows"]

    def as_dict(self) -> dict[str, Any]:
        """The retention settings as a plain dict (what storage.retention takes)."""
        return asdict(self)


@dataclass(frozen=True)
class Config:
    """A validated configuration: typed attributes for every setting, plus the raw dict it came from."""

    raw: dict
    servers: tuple[Server, ...]
    source: str = "<dict>"
    database_path: str = DEFAULTS["database_path"]
    database_url: str | None = DEFAULTS["database_url"]
    ping_count: int = DEFAULTS["ping_count"]
    ping_timeout: float = DEFAULTS["ping_timeout"]
    windows_params: dict = field(default_factory=lambda: dict(DEFAULTS["windows_params"]))
    unix_params: dict = field(default_factory=lambda: dict(DEFAULTS["unix_params"]))
    latency_thresholds: dict = field(default_factory=lambda: dict(DEFAULTS["latency_thresholds"]))
    interval_seconds: float = DEFAULTS["interval_seconds"]
    stale_after_seconds: float = DEFAULTS["stale_after_seconds"]
    probe: str = DEFAULTS["probe"]
    max_concurrent_probes: int = DEFAULTS["max_concurrent_probes"]
    log_file: str | None = DEFAULTS["log_file"]
    alert_conditions: AlertConditions = field(default_factory=AlertConditions)
    control_targets: tuple[str, ...] = ()
    notifications: tuple[dict, ...] = ()
    public_url: str = DEFAULTS["public_url"]
    auth: dict = field(default_factory=dict)
    collector_name: str | None = DEFAULTS["collector_name"]
    display_timezone: str = DEFAULTS["display_timezone"]
    collector_location: str | None = DEFAULTS["collector_location"]
    spool_path: str | None = DEFAULTS["spool_path"]
    spool_max_rounds: int = DEFAULTS["spool_max_rounds"]
    fping_interval_ms: float = DEFAULTS["fping_interval_ms"]
    fping_period_ms: float = DEFAULTS["fping_period_ms"]
    retention: Retention = field(default_factory=Retention)
    sip_defaults: dict = field(default_factory=dict)
    # server id -> {"latency_thresholds": dict, "alert_conditions": AlertConditions}, only servers with overrides
    overrides: dict = field(default_factory=dict)
    maintenance: tuple = ()  # settings.maintenance.Window of the config's `maintenance` list

    @classmethod
    def from_raw(cls, raw: dict, servers: tuple[Server, ...], source: str = "<dict>") -> "Config":
        """A Config of a raw dict that already passed validation: defaults filled in, objects typed."""
        values = {**DEFAULTS, **raw}
        plain = {name: values[name] for name in ("database_path", "database_url", "ping_count", "ping_timeout",
                                                 "interval_seconds", "stale_after_seconds", "probe",
                                                 "max_concurrent_probes", "log_file", "public_url",
                                                 "collector_name", "display_timezone", "collector_location",
                                                 "spool_path", "spool_max_rounds", "fping_interval_ms",
                                                 "fping_period_ms")}
        # Object settings may give any subset of their keys; the rest keep their defaults.
        objects = {name: {**DEFAULTS[name], **(raw.get(name) or {})}
                   for name in ("windows_params", "unix_params", "latency_thresholds")}
        return cls(raw=raw, servers=servers, source=source, **plain, **objects,
                   alert_conditions=AlertConditions(**(raw.get("alert_conditions") or {})),
                   control_targets=tuple(raw.get("control_targets") or ()),
                   notifications=tuple(raw.get("notifications") or ()), auth=dict(raw.get("auth") or {}),
                   retention=Retention(**(raw.get("retention") or {})),
                   sip_defaults=dict(raw.get("sip_defaults") or {}),
                   overrides=_server_overrides(raw, servers, objects["latency_thresholds"]),
                   maintenance=_maintenance(raw))

    def replace(self, **changes: Any) -> "Config":
        """A new Config validated from this one's raw dict with `changes` applied (e.g. servers=[...])."""
        from settings.validation import validate_config
        return validate_config({**self.raw, **changes}, source=self.source)

    def thresholds_for(self, server_id: str | None) -> dict[str, float]:
        """The latency thresholds that apply to one server (server over partner over top level)."""
        found = self.overrides.get(server_id)
        return dict(found["latency_thresholds"]) if found else self.thresholds

    def alert_conditions_for(self, server_id: str | None) -> AlertConditions:
        """The alert limits that apply to one server (server over partner over top level)."""
        found = self.overrides.get(server_id)
        return found["alert_conditions"] if found else self.alert_conditions

    @property
    def thresholds(self) -> dict[str, float]:
        """Latency class upper bounds in ms."""
        return dict(self.latency_thresholds)

    def database_target(self, base_dir: Path | None = None) -> str:
        """The SQLAlchemy URL to use: database_url, else sqlite at database_path."""
        if self.database_url:
            return self.database_url
        path = Path(self.database_path)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        from sqlalchemy.engine import URL  # here, not at import: the settings layer stays light
        # URL.create escapes "?", "#" and "%" that would otherwise be read as URL syntax.
        return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def _server_overrides(raw: dict, servers: tuple[Server, ...], thresholds: dict) -> dict:
    """The merged thresholds and limits of every server that has a partner or server override."""
    partners = raw.get("partners") or {}
    found = {}
    for entry, server in zip(raw.get("servers") or [], servers):
        layers = [partners.get(server.partner) or {}, entry]
        if not any(key in layer for layer in layers for key in ("latency_thresholds", "alert_conditions")):
            continue
        merged_thresholds, merged_limits = dict(thresholds), {**DEFAULTS["alert_conditions"],
                                                               **(raw.get("alert_conditions") or {})}
        for layer in layers:
            merged_thresholds.update(layer.get("latency_thresholds") or {})
            merged_limits.update(layer.get("alert_conditions") or {})
        found[server.id] = {"latency_thresholds": merged_thresholds,
                            "alert_conditions": AlertConditions(**merged_limits)}
    return found


def _maintenance(raw: dict) -> tuple:
    """The config's maintenance windows as Window objects."""
    from settings.maintenance import build_window
    return tuple(build_window(entry) for entry in raw.get("maintenance") or ())
