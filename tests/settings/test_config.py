"""Config loading and validation: the seed file works, and every invalid setting is named by its key path."""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from settings import SETTINGS, ConfigError, is_valid_host, load_config, validate_config
from tests.conftest import make_config_dict

REPO = Path(__file__).resolve().parents[2]


def errors_of(data) -> list[str]:
    """The error lines validate_config raises for data (fails the test if it accepts it)."""
    with pytest.raises(ConfigError) as info:
        validate_config(data)
    return str(info.value).splitlines()


def set_path(data: dict, path: str, value) -> dict:
    """Set data at a dotted/indexed path such as 'servers[2].ip' or 'latency_thresholds.good'."""
    target, parts = data, path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = parts[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return data


def del_path(data: dict, path: str) -> dict:
    """Remove the key at path."""
    target, parts = data, path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    del target[parts[-1]]
    return data


# --- the seed file ---------------------------------------------------------------------------

def test_seed_config_json_loads_unchanged():
    config = load_config(REPO / "config.json")
    seed = json.loads((REPO / "config.json").read_text())
    assert [s.ip for s in config.servers] == [s["ip"] for s in seed["servers"]]
    assert config.ping_count == seed["ping_count"] and config.ping_timeout == seed["ping_timeout"]
    assert config.interval_seconds == seed["interval_seconds"]
    assert config.thresholds == seed["latency_thresholds"]
    assert config.unix_params["count_param"] == "-c" and config.windows_params["timeout_param"] == "-w"
    # No TCP server in the sample: it must be green on any port (tests/app/test_sample_config.py).
    assert (config.servers[-1].probe, config.servers[-1].id) == ("auto", "localhost")
    assert config.servers[0].probe == "auto" and config.servers[0].id == "127.0.0.1"


def test_unset_settings_fall_back_to_their_declared_defaults(config_dict):
    for key in ("probe", "max_concurrent_probes", "alert_conditions", "database_url", "collector_name"):
        config_dict.pop(key, None)
    config = validate_config(config_dict)
    assert config.probe == "auto"
    assert config.max_concurrent_probes == 64
    assert config.alert_conditions.as_dict() == {"max_packet_loss": 1, "critical_packet_loss": 10, "max_jitter": 30,
                                       "min_mos": None, "max_sip_response_ms": 1000, "rounds_to_open": 2,
                                       "rounds_to_resolve": 2}
    assert config.database_url is None and config.collector_name is None
    with pytest.raises(AttributeError):
        config.no_such_setting  # noqa: B018


def test_every_setting_has_a_help_text_and_required_ones_are_in_the_seed():
    seed = json.loads((REPO / "config.json").read_text())
    for setting in SETTINGS:
        assert setting.help.strip(), setting.name
        if setting.required:
            assert setting.name in seed, setting.name


def test_server_fields_and_ids(config_dict):
    config_dict["probe"] = "ping"
    config_dict["servers"] = [
        {"partner": "P", "country": "C", "ip": "sip.example.com"},
        {"partner": "P", "country": "C", "ip": "sip.example.com", "probe": "tcp", "port": 5061},
        {"partner": "P", "country": "C", "ip": "10.0.0.9", "probe": "tcp"},
    ]
    servers = validate_config(config_dict).servers
    assert [s.id for s in servers] == ["sip.example.com", "sip.example.com:5061", "10.0.0.9"]
    assert [s.probe for s in servers] == ["ping", "tcp", "tcp"]
    assert servers[0].dn_ext == ""


# --- hosts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("host", [
    "127.0.0.1", "8.8.8.8", "::1", "2001:db8::1", "fe80::1%eth0", "localhost", "sip.example.com",
    "sip.example.com.", "a-b.example", "xn--bcher-kva.example", "1e100.net", "a" * 63 + ".example",
    ("a" * 62 + ".") * 3 + "a" * 61,
], ids=lambda h: repr(h)[:30])
def test_valid_hosts_are_accepted(host):
    assert is_valid_host(host)


@pytest.mark.parametrize("host", [
    "8.8.8.8; reboot", "-c", "-f", "--help", "-1.example", "a b", "$(reboot)", "`id`", "host|cat", "a&b",
    "x>y", "h\nost", "example.com\n", "127.0.0.1\n", "fe80::1%eth0;reboot", "fe80::1%-c 1",
    "1.2.3.999", "256.1.1.1", "1.2.3", "a..b", ".example", "exa_mple.com", "host-.example",
    "a" * 64 + ".example", ("a" * 62 + ".") * 4 + "example", "", None, 127, "\u00fcber.example",
], ids=lambda h: repr(h)[:30])
def test_hosts_that_could_be_flags_or_shell_text_are_rejected(host):
    assert not is_valid_host(host)


# --- every validation error, parametrised ----------------------------------------------------

