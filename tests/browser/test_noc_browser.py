"""Issue 16 in a real browser at 1600 px: the server page's log lines by server id, alerts on their own series, the
RTT spread opening on the servers in trouble, the dropdowns' states (and a country the config gains, without a
reload), folded routine log lines, and the export's confirmation."""
from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest

from figures.alerts import ALERT_TRACE
from layouts import ids
from storage import open_writer
from common.timeutil import utcnow
from tests.browser.demo_data import DOWN_SERVER, ROUTINE_RUN_NEWEST
from tests.helpers.browser import CARD
from tests.helpers.waiting import wait_for

By = pytest.importorskip("selenium.webdriver.common.by").By
Select = pytest.importorskip("selenium.webdriver.support.ui").Select
GRAPH = "document.querySelector(arguments[0] + ' .js-plotly-plot')"


def halos_now(dash_duo) -> list:
    """[series key, dash] of each alert halo the latency graph has drawn (meta: a halo trace's series keys)."""
    return dash_duo.driver.execute_script(
        f"var g = {GRAPH}; return g && g.data ? g.data.filter(t => t.name === arguments[1] && t.mode === 'lines')"
        ".flatMap(t => t.meta.map(k => [k, t.line.dash])) : [];", f"#{ids.LATENCY_GRAPH}", ALERT_TRACE)


def open_options(dash_duo, dropdown_id: str) -> dict[str, str]:
    """Open a dropdown and return each option's text by its first line (the name); closes it again."""
    dash_duo.find_element(f"#{dropdown_id}").click()
    options = wait_for(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, "[role=option]"),
                       what="the dropdown's options")
    texts = {o.text.split("\n")[0].strip(): " ".join(o.text.split()) for o in options}
    dash_duo.driver.find_element(By.TAG_NAME, "body").send_keys("\ue00c")  # Escape
    return texts


