"""Zooming the overview's time series in a real browser: a zoom on one graph re-queries the visible window
in finer buckets for all three, without a callback loop; auto-refresh keeps the zoom and its fine data; a
double-click (autorange) goes back to the whole window."""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from layouts import ids
from storage import open_writer
from common.timeutil import utcnow
from tests.seeding import seed_history
from tests.helpers.browser import CARD, trace_names, x_range
from tests.helpers.waiting import wait_for

Select = pytest.importorskip("selenium.webdriver.support.ui").Select

GRAPH = "document.querySelector(arguments[0] + ' .js-plotly-plot')"
# Logs which outputs each callback request asks for, and counts each graph's redraws.
INSTRUMENT = """
window.__outputs = [];
var original = window.fetch;
window.fetch = function (url, options) {
    if (String(url).indexOf('_dash-update-component') >= 0 && options && options.body) {
        try { window.__outputs.push(JSON.parse(options.body).output); } catch (e) { /* not JSON */ }
    }
    return original.apply(this, arguments);
};
window.__redraws = {};
document.querySelectorAll('.js-plotly-plot').forEach(function (g) {
    var id = g.parentElement.id || g.closest('[id]').id;
    window.__redraws[id] = 0;
    g.on('plotly_afterplot', function () { window.__redraws[id] += 1; });
});
"""


def first_trace_x(dash_duo, graph_id: str) -> list[str]:
    """The x values of a graph's first trace (the first series line, or the loss heatmap's columns)."""
    return dash_duo.driver.execute_script(
        f"var g = {GRAPH}; return g && g.data && g.data.length ? Array.from(g.data[0].x || []) : [];",
        f"#{graph_id}") or []


def first_trace_y(dash_duo, graph_id: str) -> list:
    """The y values of a graph's first trace as drawn."""
    return dash_duo.driver.execute_script(
        f"var g = {GRAPH}; return Array.from(g._fullData[0].y || []).map(v => v === null ? null : +v);",
        f"#{graph_id}")


def times(values: list) -> list[datetime]:
    """Plotly's date strings (null for the gaps) as datetimes."""
    return [datetime.fromisoformat(str(v)[:19].replace(" ", "T")) for v in values if v is not None]


def step_seconds(dash_duo, graph_id: str) -> float | None:
    """The smallest x step of a graph's first trace, in seconds."""
    xs = sorted(set(times(first_trace_x(dash_duo, graph_id))))
    steps = [(b - a).total_seconds() for a, b in zip(xs, xs[1:])]
    return min(steps) if steps else None


def axis_note(dash_duo, graph_id: str) -> str:
    """The small note under a graph's time axis (the bucket size)."""
    return dash_duo.driver.execute_script(
        f"var g = {GRAPH}; var t = g && g.layout && g.layout.xaxis && g.layout.xaxis.title;"
        "return t ? (t.text || '') : '';", f"#{graph_id}") or ""


def relayout(dash_duo, graph_id: str, update: dict) -> None:
    """What a box zoom, an axis drag or a double-click does: Plotly.relayout on the graph."""
    dash_duo.driver.execute_script(f"Plotly.relayout({GRAPH}, arguments[1]);", f"#{graph_id}", update)


def requests_for(dash_duo, output_id: str) -> int:
    """How many callback requests since INSTRUMENT asked for an output of this component."""
    return dash_duo.driver.execute_script(
        "return window.__outputs.filter(o => o.indexOf(arguments[0]) >= 0).length;", output_id)


def redraws(dash_duo, graph_id: str) -> int:
    """How many times a graph was drawn since INSTRUMENT."""
    return dash_duo.driver.execute_script("return window.__redraws[arguments[0]] || 0;", graph_id)


def quiet(dash_duo, output_id: str, seconds: float = 2.5) -> int:
    """The request count for an output once it has not grown for `seconds`."""
    def stable():
        before = requests_for(dash_duo, output_id)
        time.sleep(seconds)
        return before if requests_for(dash_duo, output_id) == before else None
    return wait_for(stable, timeout=30, what=f"requests for {output_id} to stop")


