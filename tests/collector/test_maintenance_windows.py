"""Maintenance windows as data: validation naming the key path, weekly occurrences across DST, spans per server."""
from __future__ import annotations

from datetime import datetime

import pytest

from queries.maintenance import maintenance_spans
from settings import ConfigError, validate_config
from storage.maintenance import add_window
from tests.conftest import make_config_dict

WEEKLY = {"partner": "Safari Voice", "comment": "patching",
          "weekly": {"day": "sunday", "start": "02:00", "duration_minutes": 120, "time_zone": "Europe/Berlin"}}


def test_weekly_windows_follow_the_zone_across_daylight_saving(tmp_path, writer):
    config = validate_config(make_config_dict(tmp_path, maintenance=[WEEKLY]))
    spans = maintenance_spans(config, writer.engine, datetime(2026, 10, 18), datetime(2026, 11, 2))
    first = [(s, e) for sid, s, e in spans if sid == "127.0.0.1"]
    # 02:00 Berlin is 00:00 UTC in summer (CEST) and 01:00 UTC in winter (CET). On 25 October 02:00 happens
    # twice (clocks go back at 03:00 CEST); the window starts at the first one.
    assert first == [(datetime(2026, 10, 18, 0), datetime(2026, 10, 18, 2)),
                     (datetime(2026, 10, 25, 0), datetime(2026, 10, 25, 2)),
                     (datetime(2026, 11, 1, 1), datetime(2026, 11, 1, 3))]
    assert {sid for sid, _s, _e in spans} == {"127.0.0.1", "127.0.0.2"}  # both Safari Voice servers


def test_config_and_api_windows_merge_per_server_and_clip_to_the_range(tmp_path, writer):
    once = {"server": "127.0.0.3", "start": "2026-11-01T10:00:00Z", "end": "2026-11-01T12:00:00Z"}
    config = validate_config(make_config_dict(tmp_path, maintenance=[once]))
    add_window(writer, {"country": "Nigeria", "start": "2026-11-01T11:00:00Z", "end": "2026-11-01T13:00:00Z"},
               "ops", datetime(2026, 10, 30))
    spans = maintenance_spans(config, writer.engine, datetime(2026, 11, 1, 10, 30), datetime(2026, 11, 1, 12, 30))
    assert spans == [("127.0.0.3", datetime(2026, 11, 1, 10, 30), datetime(2026, 11, 1, 12, 30))]


@pytest.mark.parametrize("entry, message", [
    ({"partner": "Safari Voice"}, "maintenance[0].start: required key is missing"),
    ({"server": "x", "start": "2026-11-01T10:00:00", "end": "2026-11-01T11:00:00Z"}, "maintenance[0].start"),
    ({"partner": "P", "weekly": {**WEEKLY["weekly"], "time_zone": "Mars/Olympus"}}, "maintenance[0].weekly.time_zone"),
    ({"partner": "P", "weekly": {**WEEKLY["weekly"], "day": "sun"}}, "maintenance[0].weekly.day"),
    ({"city": "Nairobi", "start": "2026-11-01T10:00:00Z", "end": "2026-11-01T11:00:00Z"}, "maintenance[0].city"),
])
def test_bad_windows_are_config_errors_naming_the_key(tmp_path, entry, message):
    with pytest.raises(ConfigError) as caught:
        validate_config(make_config_dict(tmp_path, maintenance=[entry]))
    assert message in str(caught.value)


@pytest.mark.parametrize("overrides, message", [
    ({"partners": {"Safari Voice": {"latency_thresholds": {"good": 10}}}}, "partners.Safari Voice.latency_thresholds.good"),
    ({"partners": {"Nobody": {}}}, "partners.Nobody: no server has this partner"),
    ({"partners": {"Safari Voice": {"alert_conditions": {"max_jitter": -1}}}},
     "partners.Safari Voice.alert_conditions.max_jitter"),
    ({"partners": {"Safari Voice": {"colour": "red"}}}, "partners.Safari Voice.colour: unknown key"),
])
def test_bad_overrides_name_the_key(tmp_path, overrides, message):
    with pytest.raises(ConfigError) as caught:
        validate_config(make_config_dict(tmp_path, **overrides))
    assert message in str(caught.value)


def test_a_server_override_wins_over_its_partner(tmp_path):
    data = make_config_dict(tmp_path, partners={"Safari Voice": {"alert_conditions": {"max_jitter": 60}}})
    data["servers"][1]["alert_conditions"] = {"max_jitter": 90}
    config = validate_config(data)
    assert [config.alert_conditions_for(s.id).max_jitter for s in config.servers] == [60, 90, 30, 30]


def test_the_latency_graph_shades_maintenance_of_the_shown_servers(tmp_path, writer, app):
    from callbacks.graphs import maintenance_of, shade_maintenance
    from queries.filters import Filters
    import plotly.graph_objects as go
    rt = app.server.extensions["latency_monitor"]
    add_window(writer, {"server": "127.0.0.3", "start": "2026-11-01T10:00:00Z", "end": "2026-11-01T11:00:00Z"},
               "ops", datetime(2026, 10, 30))
    window = dict(start=datetime(2026, 11, 1), end=datetime(2026, 11, 2))
    shown = Filters(countries=("Nigeria",), partners=(), servers=(), **window)
    latency, *_ = shade_maintenance((go.Figure(), go.Figure(), go.Figure()), maintenance_of(rt, shown)[0])
    assert [(s.name, str(s.x0), str(s.x1)) for s in latency.layout.shapes] == \
        [("maintenance", "2026-11-01 10:00:00", "2026-11-01 11:00:00")]
    kenya = Filters(countries=("Kenya",), partners=(), servers=(), **window)
    other, *_ = shade_maintenance((go.Figure(), go.Figure(), go.Figure()), maintenance_of(rt, kenya)[0])
    assert other.layout.shapes == ()