INVALID = [
    # (what is changed, the value, text the error must contain)
    ("servers[2].ip", "8.8.8.8; reboot", 'servers[2].ip: "8.8.8.8; reboot" is not an IP address or host name'),
    ("servers[0].ip", "-c1", 'servers[0].ip: "-c1" is not an IP address or host name'),
    ("servers[0].ip", "--flood", 'servers[0].ip: "--flood" is not an IP address or host name'),
    ("servers[1].ip", "host name", 'servers[1].ip: "host name" is not an IP address or host name'),
    ("servers[1].ip", "$(reboot)", 'servers[1].ip: "$(reboot)" is not an IP address or host name'),
    ("servers[1].ip", "example.com\n", 'servers[1].ip: "example.com\\n" is not an IP address or host name'),
    ("servers[1].ip", "fe80::1%x;id", 'servers[1].ip: "fe80::1%x;id" is not an IP address or host name'),
    ("servers[3].ip", "300.1.1.1", 'servers[3].ip: "300.1.1.1" is not an IP address or host name'),
    ("servers[0].ip", "", 'servers[0].ip: "" must be a non-empty string'),
    ("servers[0].ip", 12, "servers[0].ip: 12 must be a non-empty string"),
    ("servers[0].partner", " ", 'servers[0].partner: " " must be a non-empty string'),
    ("servers[0].country", None, "servers[0].country: null must be a non-empty string"),
    ("servers[0].dn_ext", 5, "servers[0].dn_ext: 5 must be a string"),
    ("servers[0].probe", "nmap", 'servers[0].probe: "nmap" is not one of auto, ping, fping, tcp'),
    ("servers[0].port", 0, "servers[0].port: 0 must be a whole number from 1 to 65535"),
    ("servers[0].port", 65536, "servers[0].port: 65536 must be a whole number from 1 to 65535"),
    ("servers[0].port", "5060", 'servers[0].port: "5060" must be a whole number from 1 to 65535'),
    ("servers[0].port", True, "servers[0].port: true must be a whole number from 1 to 65535"),
    ("servers[1]", "127.0.0.9", "servers[1]: must be an object with partner, country, ip, dn_ext"),
    ("servers", {"ip": "127.0.0.1"}, "servers: must be a list of server objects"),
    ("probe", "icmp", 'probe: "icmp" is not one of auto, ping, fping, tcp'),
    ("ping_count", 0, "ping_count: 0 must be a positive whole number"),
    ("ping_count", -4, "ping_count: -4 must be a positive whole number"),
    ("ping_count", 2.5, "ping_count: 2.5 must be a positive whole number"),
    ("ping_count", "4", 'ping_count: "4" must be a positive whole number'),
    ("ping_count", True, "ping_count: true must be a positive whole number"),
    ("ping_timeout", 0, "ping_timeout: 0 must be a positive number"),
    ("ping_timeout", -1.5, "ping_timeout: -1.5 must be a positive number"),
    ("interval_seconds", 0, "interval_seconds: 0 must be a positive number"),
    ("interval_seconds", -60, "interval_seconds: -60 must be a positive number"),
    ("interval_seconds", math.inf, "interval_seconds: Infinity must be a positive number"),
    ("interval_seconds", math.nan, "interval_seconds: NaN must be a positive number"),
    ("stale_after_seconds", 0, "stale_after_seconds: 0 must be a positive number"),
    ("max_concurrent_probes", 0, "max_concurrent_probes: 0 must be a positive whole number"),
    ("latency_thresholds.good", 50, "latency_thresholds.good: 50 must be greater than "
                                    "latency_thresholds.excellent (50); thresholds must be strictly increasing"),
    ("latency_thresholds.poor", 120, "latency_thresholds.poor: 120 must be greater than latency_thresholds.fair (150)"),
    ("latency_thresholds.excellent", 0, "latency_thresholds.excellent: 0 must be a positive number of ms"),
    ("latency_thresholds.fair", "150", 'latency_thresholds.fair: "150" must be a positive number of ms'),
    ("latency_thresholds.critical", math.nan, "latency_thresholds.critical: NaN must be a positive number of ms"),
    ("latency_thresholds", [50, 100], "latency_thresholds: must be an object with excellent, good, fair, poor"),
    ("unix_params.count_param", "-c; reboot", 'unix_params.count_param: "-c; reboot" must be a single ping flag'),
    ("windows_params.timeout_param", "w", 'windows_params.timeout_param: "w" must be a single ping flag'),
    ("unix_params", "-c", "unix_params: must be an object with count_param and timeout_param"),
    ("database_path", "", 'database_path: "" must be a non-empty string'),
    ("database_url", 5, "database_url: 5 must be a non-empty string"),
    ("log_file", ["a"], 'log_file: ["a"] must be a non-empty string'),
    ("collector_name", " ", 'collector_name: " " must be a non-empty string'),
    ("alert_conditions", 5, "alert_conditions: must be an object with any of max_packet_loss, critical_packet_loss"),
    ("alert_conditions", {"max_packet_loss": -1}, "alert_conditions.max_packet_loss: -1 must be a number from 0 to 100"),
    ("alert_conditions", {"max_packet_loss": 101}, "alert_conditions.max_packet_loss: 101 must be a number from 0 to"),
    ("alert_conditions", {"max_jitter": "30"}, 'alert_conditions.max_jitter: "30" must be a number of at least 0'),
]


