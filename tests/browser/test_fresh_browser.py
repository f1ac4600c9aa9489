"""A fresh install in a real browser (1600 px): with minutes of data the page opens on 1 h, where they fill the
graphs; a wider range the user picks says on each graph when the data starts."""
from __future__ import annotations

import pytest

from common.timeutil import utcnow
from layouts import ids
from settings import validate_config
from storage import open_writer
from tests.browser.demo_data import demo_config_dict
from tests.helpers.browser import CARD, query_of, range_button, span_seconds, x_range
from tests.helpers.waiting import wait_for
from tests.seeding import seed_history

GRAPH = "document.querySelector(arguments[0] + ' .js-plotly-plot')"


@pytest.fixture
def fresh_app(tmp_path):
    """The dashboard on a database holding its first 6 minutes: a round a minute for the demo servers."""
    from app import create_app
    config = validate_config(demo_config_dict(tmp_path / "fresh.db", interval_seconds=60),
                             source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    times = seed_history(writer, config, utcnow().replace(microsecond=0), rounds=6, interval_seconds=60)
    writer.engine.dispose()
    dash_app = create_app(config, start_collector=False)
    yield dash_app, times[0]
    dash_app.close()


def axis_span(dash_duo, graph_id: str) -> float:
    """Seconds the graph's time axis spans; 0 until it is a date axis."""
    shown = x_range(dash_duo, graph_id)
    return span_seconds(shown) if shown and all(isinstance(v, str) for v in shown) else 0.0


def data_start_notes(dash_duo, graph_id: str) -> list[str]:
    return dash_duo.driver.execute_script(
        f"var g = {GRAPH}; return g && g.layout && g.layout.annotations ? "
        "g.layout.annotations.filter(a => a.name === 'data-start').map(a => a.text) : [];", f"#{graph_id}") or []


def test_a_fresh_install_opens_on_the_hour_and_names_where_data_starts_on_a_wider_range(dash_duo, fresh_app):
    dash_app, first_round = fresh_app
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    wait_for(lambda: query_of(dash_duo).get("range") == ["1h"], what="range=1h in the URL")
    assert dash_duo.find_element(f"#{ids.RANGE} label.active").text.replace(" ", "") == "1h"
    wait_for(lambda: abs(axis_span(dash_duo, ids.LATENCY_GRAPH) - 3600) < 120, what="a 1-hour axis")
    # The hour says where its data starts too (6 minutes of 60), in 1-minute buckets: the first round's minute.
    assert wait_for(lambda: data_start_notes(dash_duo, ids.LATENCY_GRAPH), what="the hour's note") == \
        [f"data starts {first_round:%H:%M}"]
    range_button(dash_duo, "24 h").click()
    wait_for(lambda: abs(axis_span(dash_duo, ids.LATENCY_GRAPH) - 86400) < 600, what="a 24-hour axis")
    notes = wait_for(lambda: data_start_notes(dash_duo, ids.LATENCY_GRAPH), what="the data-start note")
    bucket = first_round.replace(minute=first_round.minute - first_round.minute % 5, second=0)
    assert notes == [f"data starts {bucket:%H:%M}"]  # 24 h is drawn in 5-minute buckets: the first round's
    for graph in (ids.LOSS_GRAPH, ids.JITTER_GRAPH):
        assert wait_for(lambda: data_start_notes(dash_duo, graph), what=f"{graph}'s note") == notes
    assert query_of(dash_duo).get("range") == ["24h"]  # the user's choice stays
    assert dash_duo.get_logs() == [], dash_duo.get_logs()
