"""Take the worst-first and wall-view screenshots in this folder from two running apps (headless Chromium).

    python -m tests.browser.make_demo /tmp/demo
    python app.py --no-collector --port 5098 --config /tmp/demo/config.json &
    python bench/generate.py --database bench/out/history-200x2d-60s.db --servers 200 --days 2 \\
        --config-out bench/out/history-200x2d-60s.json [--extend]      # 200 servers, history up to now
    python app.py --no-collector --port 5099 --config bench/out/history-200x2d-60s.json &
    python docs/screenshots/take_wall.py http://127.0.0.1:5098 http://127.0.0.1:5099 docs/screenshots

The viewport is set exactly (CDP Emulation.setDeviceMetricsOverride), so 1920 x 1080 means the page's own size.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--hide-scrollbars", "--window-size=1600,1200")
THEME_KEY = "_dash_persistence.lm-theme-switch.value.true"  # where Dash keeps the theme switch's value
# (file name, "demo" or "many", path, dark theme, width, height)
SHOTS = (("overview-worst-first.png", "demo", "/?range=24h", False, 1600, 1000),
         ("overview-200-compact.png", "many", "/?range=24h", False, 1600, 1000),
         ("wall-1080-dark.png", "demo", "/?kiosk=1", True, 1920, 1080),
         ("wall-4k.png", "demo", "/?kiosk=1", False, 3840, 2160),
         ("wall-200-1080-dark.png", "many", "/?kiosk=1", True, 1920, 1080),
         ("wall-200-4k.png", "many", "/?kiosk=1", False, 3840, 2160))


def browser(width: int, height: int, dark: bool, origin: str) -> webdriver.Chrome:
    """Headless Chromium with an exact viewport and the theme stored as the dashboard stores it."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    driver.get(origin + "/healthz")
    driver.execute_script("localStorage.setItem(arguments[0], arguments[1])", THEME_KEY, json.dumps([dark, False]))
    return driver


def settle(driver: webdriver.Chrome, kiosk: bool) -> None:
    """Wait for the tiles, the graphs and (on the wall) the fit, then for the callbacks to go quiet."""
    wait = WebDriverWait(driver, 90)
    wait.until(lambda d: d.execute_script("return document.querySelectorAll('#lm-cards a.lm-server-card').length"))
    wait.until(lambda d: d.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length"))
    if kiosk:
        wait.until(lambda d: d.execute_script("return document.getElementById('lm-cards').dataset.fitted"))
    wait.until(lambda d: d.execute_script(
        "return document.querySelectorAll('[data-dash-is-loading=\"true\"]').length === 0"))
    time.sleep(3)


def take(bases: dict, out: Path, name: str, app: str, path: str, dark: bool, width: int, height: int) -> None:
    """One screenshot of the viewport."""
    driver = browser(width, height, dark, bases[app])
    try:
        driver.get(bases[app] + path)
        settle(driver, "kiosk=1" in path)
        driver.save_screenshot(str(out / name))
    finally:
        driver.quit()


def main(argv: list[str]) -> int:
    """Take every screenshot in SHOTS: argv = demo app URL, 200-server app URL, output folder."""
    bases = {"demo": argv[0].rstrip("/"), "many": argv[1].rstrip("/")}
    out = Path(argv[2])
    out.mkdir(parents=True, exist_ok=True)
    for shot in SHOTS:
        take(bases, out, *shot)
        print("wrote", out / shot[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