@pytest.mark.parametrize("path, value, message", INVALID, ids=[f"{p}={v!r}" for p, v, _ in INVALID])
def test_each_invalid_value_is_named_by_its_key_path(tmp_path, path, value, message):
    data = set_path(make_config_dict(tmp_path), path, value)
    errors = errors_of(data)
    assert any(message in line for line in errors), errors
    assert len(errors) == 1, errors


MISSING = [
    ("database_path", "database_path: required key is missing"),
    ("servers", "servers: required key is missing"),
    ("ping_count", "ping_count: required key is missing"),
    ("ping_timeout", "ping_timeout: required key is missing"),
    ("latency_thresholds", "latency_thresholds: required key is missing"),
    ("latency_thresholds.poor", "latency_thresholds.poor: required key is missing"),
    ("servers[0].partner", "servers[0].partner: required key is missing"),
    ("servers[1].country", "servers[1].country: required key is missing"),
    ("servers[3].ip", "servers[3].ip: required key is missing"),
]


@pytest.mark.parametrize("path, message", MISSING, ids=[p for p, _ in MISSING])
def test_each_missing_required_key_is_named(tmp_path, path, message):
    errors = errors_of(del_path(make_config_dict(tmp_path), path))
    assert errors == [message]


def test_required_settings_are_exactly_those_reported_missing():
    errors = errors_of({})
    assert sorted(errors) == sorted(f"{s.name}: required key is missing" for s in SETTINGS if s.required)


@pytest.mark.parametrize("top", [[], "config", 3, None])
def test_top_level_must_be_an_object(top):
    assert errors_of(top) == ["<dict>: the top level must be a JSON object"]


DUPLICATES = [
    ("same address", [{"ip": "127.0.0.3"}, {"ip": "127.0.0.3"}], "servers[1]: duplicate of servers[0] (127.0.0.3)"),
    ("name case", [{"ip": "SIP.example.com"}, {"ip": "sip.example.com"}],
     "servers[1]: duplicate of servers[0] (sip.example.com)"),
    ("ipv6 spelling", [{"ip": "::1"}, {"ip": "0:0:0:0:0:0:0:1"}], "servers[1]: duplicate of servers[0] (::1)"),
    ("ping and fping", [{"ip": "10.1.1.1", "probe": "ping"}, {"ip": "10.1.1.1", "probe": "fping"}],
     "servers[1]: duplicate of servers[0] (10.1.1.1)"),
    ("tcp same port", [{"ip": "10.1.1.1", "probe": "tcp", "port": 5060}, {"ip": "10.1.1.1", "probe": "tcp", "port": 5060}],
     "servers[1]: duplicate of servers[0] (10.1.1.1:5060)"),
]


@pytest.mark.parametrize("servers, message", [d[1:] for d in DUPLICATES], ids=[d[0] for d in DUPLICATES])
def test_duplicate_servers_are_rejected(tmp_path, servers, message):
    data = make_config_dict(tmp_path, servers=[dict(partner="P", country="C", **s) for s in servers])
    assert errors_of(data) == [message]


@pytest.mark.parametrize("servers, default_probe", [
    ([{"ip": "10.1.1.1", "probe": "tcp", "port": 5060}, {"ip": "10.1.1.1", "probe": "tcp", "port": 5061}], "auto"),
    ([{"ip": "10.1.1.1", "port": 5060}, {"ip": "10.1.1.1", "port": 5061}], "tcp"),  # tcp inherited from the top
    ([{"ip": "10.1.1.1"}, {"ip": "10.1.1.1", "probe": "tcp", "port": 5060}], "ping"),
])
def test_same_host_on_different_ports_or_probes_is_not_a_duplicate(tmp_path, servers, default_probe):
    data = make_config_dict(tmp_path, probe=default_probe,
                            servers=[dict(partner="P", country="C", **s) for s in servers])
    ids = [s.id for s in validate_config(data).servers]
    assert len(set(ids)) == len(ids) == 2


