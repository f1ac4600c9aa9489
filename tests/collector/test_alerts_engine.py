"""The pure alert evaluator: conditions from the config, open/escalate/resolve timing, flapping, control targets."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from collector.alerts import AlertEngine, rules_from_config, severity_rank
from settings import validate_config
from collector.measure import Measurement, measure
from collector.probes.base import ProbeResult
from tests.conftest import make_config_dict
from tests.helpers.alerts import BAD_PROBES, GOOD_PROBE, measured, replies, silent

T0 = datetime(2026, 3, 1, 12, 0, 0)


# -- measurement builders shared by the alert test modules ---------------------------------------------------
def round_of(config, bad: dict[int, ProbeResult] | None = None) -> dict:
    """A round_measurements mapping: every server good except the indexes given in `bad`."""
    bad = bad or {}
    return {s.id: (s, measured(config, bad.get(i, GOOD_PROBE))) for i, s in enumerate(config.servers)}


@pytest.fixture
def engine(config) -> AlertEngine:
    """An engine with the default conditions, 2 rounds to open and 2 to resolve."""
    return AlertEngine(rules_from_config(config), 2, 2, collector="test")


def run(engine: AlertEngine, config, plan: list[ProbeResult], server: int = 0, start: int = 0) -> list:
    """Feed one server's probes round by round (others good); returns every event."""
    events = []
    for i, probe in enumerate(plan, start=start):
        events += engine.evaluate(round_of(config, {server: probe}), T0 + timedelta(minutes=i))
    return events


# -- conditions from the config ---------------------------------------------------------------------------------
def test_default_rules_take_their_limits_from_the_config(config):
    rules = {r.kind: r for r in rules_from_config(config)}
    assert set(rules) == {"down", "latency", "loss", "jitter"}
    assert (rules["latency"].warning, rules["latency"].critical) == (config.thresholds["fair"],
                                                                     config.thresholds["critical"])
    assert (rules["loss"].warning, rules["loss"].critical) == (1.0, 10.0)
    assert (rules["jitter"].warning, rules["jitter"].critical) == (30.0, None)


def test_alert_conditions_override_the_defaults(tmp_path):
    limits = {"max_packet_loss": 2, "critical_packet_loss": 5, "max_jitter": 12, "min_mos": 3.9}
    config = validate_config(make_config_dict(tmp_path, alert_conditions=limits))
    rules = {r.kind: r for r in rules_from_config(config)}
    assert (rules["loss"].warning, rules["loss"].critical, rules["jitter"].warning) == (2.0, 5.0, 12.0)
    assert rules["mos"].warning == 3.9 and rules["mos"].below


@pytest.mark.parametrize("name", sorted(BAD_PROBES))
def test_each_bad_probe_trips_exactly_its_own_condition(config, name):
    probe, kind, severity = BAD_PROBES[name]
    m = measured(config, probe)
    tripped = {r.kind: r.severity(v) for r in rules_from_config(config) if (v := r.value(m)) is not None}
    assert {k: s for k, s in tripped.items() if s} == {kind: severity}


# -- life cycle ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(BAD_PROBES))
def test_two_bad_rounds_open_one_alert_and_two_good_rounds_resolve_it(engine, config, name):
    probe, kind, severity = BAD_PROBES[name]
    first = run(engine, config, [probe])
    opened = run(engine, config, [probe, probe], start=1)
    assert first == []
    assert [(e.action, e.kind, e.severity, e.server_id) for e in opened] == \
        [("open", kind, severity, config.servers[0].id)]
    one_good = run(engine, config, [GOOD_PROBE], start=3)
    resolved = run(engine, config, [GOOD_PROBE], start=4)
    assert one_good == []
    assert [(e.action, e.kind) for e in resolved] == [("resolve", kind)]


def test_alert_started_at_is_the_first_bad_round(engine, config):
    events = run(engine, config, [replies(200, 200), replies(200, 200)])
    assert events[0].started_at == T0 and events[0].at == T0 + timedelta(minutes=1)


def test_probe_error_is_named_in_the_down_message(engine, config):
    probe = BAD_PROBES["unknown host"][0]
    (event,) = run(engine, config, [probe, probe])
    assert "Name or service not known" in event.message and config.servers[0].id in event.message


def test_flapping_server_opens_nothing(engine, config):
    probe = BAD_PROBES["very slow"][0]
    assert run(engine, config, [probe, GOOD_PROBE] * 5) == []


def test_rounds_to_open_and_resolve_are_honoured(config):
    engine = AlertEngine(rules_from_config(config), rounds_to_open=3, rounds_to_resolve=1)
    slow = BAD_PROBES["slow"][0]
    assert run(engine, config, [slow, slow]) == []
    assert [e.action for e in run(engine, config, [slow, GOOD_PROBE], start=2)] == ["open", "resolve"]


def test_a_bad_round_restarts_the_count_to_resolve(engine, config):
    slow = BAD_PROBES["slow"][0]
    run(engine, config, [slow, slow])
    assert run(engine, config, [GOOD_PROBE, slow, GOOD_PROBE], start=2) == []
    assert [e.action for e in run(engine, config, [GOOD_PROBE], start=5)] == ["resolve"]


