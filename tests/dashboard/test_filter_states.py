"""The country and partner dropdowns show each entry's state (a coloured dot, how many servers are down or
degraded) and follow the running config, so a country the config gains appears without a reload."""
from __future__ import annotations

from dash import no_update

import callbacks.shell as shell_cb
from common.timeutil import utcnow
from layouts.filters import state_label
from tests.seeding import seed_history
from tests.helpers.alerts import GOOD_PROBE, replies, silent
from tests.helpers.dash_tree import text_of


def seed_trouble(config, writer) -> None:
    """127.0.0.1 and .2 (Kenya, Safari Voice) fine, .3 (Nigeria, Lagos Link) lossy, .4 (Egypt, Nile) down."""
    probes = {0: GOOD_PROBE, 1: GOOD_PROBE, 2: replies(20, 20, 20, sent=4), 3: silent()}
    seed_history(writer, config, utcnow(), rounds=2, interval_seconds=60, profile=lambda k, r: probes[k])


def options_by_value(options: list[dict]) -> dict:
    return {o["value"]: o for o in options}


def test_each_country_and_partner_shows_its_worst_state_and_the_count_in_trouble(config, writer, app):
    seed_trouble(config, writer)
    with app.server.test_request_context():
        countries, partners, sig = shell_cb.refresh_filter_options(0, None)
        countries, partners = options_by_value(countries), options_by_value(partners)
        assert {name: getattr(o["label"], "data-state") for name, o in countries.items()} == \
            {"Egypt": "down", "Kenya": "up", "Nigeria": "degraded"}
        assert text_of(countries["Egypt"]["label"]) == "Egypt 1 down"
        assert text_of(countries["Kenya"]["label"]) == "Kenya"  # all up: no count
        assert countries["Nigeria"]["search"] == "Nigeria"  # typing a name still finds it
        assert getattr(partners["Lagos Link"]["label"], "data-state") == "degraded"
        # Nothing changed: nothing is sent, so an open dropdown is left alone.
        assert shell_cb.refresh_filter_options(1, sig) == (no_update,) * 3


def test_a_country_added_to_the_running_config_is_offered_at_the_next_refresh(config, writer, app):
    with app.server.test_request_context():
        before, _, sig = shell_cb.refresh_filter_options(0, None)
        servers = [*config.raw["servers"], {"partner": "Accra Tel", "country": "Ghana", "ip": "127.0.0.9"}]
        app.runtime.services.reload(config.replace(servers=servers))
        after, partners, new_sig = shell_cb.refresh_filter_options(1, sig)
    assert "Ghana" not in options_by_value(before) and new_sig != sig
    assert getattr(options_by_value(after)["Ghana"]["label"], "data-state") == "unknown"  # no round yet
    assert "Accra Tel" in options_by_value(partners)


def test_several_states_are_counted_in_one_label():
    label = state_label("Nigeria", "down", {"down": 1, "degraded": 2, "up": 3})
    assert text_of(label) == "Nigeria 1 down · 2 degraded"
    assert label.children[0].className == "lm-dot lm-dot-down"
