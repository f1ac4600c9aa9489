"""The served plotly.js bundle in a real browser: it sets window.Plotly before dcc.Graph needs it and draws every
graph, and the page still has the regeneratorRuntime that app.py's dropped @babel/polyfill used to provide."""
from __future__ import annotations


import pytest

from layouts import ids
from tools.build_plotly_bundle import BUNDLE, VERSION
from tests.helpers.waiting import wait_for

pytest.importorskip("selenium")  # without dash[testing] the conftest marks these skipped anyway

# Per graph on the page: whether it has an svg, how many traces, and the types of those plotly.js could not draw.
# plotly.js draws a trace of a type it has no module for as a scatter (the default type), so such a trace shows up
# as one whose type in gd._fullData differs from the one the figure asked for.
GRAPHS_JS = """
return Array.from(document.querySelectorAll('.js-plotly-plot')).map(g => {
    const full = g._fullData || [];
    const asked = (g.data || []).map((t, i) => [t.type || 'scatter', (full.find(f => f.index === i) || {}).type]);
    return {
        id: g.parentElement.closest('[id]') ? g.parentElement.closest('[id]').id : '',
        svg: !!g.querySelector('svg.main-svg'),
        traces: full.length,
        undrawn: asked.filter(([want, got]) => want !== got).map(([want]) => want),
    };
});
"""
# Every script and fetch of the page that names plotly: only the vendored bundle, never Dash's own full copy.
PLOTLY_FETCHES_JS = """
return performance.getEntriesByType('resource').map(e => e.name).filter(n => n.toLowerCase().includes('plotly'));
"""


def drawn_graphs(dash_duo, graph_ids: list[str]) -> list[dict]:
    """The page's graphs once those with these ids have drawn traces into an svg."""
    def ready():
        graphs = dash_duo.driver.execute_script(GRAPHS_JS)
        by_id = {g["id"]: g for g in graphs}
        return graphs if all(by_id.get(i, {}).get("svg") and by_id[i]["traces"] for i in graph_ids) else None
    return wait_for(ready, what=f"graphs {graph_ids} drawn")


def severe_logs(dash_duo) -> list[dict]:
    """The browser console's errors since the last call."""
    return [entry for entry in dash_duo.get_logs() or [] if entry.get("level") == "SEVERE"]


def test_the_overview_draws_with_the_vendored_plotly_and_no_console_error(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    graphs = drawn_graphs(dash_duo, [ids.LATENCY_GRAPH, ids.JITTER_GRAPH, ids.LOSS_GRAPH])
    assert dash_duo.driver.execute_script("return typeof window.Plotly") == "object"
    assert dash_duo.driver.execute_script("return window.Plotly.version") == VERSION
    assert not [g for g in graphs if g["undrawn"]], graphs
    fetched = dash_duo.driver.execute_script(PLOTLY_FETCHES_JS)
    assert fetched and all(url.endswith("/" + BUNDLE.name) or f"/{BUNDLE.name}?" in url for url in fetched), fetched
    # Dash runs regeneratorRuntime once a lazily loaded component (dcc.Graph here) arrives; app.py drops
    # @babel/polyfill, so the dash-bootstrap-components bundle must still be what defines it.
    assert dash_duo.driver.execute_script("return typeof regeneratorRuntime") == "object"
    assert severe_logs(dash_duo) == []


def test_a_server_page_draws_its_history_and_histogram(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.driver.get(dash_duo.server_url + "/server/10.60.0.8")
    graphs = drawn_graphs(dash_duo, [ids.SERVER_HISTORY, ids.SERVER_DISTRIBUTION])
    assert not [g for g in graphs if g["undrawn"]], graphs
    assert severe_logs(dash_duo) == []
