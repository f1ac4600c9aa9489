"""The bottom layer: every config.json key declared as data, its validation, and the typed Config.

It imports nothing of the project (a test keeps it so), so every other package may import it.
"""
from settings.declarations import (ALERT_DEFAULTS, ALERT_SETTINGS, DEFAULTS, KNOWN_KEYS, PROBE_KINDS,
                                   RETENTION_DEFAULTS, RETENTION_SETTINGS, SETTINGS, THRESHOLD_NAMES)
from settings.errors import ConfigError, Setting
from settings.hosts import canonical_host, is_valid_host
from settings.model import AlertConditions, Config, Retention, Server, SipSettings
from settings.validation import load_config, validate_config

__all__ = ["ALERT_DEFAULTS", "ALERT_SETTINGS", "DEFAULTS", "KNOWN_KEYS", "PROBE_KINDS", "RETENTION_DEFAULTS",
           "RETENTION_SETTINGS", "SETTINGS", "THRESHOLD_NAMES", "ConfigError", "Setting", "canonical_host",
           "is_valid_host", "AlertConditions", "Config", "Retention", "Server", "SipSettings", "load_config", "validate_config"]
