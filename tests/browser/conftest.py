"""Browser tests (dash[testing]'s dash_duo) in headless Debian Chromium.

The options live here so they reach no other test: dash.testing asks the pytest_setup_options hook
for the webdriver options, and this conftest only loads for tests/browser/. It adds --headless=new
itself, so no --headless flag is needed on the command line (passing one as well is harmless).
Every test here skips, saying why, when Chromium or chromedriver is missing.
"""
from __future__ import annotations

import os

import pytest

from settings import validate_config
from storage import open_writer
from common.timeutil import utcnow
from tests.browser.demo_data import demo_config_dict, seed_demo
from tests.helpers.browser import CHROMEDRIVER, CHROMIUM

CHROMIUM_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1600,1200")


def missing_browser() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    if not os.access(CHROMIUM, os.X_OK):
        return "no Chromium binary (apt-get install chromium, or set DASH_TEST_CHROMEPATH)"
    if not os.access(CHROMEDRIVER, os.X_OK):
        return "no chromedriver on PATH (apt-get install chromium-driver)"
    try:
        import dash.testing.browser  # noqa: F401
    except ImportError:
        return "dash[testing] is not installed (pip install -r requirements-dev.txt)"
    return None


def pytest_collection_modifyitems(config, items):
    """Skip this folder's tests, with the reason, where no browser can be started."""
    reason = missing_browser()
    if reason is None:
        return
    for item in items:
        if "tests/browser" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.skip(reason=f"browser test skipped: {reason}"))


def pytest_setup_options():
    """The Chromium options dash.testing's Browser starts from (it adds download prefs and a few flags)."""
    from selenium.webdriver.chrome.options import Options
    options = Options()
    options.binary_location = CHROMIUM
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    return options


@pytest.fixture
def demo(tmp_path):
    """A config of nine servers in six countries with four days of varied history ending now."""
    config = validate_config(demo_config_dict(tmp_path / "demo.db"), source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    seed_demo(writer, config, utcnow().replace(microsecond=0))
    yield config
    writer.engine.dispose()


@pytest.fixture
def demo_app(demo):
    """The dashboard on the demo database, without the collector."""
    from app import create_app
    dash_app = create_app(demo, start_collector=False)
    yield dash_app
    dash_app.close()
