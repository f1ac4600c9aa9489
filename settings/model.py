"""The validated configuration as typed objects: Config, its servers, alert conditions and retention."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from settings.declarations import ALERT_DEFAULTS, DEFAULTS, RETENTION_DEFAULTS


@dataclass(frozen=True)
class Server:
    """One monitored server as configured."""

    partner: str
    country: str
    ip: str
    dn_ext: str
    probe: str
    port: int | None = None

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
    collector_location: str | None = DEFAULTS["collector_location"]
    spool_path: str | None = DEFAULTS["spool_path"]
    spool_max_rounds: int = DEFAULTS["spool_max_rounds"]
    fping_interval_ms: float = DEFAULTS["fping_interval_ms"]
    fping_period_ms: float = DEFAULTS["fping_period_ms"]
    retention: Retention = field(default_factory=Retention)

    @classmethod
    def from_raw(cls, raw: dict, servers: tuple[Server, ...], source: str = "<dict>") -> "Config":
        """A Config of a raw dict that already passed validation: defaults filled in, objects typed."""
        values = {**DEFAULTS, **raw}
        plain = {name: values[name] for name in ("database_path", "database_url", "ping_count", "ping_timeout",
                                                 "interval_seconds", "stale_after_seconds", "probe",
                                                 "max_concurrent_probes", "log_file", "public_url",
                                                 "collector_name", "collector_location", "spool_path",
                                                 "spool_max_rounds", "fping_interval_ms", "fping_period_ms")}
        # Object settings may give any subset of their keys; the rest keep their defaults.
        objects = {name: {**DEFAULTS[name], **(raw.get(name) or {})}
                   for name in ("windows_params", "unix_params", "latency_thresholds")}
        return cls(raw=raw, servers=servers, source=source, **plain, **objects,
                   alert_conditions=AlertConditions(**(raw.get("alert_conditions") or {})),
                   control_targets=tuple(raw.get("control_targets") or ()),
                   notifications=tuple(raw.get("notifications") or ()), auth=dict(raw.get("auth") or {}),
                   retention=Retention(**(raw.get("retention") or {})))

    def replace(self, **changes: Any) -> "Config":
        """A new Config validated from this one's raw dict with `changes` applied (e.g. servers=[...])."""
        from settings.validation import validate_config
        return validate_config({**self.raw, **changes}, source=self.source)

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