def test_severity_rises_on_the_open_alert_and_peak_follows_the_worst_value(engine, config):
    opened = run(engine, config, [replies(200, 200), replies(250, 250)])
    escalated = run(engine, config, [replies(600, 600)], start=2)
    worse = run(engine, config, [replies(700, 700)], start=3)
    better = run(engine, config, [replies(550, 550), replies(200, 200)], start=4)
    assert [(e.action, e.severity, e.peak) for e in opened] == [("open", "warning", 250.0)]
    assert [(e.action, e.severity, e.previous_severity, e.peak) for e in escalated] == \
        [("escalate", "critical", "warning", 600.0)]
    assert [(e.action, e.severity, e.peak) for e in worse] == [("update", "critical", 700.0)]
    assert better == []  # severity never drops while open, and a better value is not news


def test_open_takes_the_worst_severity_of_the_streak(engine, config):
    (event,) = run(engine, config, [replies(600, 600), replies(200, 200)])
    assert (event.severity, event.peak) == ("critical", 600.0)


def test_low_mos_alert_keeps_the_lowest_mos_as_peak(tmp_path, config):
    # Latency just under 'fair', no loss, no jitter: only the MOS condition can trip.
    good, low, lower = (replies(20, 20, 20, 20), replies(140, 140, 140, 140), replies(145, 145, 145, 145))
    probe_mos = {name: measured(config, p).mos for name, p in (("good", good), ("low", low), ("lower", lower))}
    assert probe_mos["lower"] < probe_mos["low"] < probe_mos["good"]
    limit = (probe_mos["low"] + probe_mos["good"]) / 2
    config = validate_config(make_config_dict(tmp_path, alert_conditions={"min_mos": limit}))
    engine = AlertEngine(rules_from_config(config), 2, 2)
    events = run(engine, config, [lower, low])
    assert [(e.action, e.kind, e.severity, e.peak) for e in events] == \
        [("open", "mos", "warning", probe_mos["lower"])]


def test_rounds_without_a_value_neither_open_nor_resolve(engine, config):
    slow, down = BAD_PROBES["slow"][0], silent()
    run(engine, config, [slow, slow])
    during = run(engine, config, [down, down, down], start=2)
    assert [(e.action, e.kind) for e in during] == [("open", "down")]  # the latency alert stays open
    after = run(engine, config, [GOOD_PROBE, GOOD_PROBE], start=5)
    assert sorted((e.action, e.kind) for e in after) == [("resolve", "down"), ("resolve", "latency")]


def test_severity_rank_orders_severities():
    assert severity_rank(None) < severity_rank("warning") < severity_rank("critical")


# -- control targets -----------------------------------------------------------------------------------------------
def control(config, ok: bool) -> Measurement:
    """A control target's measurement: answered or not."""
    return measured(config, GOOD_PROBE if ok else silent())


def test_all_controls_failing_hold_partner_alerts_and_open_one_connectivity_alert(engine, config):
    everyone_down = {i: silent() for i in range(len(config.servers))}
    events = []
    for i in range(3):
        events += engine.evaluate(round_of(config, everyone_down), T0 + timedelta(minutes=i),
                                  controls=[control(config, False), control(config, False)])
    assert [(e.action, e.kind, e.server_id, e.severity) for e in events] == \
        [("open", "connectivity", None, "critical")]
    assert "all 2 failed" in events[0].message


def test_connectivity_resolves_after_control_targets_answer_again(engine, config):
    fail, ok = [control(config, False)], [control(config, True)]
    for i in range(2):
        engine.evaluate(round_of(config), T0 + timedelta(minutes=i), controls=fail)
    back = [engine.evaluate(round_of(config), T0 + timedelta(minutes=i), controls=ok) for i in (2, 3)]
    assert back[0] == [] and [(e.action, e.kind) for e in back[1]] == [("resolve", "connectivity")]


def test_a_held_round_does_not_count_for_partners(engine, config):
    slow = {0: BAD_PROBES["very slow"][0]}
    fail, ok = [control(config, False)], [control(config, True)]
    before = engine.evaluate(round_of(config, slow), T0, controls=ok)
    held = engine.evaluate(round_of(config, slow), T0 + timedelta(minutes=1), controls=fail)
    after = engine.evaluate(round_of(config, slow), T0 + timedelta(minutes=2), controls=ok)
    assert before == [] and held == []
    assert [(e.action, e.kind) for e in after] == [("open", "latency")]


def test_one_control_answering_is_enough_to_trust_the_round(engine, config):
    down = {0: silent()}
    controls = [control(config, False), control(config, True)]
    events = [e for i in range(2)
              for e in engine.evaluate(round_of(config, down), T0 + timedelta(minutes=i), controls=controls)]
    assert [(e.action, e.kind) for e in events] == [("open", "down")]


# -- state handling ------------------------------------------------------------------------------------------------
def test_rollback_returns_to_the_snapshot(engine, config):
    slow = BAD_PROBES["slow"][0]
    run(engine, config, [slow])
    snapshot = engine.snapshot()
    assert [e.action for e in run(engine, config, [slow], start=1)] == ["open"]
    engine.rollback(snapshot)
    assert engine.open_alerts() == {}
    assert [e.action for e in run(engine, config, [slow], start=1)] == ["open"]


def test_restored_alert_resolves_and_is_not_opened_again(engine, config):
    server = config.servers[0]
    engine.restore([{"server_id": server.id, "partner": server.partner, "country": server.country,
                     "kind": "latency", "severity": "warning", "peak": 210.0, "started_at": T0}])
    slow = BAD_PROBES["slow"][0]
    assert run(engine, config, [slow, slow]) == []
    resolved = run(engine, config, [GOOD_PROBE, GOOD_PROBE], start=2)
    assert [(e.action, e.kind, e.started_at, e.peak) for e in resolved] == [("resolve", "latency", T0, 210.0)]