def test_every_problem_is_reported_at_once_one_line_each(tmp_path):
    data = make_config_dict(tmp_path, ping_count=0, probe="x")
    data["servers"][2]["ip"] = "8.8.8.8; reboot"
    data["latency_thresholds"]["fair"] = 90
    del data["ping_timeout"]
    errors = errors_of(data)
    assert len(errors) == 5
    assert sorted(e.split(":")[0] for e in errors) == sorted(
        ["ping_timeout", "ping_count", "probe", "latency_thresholds.fair", "servers[2].ip"])


# --- files ------------------------------------------------------------------------------------

def test_load_config_reads_a_valid_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(make_config_dict(tmp_path)))
    config = load_config(path)
    assert config.source == str(path) and len(config.servers) == 4


@pytest.mark.parametrize("text, line, column", [
    ('{\n  "ping_count": 4,\n  oops\n}', 3, 3),                    # 'oops' starts at line 3, column 3
    ('{\n  "ping_count": 4,\n}', 3, 1),                            # trailing comma: '}' at line 3, column 1
    ('{"servers": [\n    {"ip": "127.0.0.1"\n  ]}', 3, 3),          # missing '}' : ']' at line 3, column 3
    ("", 1, 1),
])
def test_a_file_that_is_not_json_names_line_and_column(tmp_path, text, line, column):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: not valid JSON: ")
    assert message.endswith(f"at line {line} column {column}")
    assert "\n" not in message


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"servers": [{"partner": "Télécom"}]}'.encode("latin-1"))
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(path)


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.json")


def test_nan_in_a_file_is_rejected(tmp_path):
    data = make_config_dict(tmp_path)
    text = json.dumps(data).replace('"ping_timeout": 1', '"ping_timeout": NaN')
    assert "NaN" in text
    path = tmp_path / "nan.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match="ping_timeout: NaN must be a positive number"):
        load_config(path)


# --- the database location ---------------------------------------------------------------------

def test_database_path_is_relative_to_base_dir_and_url_overrides_it(tmp_path):
    config = validate_config(make_config_dict(tmp_path, database_path="data/monitor.db"))
    assert make_url(config.database_target(tmp_path)).database == str(tmp_path / "data" / "monitor.db")
    assert make_url(config.database_target()).database == "data/monitor.db"
    other = validate_config(make_config_dict(tmp_path, database_url="postgresql://u@db/monitor"))
    assert other.database_target(tmp_path) == "postgresql://u@db/monitor"


@pytest.mark.parametrize("name", ["a#b", "a?b", "a%20b", "a b"])
def test_database_path_with_url_characters_survives(tmp_path, name):
    path = tmp_path / name / "monitor.db"
    config = validate_config(make_config_dict(tmp_path, database_path=str(path)))
    assert make_url(config.database_target()).database == str(path)


@pytest.mark.parametrize("key, value, message", [
    ("alert_conditions", {"rounds_to_open": 0}, "alert_conditions.rounds_to_open: 0 must be a whole number of at least 1"),
    ("alert_conditions", {"rounds_to_resolve": 1.5}, "alert_conditions.rounds_to_resolve: 1.5 must be a whole number"),
    ("alert_conditions", {"min_mos": 5}, "alert_conditions.min_mos: 5 must be a number from 1 to 4.5"),
    ("alert_conditions", {"critical_packet_loss": 120}, "alert_conditions.critical_packet_loss: 120 must be a number"),
    ("alert_conditions", {"max_lose": 3}, "alert_conditions.max_lose: unknown key"),
    ("control_targets", "10.0.0.1", "control_targets: must be a list"),
    ("control_targets", ["gw.example", "-c 9"], 'control_targets[1]: "-c 9" is not an IP address or host name'),
    ("notifications", [{"url": "nonsense"}], "notifications[0].url: must be an Apprise URL"),
    ("notifications", [{"url": "json://127.0.0.1/x", "min_severity": "info"}],
     'notifications[0].min_severity: "info" must be warning or critical'),
    ("interval_second", 30, "interval_second: unknown key (did you mean interval_seconds?)"),
    ("public_url", "", 'public_url: "" must be a non-empty string'),
])
def test_alerting_keys_and_typos_are_validated(tmp_path, key, value, message):
    from settings import ConfigError, validate_config
    from tests.conftest import make_config_dict
    data = make_config_dict(tmp_path, **{key: value})
    with pytest.raises(ConfigError) as excinfo:
        validate_config(data)
    assert any(line.startswith(message) for line in str(excinfo.value).splitlines()), str(excinfo.value)


def test_alert_conditions_subset_keeps_other_defaults(tmp_path):
    from settings import validate_config
    from tests.conftest import make_config_dict
    config = validate_config(make_config_dict(tmp_path, alert_conditions={"max_jitter": 12}))
    assert config.alert_conditions.max_jitter == 12
    assert config.alert_conditions.rounds_to_open == 2 and config.alert_conditions.max_packet_loss == 1
