"""Take the dashboard screenshots in this folder from a running app (headless Chromium via Selenium).

    python -m tests.browser.make_demo /tmp/demo
    python app.py --no-collector --port 5098 --config /tmp/demo/config.json &
    python docs/screenshots/take.py http://127.0.0.1:5098 docs/screenshots
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for layouts.ids
from layouts import ids  # noqa: E402

CHROMIUM_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--hide-scrollbars")
# (file name, path, dark theme, window width, window height)
SHOTS = (("overview-light.png", "/?range=24h", False, 1600, 1000),
         ("overview-dark.png", "/?range=24h", True, 1600, 1000),
         ("overview-wall-4k-dark.png", "/?range=24h", True, 3840, 2160),
         ("overview-filtered-7d.png", "/?country=Kenya&country=Nigeria&range=7d", False, 1600, 1000),
         ("server-light.png", "/server/10.60.0.8?range=24h", False, 1600, 1000),
         ("server-dark.png", "/server/10.30.4.20?range=7d", True, 1600, 1000),
         ("overview-timezone-states.png", "/?country=Nigeria&country=South+Africa&range=24h&tz=Asia/Kolkata",
          False, 1600, 1000),
         ("phone-overview.png", "/?range=24h", False, 390, 844),
         ("phone-server.png", "/server/10.30.4.21?range=24h", True, 390, 844))
PHONE_WIDTH = 500  # narrower shots are taken as a phone: a mobile viewport of exactly that width


def emulate_phone(browser: webdriver.Chrome, width: int, height: int) -> None:
    """A mobile viewport of this size (a desktop window cannot be made narrower than about 500 px)."""
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})


def driver(width: int, height: int) -> webdriver.Chrome:
    """Headless Chromium with the window size given (a phone's viewport below PHONE_WIDTH)."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in CHROMIUM_ARGS + (f"--window-size={max(width, PHONE_WIDTH)},{height}",):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    if width < PHONE_WIDTH:
        emulate_phone(browser, width, height)
    return browser


def set_theme(browser: webdriver.Chrome, dark: bool) -> None:
    """Flip the theme switch when it is not in the wanted position."""
    switch = browser.find_element(By.ID, ids.THEME_SWITCH)
    if switch.is_selected() != dark:
        browser.execute_script("arguments[0].click();", switch)


def settle(browser: webdriver.Chrome) -> None:
    """Wait until every graph on the page has drawn something and the callbacks are idle."""
    wait = WebDriverWait(browser, 90)  # a 7-day server page on a busy 2-core machine takes a while
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg"))
    wait.until(lambda b: b.execute_script(
        "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length === 0"))
    time.sleep(2.5)


def full_page(browser: webdriver.Chrome, width: int, min_height: int) -> None:
    """Grow the window to the page's height so one screenshot shows everything."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    if width < PHONE_WIDTH:
        emulate_phone(browser, width, max(min_height, height + 20))
    else:
        browser.set_window_size(width, max(min_height, height + 20))
    time.sleep(1.5)


def take(base: str, out: Path, name: str, path: str, dark: bool, width: int, height: int) -> None:
    """One screenshot."""
    browser = driver(width, height)
    try:
        browser.get(base + path)
        settle(browser)
        set_theme(browser, dark)
        settle(browser)
        full_page(browser, width, height)
        browser.save_screenshot(str(out / name))
    finally:
        browser.quit()


def main(argv: list[str]) -> int:
    """Take every screenshot in SHOTS from the app at argv[0] into folder argv[1]."""
    base, out = argv[0].rstrip("/"), Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for shot in SHOTS:
        take(base, out, *shot)
        print("wrote", out / shot[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