def test_a_servers_log_panel_lists_the_lines_about_it_not_those_naming_its_address(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.driver.get(f"{dash_duo.server_url}/server/{DOWN_SERVER}?range=24h")
    panel = dash_duo.wait_for_element(f"#{ids.SERVER_LOGS} .lm-log-entry", timeout=20)
    text = dash_duo.find_element(f"#{ids.SERVER_LOGS}").text
    assert f"alert opened: Down on Lagos Link Nigeria ({DOWN_SERVER})" in text, panel.text
    # The demo also logged "ping exited with code 2 for 10.30.4.21" (no server id): matching text showed it.
    assert "ping exited" not in text and "serving on" not in text
    assert dash_duo.get_logs() == [], dash_duo.get_logs()


def test_per_server_a_down_server_is_marked_on_its_own_line_and_the_spread_opens_on_it(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    # The RTT spread view starts with the servers in trouble: the down one first, not the first by name.
    chosen = wait_for(lambda: dash_duo.driver.execute_script(
        f"var g = {GRAPH}; return g && g.layout && g.layout.annotations ? "
        "g.layout.annotations.map(a => a.text).filter(t => t.indexOf(' · ') > 0) : null;", f"#{ids.SMOKE_GRAPH}"),
        what="the smoke view's rows")
    assert chosen[0] == f"Lagos Link · {DOWN_SERVER} (Nigeria)", chosen
    [b for b in dash_duo.find_elements(f"#{ids.GROUP_TOGGLE} label") if b.text == "Per server"][0].click()
    halos = wait_for(lambda: [h for h in halos_now(dash_duo) if h[0] == DOWN_SERVER] and halos_now(dash_duo),
                     what="halos per server")
    # The down server has no latency to draw: its halo bridges the missing line at its last level.
    assert [DOWN_SERVER, "dot"] in halos, halos
    full_height = dash_duo.driver.execute_script(
        f"var g = {GRAPH}; return (g.layout.shapes || []).filter(s => s.xref === 'x' && s.type === 'rect').length;",
        f"#{ids.LATENCY_GRAPH}")
    assert full_height == 0  # no server's alert shades the whole chart


def expected_labels(dash_app, column: str) -> dict[str, str]:
    """The option text each country or partner should read, from the app's own server status."""
    from callbacks.filter_states import filter_states
    rt = dash_app.runtime
    entries = filter_states(rt, utcnow())[0 if column == "country" else 1]
    words = {"down": "down", "degraded": "degraded", "stale": "stale"}
    return {name: " ".join([name] + [" · ".join(f"{counts[k]} {w}" for k, w in words.items() if counts.get(k))]).strip()
            for name, _, counts in entries}


def test_the_dropdowns_show_each_entrys_state(dash_duo, demo_app):
    dash_duo.start_server(demo_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    countries = wait_for(lambda: (lambda o: o if o.get("Nigeria") != "Nigeria" else None)(
        open_options(dash_duo, ids.COUNTRY)), what="state labels")
    # The demo's down and stale servers are fixed; the others' latest round varies with the time of day.
    assert countries["Nigeria"].startswith("Nigeria 1 down") and countries["South Africa"] == "South Africa 1 stale"
    assert countries == expected_labels(demo_app, "country")
    dash_duo.find_element(f"#{ids.COUNTRY}").click()
    states = wait_for(lambda: {o.text.split("\n")[0]: o.find_element(By.CSS_SELECTOR, ".lm-dot")
                                         .get_attribute("class") for o in
                                         dash_duo.driver.find_elements(By.CSS_SELECTOR, "[role=option]")},
                      what="the options' dots")
    assert states["Nigeria"] == "lm-dot lm-dot-down" and states["South Africa"] == "lm-dot lm-dot-stale"
    assert states["Morocco"] in ("lm-dot lm-dot-up", "lm-dot lm-dot-degraded")
    dash_duo.driver.find_element(By.TAG_NAME, "body").send_keys("\ue00c")
    partners = open_options(dash_duo, ids.PARTNER)
    assert partners["Lagos Link"].startswith("Lagos Link 1 down") and partners == expected_labels(demo_app, "partner")


@pytest.fixture
def file_app(demo):
    """The dashboard on the demo database from a config file, watching that file as `python app.py` does."""
    from app import create_app
    path = Path(demo.source)
    path.write_text(json.dumps(demo.raw), encoding="utf-8")
    dash_app = create_app(str(path), start_collector=False)
    dash_app.runtime.services.start_config_watcher(interval_seconds=0.3)
    yield dash_app, path
    dash_app.close()


def test_a_country_the_config_gains_appears_in_the_dropdown_without_a_reload(dash_duo, file_app):
    dash_app, path = file_app
    dash_duo.start_server(dash_app)
    dash_duo.wait_for_element(CARD, timeout=20)
    Select(dash_duo.find_element(f"#{ids.REFRESH_SELECT}")).select_by_value("10")
    assert "Togo" not in open_options(dash_duo, ids.COUNTRY)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["servers"].append({"partner": "Lome Voice", "country": "Togo", "ip": "10.80.1.1"})
    path.write_text(json.dumps(raw), encoding="utf-8")
    url = dash_duo.driver.current_url
    # The watcher reloads within a second; the dropdowns follow at the next 10 s refresh (slow on a busy machine).
    found = wait_for(lambda: time.sleep(2) or open_options(dash_duo, ids.COUNTRY).get("Togo"), timeout=120,
                     what="Togo in the countries dropdown")
    assert found == "Togo" and dash_duo.driver.current_url == url  # no reload, no navigation
    assert "Lome Voice" in open_options(dash_duo, ids.PARTNER)


def test_routine_lines_fold_into_one_and_the_export_says_how_many_rows_went_out(dash_duo, demo_app, demo):
    writer = open_writer(demo.database_target())
    now = utcnow().replace(microsecond=0)
    writer.write_logs([{"timestamp": now + timedelta(seconds=i), "level": "INFO", "module": "collector.service",
                        "message": f"round finished in 1.{i % 10} s: 9/9 servers answered, 0 with concerns",
                        "traceback": None, "collector": "demo"} for i in range(1, 31)])
    writer.engine.dispose()
    dash_duo.start_server(demo_app)
    folded = dash_duo.wait_for_element(f"#{ids.LOG_TABLE} .lm-log-folded", timeout=20)
    # The 30 written here and the demo's newest routine lines are one run: nothing else was logged between.
    count = 30 + ROUTINE_RUN_NEWEST
    assert folded.get_attribute("data-count") == str(count) and f"round finished × {count}" in folded.text
    dash_duo.driver.get(dash_duo.server_url + "/?country=Ghana&range=1h")
    dash_duo.wait_for_element(CARD, timeout=20)
    dash_duo.find_element(f"#{ids.EXPORT_BUTTON}").click()
    dash_duo.wait_for_element(f"#{ids.EXPORT_ALERT}.alert-success", timeout=20)
    text = wait_for(lambda: dash_duo.find_element(f"#{ids.EXPORT_ALERT}").text, what="its text")
    files = wait_for(lambda: list(Path(dash_duo.download_path).glob("*.csv")), what="the CSV")
    rows = files[0].read_text(encoding="utf-8").strip().count("\n")  # lines after the header
    assert rows > 0 and f"Exported {rows} rows to {files[0].name}" in text
    assert dash_duo.get_logs() == [], dash_duo.get_logs()
