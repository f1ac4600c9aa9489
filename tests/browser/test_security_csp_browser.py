"""The dashboard works under the Content-Security-Policy, in a real headless Chromium.

Logs in through the login page, waits for the graphs to draw (lines, the loss heatmap's image, the
smoke view's samples scatter) and for a graph's PNG download, then asserts that neither the page's
securitypolicyviolation events nor the browser console report a CSP violation. Uses selenium directly;
skips, saying why, where Debian's chromium or chromedriver is missing.
"""
from __future__ import annotations

import threading

import pytest
from werkzeug.security import generate_password_hash

from settings import validate_config
from layouts import ids
from settings.auth import SECRET_KEY_ENV, TOKEN_ENV
from storage import open_writer
from common.timeutil import utcnow
from tests.conftest import make_config_dict
from tests.helpers.browser import CHROMEDRIVER, CHROMIUM, browser_runnable
from tests.seeding import seed_history
from tests.helpers.waiting import wait_for

CHROMIUM_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,1000")
PASSWORD = "browser test password"
# Runs before any page script (CDP injects it outside the page's CSP) and records every violation.
RECORD_VIOLATIONS = ("window.__csp = []; document.addEventListener('securitypolicyviolation', e => "
                     "window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile));")
DRAWN_LINES = ("return Array.from(document.querySelectorAll('.scatterlayer path.js-line'))"
               ".filter(p => (p.getAttribute('d') || '').length > 20).length")

pytestmark = [
    pytest.mark.skipif(not browser_runnable(),
                       reason=f"needs chromium at {CHROMIUM} and chromedriver at {CHROMEDRIVER} "
                              "(apt-get install chromium chromium-driver, or set DASH_TEST_CHROMEPATH)"),
    # selenium 4.2 calls a urllib3 method deprecated since; noise unrelated to what is tested.
    pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning"),
]


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The app with a login and an hour of one-minute rounds, served by waitress on a free port."""
    from waitress import create_server

    from app import create_app
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    users = [{"username": "ops", "password_hash": generate_password_hash(PASSWORD)}]
    config = validate_config(make_config_dict(tmp_path, auth={"users": users}), source=str(tmp_path / "c.json"))
    writer = open_writer(config.database_target())
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=60, interval_seconds=60)
    app = create_app(config, start_collector=False)
    server = create_server(app.server, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    app.close()
    writer.engine.dispose()


@pytest.fixture
def browser(tmp_path):
    """Headless Debian Chromium with console logging, downloads into tmp_path, a throwaway profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in CHROMIUM_ARGS + (f"--user-data-dir={tmp_path / 'profile'}",):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.add_experimental_option("prefs", {"download.default_directory": str(tmp_path / "downloads")})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    yield driver
    driver.quit()


def log_in(driver, base: str) -> None:
    """Open the dashboard, get sent to the login page, and log in there."""
    from selenium.webdriver.common.by import By
    driver.get(base + "/")
    assert "/login" in driver.current_url
    driver.find_element(By.ID, "username").send_keys("ops")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait_for(lambda: "/login" not in driver.current_url, "the dashboard after login")


def show_samples(driver) -> None:
    """Switch the smoke view to its scatter of every sample and wait for the points to be drawn."""
    driver.execute_script("document.querySelector(arguments[0]).click()", f"#{ids.SMOKE_MODE} input[value=samples]")
    wait_for(lambda: driver.execute_script(
        "return document.querySelectorAll(arguments[0] + ' .scatterlayer .points path').length",
        f"#{ids.SMOKE_GRAPH}"), "the samples scatter")


def download_png(driver, folder) -> None:
    """Press a graph's "download as png" button; the image is rendered through a blob: URL."""
    driver.execute_script("document.querySelector(\".modebar-btn[data-title^='Download']\").click()")
    wait_for(lambda: folder.is_dir() and any(p.suffix == ".png" for p in folder.iterdir()), "the PNG download")


def csp_console_errors(driver) -> list[str]:
    """Console messages about the Content Security Policy."""
    return [entry["message"] for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]


def test_the_dashboard_renders_with_no_csp_violation(served, browser, tmp_path):
    log_in(browser, served)
    assert wait_for(lambda: browser.execute_script(DRAWN_LINES), "drawn latency/jitter lines") >= 3
    wait_for(lambda: browser.execute_script(
        "return document.querySelector('.heatmaplayer image')"), "the loss heatmap image")
    show_samples(browser)
    download_png(browser, tmp_path / "downloads")
    assert browser.execute_script("return window.__csp") == []
    assert csp_console_errors(browser) == []


def test_the_policy_does_block_an_injected_inline_script(served, browser):
    log_in(browser, served)
    browser.execute_script("var s = document.createElement('script'); s.textContent = 'window.__ran = 1;';"
                           "document.body.appendChild(s);")
    violations = wait_for(lambda: browser.execute_script("return window.__csp"), "a script-src violation")
    assert browser.execute_script("return window.__ran") is None
    assert any(v.startswith("script-src") for v in violations)