def assert_zoomed(dash_duo, graph_id: str, start: datetime, end: datetime) -> None:
    """The graph shows [start, end] in 5-minute buckets (the demo's interval; 1-minute ones would only
    leave empty cells): points at most 5 minutes apart, all inside."""
    assert axis_note(dash_duo, graph_id).startswith("5-min buckets · zoomed in"), graph_id
    assert step_seconds(dash_duo, graph_id) <= 300, graph_id
    xs = times(first_trace_x(dash_duo, graph_id))
    assert xs and min(xs) >= start - timedelta(minutes=5) and max(xs) <= end, graph_id
    shown = times(x_range(dash_duo, graph_id))
    assert abs((shown[0] - start).total_seconds()) <= 1 and abs((shown[1] - end).total_seconds()) <= 1, graph_id


def test_zooming_refines_all_three_graphs_survives_refresh_and_resets(dash_duo, demo_app, demo):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    dash_duo.driver.get(dash_duo.server_url + "/?range=7d")
    wait_for(lambda: len(trace_names(dash_duo, ids.LATENCY_GRAPH)) == 6, what="six countries")
    assert wait_for(lambda: step_seconds(dash_duo, ids.LATENCY_GRAPH), what="a line") == 900
    assert axis_note(dash_duo, ids.LATENCY_GRAPH).split(" · times ")[0] == "15-min buckets"  # then the zone shown
    dash_duo.driver.execute_script(INSTRUMENT)
    # Two hours a day ago (clear of the demo's collector outage 7-9 h ago), on the latency graph only.
    end = (utcnow() - timedelta(days=1)).replace(microsecond=0)
    start = end - timedelta(hours=2)
    relayout(dash_duo, ids.LATENCY_GRAPH, {"xaxis.range": [str(start), str(end)]})
    for graph in (ids.LATENCY_GRAPH, ids.LOSS_GRAPH, ids.JITTER_GRAPH):
        wait_for(lambda: axis_note(dash_duo, graph).startswith("5-min"), what=f"{graph} refined")
        assert_zoomed(dash_duo, graph, start, end)
    # Drawing the zoomed figures does not zoom again (no relayoutData loop): one zoom, one store update.
    assert quiet(dash_duo, ids.SERIES_ZOOM) == 1
    # Auto-refresh with a new round inside the zoom redraws it, still zoomed and fine.
    drawn, before = redraws(dash_duo, ids.LATENCY_GRAPH), first_trace_y(dash_duo, ids.LATENCY_GRAPH)
    writer = open_writer(demo.database_target())
    try:
        seed_history(writer, demo, start + timedelta(minutes=62, seconds=30), rounds=1)
    finally:
        writer.engine.dispose()
    Select(dash_duo.find_element(f"#{ids.REFRESH_SELECT}")).select_by_value("10")
    wait_for(lambda: redraws(dash_duo, ids.LATENCY_GRAPH) > drawn, timeout=30, what="a refresh")
    assert_zoomed(dash_duo, ids.LATENCY_GRAPH, start, end)
    assert first_trace_y(dash_duo, ids.LATENCY_GRAPH) != before  # the new round moved its bucket's mean
    assert requests_for(dash_duo, ids.SERIES_ZOOM) == 1
    # A double-click on another graph: back to the whole week in 15-minute buckets on all three.
    relayout(dash_duo, ids.JITTER_GRAPH, {"xaxis.autorange": True})
    wait_for(lambda: step_seconds(dash_duo, ids.LATENCY_GRAPH) == 900, what="15-minute buckets again")
    wait_for(lambda: axis_note(dash_duo, ids.LOSS_GRAPH).split(" · times ")[0] == "15-min buckets", what="the loss note")
    span = times(x_range(dash_duo, ids.LATENCY_GRAPH))
    assert abs((span[1] - span[0]).total_seconds() - 7 * 86400) < 600
    assert dash_duo.get_logs() == [], dash_duo.get_logs()
