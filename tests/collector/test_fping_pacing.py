"""fping's -i / -p pacing comes from the config, and its defaults are the values fping.py used before."""
from __future__ import annotations

import subprocess

from collector.probes import fping as fping_module
from collector.probing import default_probe_factory
from settings import DEFAULTS, validate_config
from tests.conftest import make_config_dict


def _argv_of(config) -> list[str]:
    """The fping command line the config's probe runs (captured, not executed)."""
    seen = {}

    def run(argv, **kwargs):
        seen["argv"] = argv
        return subprocess.CompletedProcess(argv, 1, "", "")

    probe = default_probe_factory(config)("fping")
    probe._run = run
    probe.run([fping_module.Target("a", "127.0.0.1")] if hasattr(fping_module, "Target") else [])
    return seen["argv"]


def test_defaults_are_the_previous_pacing():
    assert DEFAULTS["fping_interval_ms"] == fping_module.DEFAULT_INTERVAL_MS
    assert DEFAULTS["fping_period_ms"] == fping_module.DEFAULT_PERIOD_MS


def test_configured_pacing_reaches_the_command_line(tmp_path):
    config = validate_config(make_config_dict(tmp_path, fping_interval_ms=0.5, fping_period_ms=25))
    argv = _argv_of(config)
    assert argv[argv.index("-i") + 1] == "0.5" and argv[argv.index("-p") + 1] == "25"


def test_bad_pacing_is_named(tmp_path):
    import pytest
    with pytest.raises(Exception, match="fping_period_ms"):
        validate_config(make_config_dict(tmp_path, fping_period_ms=0))
