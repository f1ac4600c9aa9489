"""Names with HTML or script in them are shown as text on every page and neutralised in every export.

Partner, country and server names come from config.json, which whoever edits it controls, so they are
untrusted. The dashboard is opened in headless Chromium: the names must appear literally, no element
may be injected, no script run and no alert open. The CSV exports (the API's streaming one and the
dashboard's button) must prefix a quote to cells a spreadsheet would run as a formula.
"""
from __future__ import annotations

import csv
import io
import threading
import time
from datetime import timedelta

import pytest

import callbacks.export as export_cb
from settings import validate_config
from settings.auth import SECRET_KEY_ENV, TOKEN_ENV
from storage import open_writer
from common.timeutil import utcnow
from tests.conftest import make_config_dict
from tests.helpers.browser import CHROMEDRIVER, CHROMIUM, browser_runnable
from tests.seeding import seed_history

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>window.__xss=1</script>"
SVG = '"><svg onload=alert(2)>'
FORMULA = '=HYPERLINK("http://attacker.example","x")'
SERVERS = [
    {"partner": IMG, "country": SCRIPT, "ip": "127.0.0.1", "dn_ext": "<b>bold</b>"},
    {"partner": SVG, "country": "Kenya", "ip": "127.0.0.2", "dn_ext": "sip.example"},
    {"partner": FORMULA, "country": "+cmd|' /C calc'!A0", "ip": "127.0.0.3", "dn_ext": "@SUM(1+1)"},
]
# Anything a successful injection would leave behind.
INJECTED = ("return [document.querySelectorAll('img[src=\"x\"]').length, document.querySelectorAll('svg[onload]')"
            ".length, document.querySelectorAll('b').length, window.__xss === undefined ? null : window.__xss,"
            " Array.from(document.scripts).filter(s => s.textContent.includes('__xss')).length]")


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    """A config of hostile names with a day of rounds and a log line that quotes one of them."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    config = validate_config(make_config_dict(tmp_path, servers=SERVERS), source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    end = utcnow().replace(microsecond=0)
    seed_history(writer, config, end, rounds=48, interval_seconds=300)
    writer.write_logs([{"timestamp": end - timedelta(seconds=5), "level": "WARNING", "module": "collector.alerts",
                        "message": f"alert opened: {IMG} {SCRIPT}", "traceback": None, "collector": "t"}])
    yield config
    writer.engine.dispose()


# -- exports (no browser needed) -------------------------------------------------------------------------

def csv_partners(text: str) -> dict[str, dict]:
    """The exported rows keyed by server_id."""
    return {row["server_id"]: row for row in csv.DictReader(io.StringIO(text))}


def assert_neutralised(rows: dict[str, dict]) -> None:
    """Formula-looking cells carry a leading quote; HTML stays as plain text."""
    assert rows["127.0.0.3"]["partner"] == "'" + FORMULA
    assert rows["127.0.0.3"]["country"] == "'+cmd|' /C calc'!A0"
    assert rows["127.0.0.3"]["dn_ext"] == "'@SUM(1+1)"
    assert rows["127.0.0.1"]["partner"] == IMG and rows["127.0.0.1"]["country"] == SCRIPT


def test_the_streaming_csv_export_neutralises_formulas(hostile):
    from app import create_app
    app = create_app(hostile, start_collector=False)
    response = app.server.test_client().get("/api/export-data?range=24h")
    assert response.status_code == 200
    assert_neutralised(csv_partners(response.get_data(as_text=True)))
    app.close()


def test_the_dashboard_export_button_neutralises_formulas(hostile):
    from app import create_app
    app = create_app(hostile, start_collector=False)
    with app.server.test_request_context():
        download, alert, is_open, color = export_cb.export_csv(1, "?range=24h", "/")
    assert is_open is True and color == "success"  # the confirmation of how many rows went out
    assert_neutralised(csv_partners(download["content"]))
    app.close()


# -- the pages, in a real browser ------------------------------------------------------------------------

needs_browser = pytest.mark.skipif(not browser_runnable(),
                                   reason=f"needs chromium at {CHROMIUM} and chromedriver at {CHROMEDRIVER} "
                                          "(apt-get install chromium chromium-driver, or set DASH_TEST_CHROMEPATH)")
# selenium 4.2 calls a urllib3 method deprecated since; noise unrelated to what is tested.
quiet_selenium = pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning")


@pytest.fixture
def served(hostile):
    """The dashboard on the hostile config, served by waitress on a free port."""
    from waitress import create_server

    from app import create_app
    app = create_app(hostile, start_collector=False)
    server = create_server(app.server, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    app.close()


@pytest.fixture
def browser(tmp_path):
    """Headless Debian Chromium with a throwaway profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # Counts alert() calls even if one were dismissed before we look.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                           {"source": "window.__alerts = 0; window.alert = () => { window.__alerts += 1; };"})
    yield driver
    driver.quit()


def page_text_when(driver, needles: list[str], timeout: float = 30) -> str:
    """The page's visible text once it contains every needle."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = driver.execute_script("return document.body.innerText")
        if all(n in text for n in needles):
            return text
        time.sleep(0.25)
    missing = [n for n in needles if n not in text]
    raise AssertionError(f"not shown as text: {missing}\n--- page text ---\n{text[:3000]}")


def assert_nothing_ran(driver) -> None:
    """No injected element, no script flag, no alert."""
    from selenium.common.exceptions import NoAlertPresentException
    assert driver.execute_script(INJECTED) == [0, 0, 0, None, 0]
    assert driver.execute_script("return window.__alerts") == 0
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text


@pytest.mark.parametrize("page, needles", [
    ("/", [IMG, SCRIPT, SVG, FORMULA, f"alert opened: {IMG} {SCRIPT}"]),  # cards, counts and the log viewer
    ("/server/127.0.0.1", [IMG, SCRIPT, "<b>bold</b>"]),  # the server page's header
], ids=["overview", "server-page"])
@needs_browser
@quiet_selenium
def test_hostile_names_are_text_on_every_page(served, browser, page, needles):
    browser.get(served + page)
    page_text_when(browser, needles)
    time.sleep(1.0)  # let every callback (graphs, warnings, logs) finish drawing before looking for side effects
    assert_nothing_ran(browser)
