"""Every key of config.json declared once, as data: name, default and help (the README's table comes from here)."""
from __future__ import annotations

from settings.errors import Setting

PROBE_KINDS = ("auto", "ping", "fping", "tcp", "sip")
THRESHOLD_NAMES = ("excellent", "good", "fair", "poor", "critical")

# The keys of the "alert_conditions" object. AlertConditions takes its defaults from here, and so does every
# reader of a limit: no other module spells a default out.
ALERT_SETTINGS: tuple[Setting, ...] = (
    Setting("max_packet_loss", 1, "Packet loss (%) above which a loss alert opens (warning)."),
    Setting("critical_packet_loss", 10, "Packet loss (%) above which a loss alert is critical."),
    Setting("max_jitter", 30, "Jitter (ms) above which a jitter alert opens."),
    Setting("min_mos", None, "MOS below which a low-MOS alert opens; null turns the check off."),
    Setting("max_sip_response_ms", 1000, "Mean SIP OPTIONS response time (ms) above which a sip_slow alert opens; "
            "null turns the check off."),
    Setting("rounds_to_open", 2, "Consecutive bad rounds before an alert opens."),
    Setting("rounds_to_resolve", 2, "Consecutive good rounds before an alert resolves."),
)
ALERT_DEFAULTS = {s.name: s.default for s in ALERT_SETTINGS}

# The keys of the "retention" object, declared like the top-level settings; days are a positive number or
# null (keep forever). Rows older than their horizon are deleted by the collector between rounds.
RETENTION_SETTINGS: tuple[Setting, ...] = (
    Setting("raw_days", 90, "Days to keep raw rows: ping_results, sip_results, and rounds left without results."),
    Setting("five_minute_rollup_days", 400, "Days to keep 5-minute rollups; at least raw_days."),
    Setting("hourly_rollup_days", None, "Days to keep hourly rollups (null = forever); at least "
            "five_minute_rollup_days."),
    Setting("logs_days", 90, "Days to keep rows of the logs table."),
    Setting("sla_days", None, "Days to keep what SLA reports read: finished incidents and availability rollups "
            "(null = forever); at least raw_days."),
    Setting("batch_rows", 5000, "Rows deleted per transaction, so a round's write never waits long behind a delete."),
)
RETENTION_DEFAULTS = {s.name: s.default for s in RETENTION_SETTINGS}

SETTINGS: tuple[Setting, ...] = (
    Setting("database_path", "database.db", "SQLite file the collector writes and the app reads.", True),
    Setting("database_url", None, "SQLAlchemy URL (e.g. postgresql://...); overrides database_path."),
    Setting("servers", [], "List of servers to probe: partner, country, ip, dn_ext; optional probe, port, and sip "
            "(true, or an object of transport, port, request_uri, up_codes, verify, ca_file, from_user, "
            "tls_server_name) for a SIP OPTIONS check beside the network probe.", True),
    Setting("ping_count", 4, "Packets sent to each server per round.", True),
    Setting("ping_timeout", 5, "Seconds to wait for each reply.", True),
    Setting("windows_params", {"os": "windows", "count_param": "-n", "timeout_param": "-w"},
            "ping flags on Windows (timeout given in ms)."),
    Setting("unix_params", {"os": "unix", "count_param": "-c", "timeout_param": "-W"},
            "ping flags on Linux, macOS and BSD (timeout in seconds)."),
    Setting("latency_thresholds", {"excellent": 50, "good": 100, "fair": 150, "poor": 300, "critical": 500},
            "Upper bounds in ms of each latency class; strictly increasing.", True),
    Setting("interval_seconds", 60, "Seconds between the starts of two rounds."),
    Setting("stale_after_seconds", 300, "A server with no stored result for this long is stale."),
    Setting("probe", "auto", "Default probe: auto (fping if installed, else ping), ping, fping, tcp, or sip "
            "(a SIP OPTIONS check only, for SBCs that drop ICMP)."),
    Setting("max_concurrent_probes", 64, "At most this many ping/tcp probes run at once."),
    Setting("log_file", "logs/monitor.log", "Rotating log file; null to log to the database and console only."),
    Setting("alert_conditions", ALERT_DEFAULTS,
            "Alert limits: max_packet_loss and critical_packet_loss (%), max_jitter (ms), min_mos (null = off), "
            "max_sip_response_ms (null = off), "
            "rounds_to_open / rounds_to_resolve (consecutive bad / good rounds). Any subset may be given."),
    Setting("control_targets", [], "Reliable hosts (e.g. your gateway); when all fail in a round the fault is the "
            "monitoring host's own link: partner alerts are held back and one connectivity alert opens."),
    Setting("notifications", [], "Alert notifications: a list of {\"url\": Apprise URL, \"min_severity\": "
            "\"warning\" or \"critical\"} (Slack, Teams, Telegram, mailto, json:// webhooks, ...)."),
    Setting("public_url", "http://127.0.0.1:5000", "Base URL of the dashboard, used for links in notifications."),
    Setting("auth", {}, "Optional authentication: api_token, users, secret_key, ... (see Reliability and security)."),
    Setting("sip_defaults", {}, "Defaults for every server's sip object: transport (udp, tcp, tls), port (5060, "
            "5061 for tls), up_codes, verify, ca_file, from_user, tls_server_name."),
    Setting("collector_name", None, "Name stored with each row; defaults to the host name."),
    Setting("display_timezone", "UTC", "Time zone the dashboard opens in: \"UTC\", \"local\" (each browser's own "
            "zone) or an IANA name such as \"Africa/Nairobi\"; anyone can switch between UTC, their browser's zone "
            "and this one. Stored times and the API stay UTC."),
    Setting("collector_location", None, "Where this collector (vantage point) sits, e.g. \"Nairobi DC1\"; shown "
            "with its figures and in merged-status alerts (defaults to collector_name)."),
    Setting("spool_path", None, "Local SQLite file holding rounds while the database refuses them; defaults to "
            "<database_path>.spool beside a SQLite database, else collector-spool-<collector_name>.db beside the config file."),
    Setting("spool_max_rounds", 10000, "Most rounds the spool holds; past it the oldest are dropped (one ERROR)."),
    Setting("fping_interval_ms", 2.0, "fping -i: milliseconds between any two packets fping sends."),
    Setting("fping_period_ms", 1000.0, "fping -p: milliseconds between two packets to one server."),
    Setting("retention", RETENTION_DEFAULTS, "How long rows are kept, in days (null = forever): raw_days, "
            "five_minute_rollup_days, hourly_rollup_days, logs_days; batch_rows per delete. Any subset may be given."),
    Setting("sla_target_percent", {"default": 99.9, "partners": {}}, "SLA targets (availability %): default for "
            "every partner, partners {name: percent}; a server entry may override with its own sla_target_percent."),
    Setting("partners", {}, "Per-partner overrides: {\"<partner>\": {\"latency_thresholds\": {...}, \"alert_conditions\": "
            "{...}}}, any subset of keys; a server entry may carry the same two keys (server wins over partner)."),
    Setting("maintenance", [], "Maintenance windows: {\"server\"|\"partner\"|\"country\": name, \"start\", \"end\" (UTC ISO "
            "8601)} or {..., \"weekly\": {\"day\", \"start\": \"HH:MM\", \"duration_minutes\", \"time_zone\"}}, with a comment."),
)
DEFAULTS = {s.name: s.default for s in SETTINGS}
KNOWN_KEYS = {s.name for s in SETTINGS}
