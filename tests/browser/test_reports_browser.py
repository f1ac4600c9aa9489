"""The Reports page in a real browser: the table, the month picker, the CSV link, and the print layout on A4
(a print-media screenshot goes to docs/screenshots/reports-print.png), and Chromium's print-to-PDF gives one A4
landscape page."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from layouts import reports as lr
from settings import validate_config
from storage import open_writer
from tests.helpers.waiting import wait_for
from tests.conftest import make_config_dict
from tests.seeding import seed_history
from tests.helpers.sla import FIRST, outage_profile

By = pytest.importorskip("selenium.webdriver.common.by").By
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
A4_LANDSCAPE_PX = (1123, 794)  # 297 x 210 mm at 96 px per inch


@pytest.fixture
def report_app(tmp_path):
    """The dashboard over the seeded outages of tests/test_sla.py (November 2026 and the end of October)."""
    from app import create_app
    data = make_config_dict(tmp_path, sla_target_percent={"partners": {"Lagos Link": 99.5}})
    config = validate_config(data, source=str(tmp_path / "config.json"))
    writer = open_writer(config.database_target())
    seed_history(writer, config, FIRST + timedelta(minutes=239), 240, 60, outage_profile)
    seed_history(writer, config, datetime(2026, 11, 1, 4, 59), 60, 60)
    dash_app = create_app(config, start_collector=False, writer=writer)
    yield dash_app
    dash_app.close()
    writer.engine.dispose()


def table_rows(dash_duo) -> dict[str, str]:
    """Row key -> row class of the SLA table as the browser shows it."""
    # Read in one script: the table is redrawn while the test polls, and element handles would go stale.
    return dash_duo.driver.execute_script(
        "var out = {}; document.querySelectorAll(arguments[0]).forEach("
        "tr => { out[tr.getAttribute('data-key')] = tr.className; }); return out;", f"#{lr.TABLE} tbody tr")


def choose_month(dash_duo, label: str) -> None:
    """Pick a month in the month dropdown as a user does."""
    dash_duo.find_element(f"#{lr.MONTH}").click()
    option = wait_for(lambda: [o for o in dash_duo.driver.find_elements(By.CSS_SELECTOR, "[role=option]")
                                         if o.text.strip() == label], what=f"option {label}")
    option[0].click()


def test_reports_table_month_picker_csv_and_print(dash_duo, report_app):
    dash_duo.start_server(report_app)
    dash_duo.driver.get(dash_duo.server_url + "/reports")
    dash_duo.wait_for_text_to_equal(f"#{lr.TITLE}", "Availability report, November 2026", timeout=30)
    wait_for(lambda: table_rows(dash_duo).get("Safari Voice") == "lm-sla-missed", what="partner rows")
    assert table_rows(dash_duo) == {"Lagos Link": "lm-sla-met", "Nile Telecom": "lm-sla-met",
                                    "Safari Voice": "lm-sla-missed"}
    assert len(dash_duo.find_elements(f"#{lr.TABLE} tbody tr:first-child .lm-day")) == 30
    assert len(dash_duo.find_elements(f"#{lr.INCIDENTS} tbody tr")) == 6  # 4 server + 2 partner-wide

    choose_month(dash_duo, "October 2026")
    dash_duo.wait_for_text_to_equal(f"#{lr.TITLE}", "Availability report, October 2026", timeout=20)
    wait_for(lambda: len(dash_duo.find_elements(f"#{lr.INCIDENTS} tbody tr")) == 3,
             what="October's incidents (2 server, 1 partner-wide)")

    dash_duo.find_element(f"#{lr.CSV_LINK}").click()
    folder = Path(dash_duo.download_path)
    files = wait_for(lambda: list(folder.glob("*")) and [p for p in folder.glob("*")
                                                                    if not p.name.endswith(".crdownload")],
                     what="the downloaded CSV")
    table = list(csv.DictReader(io.StringIO(files[0].read_text(encoding="utf-8"))))
    assert {r["key"]: r["met"] for r in table} == {"Lagos Link": "true", "Nile Telecom": "true",
                                                    "Safari Voice": "false"}

    choose_month(dash_duo, "November 2026")
    dash_duo.find_element(f"#{lr.GROUP} input[value=server]").click()
    wait_for(lambda: len(table_rows(dash_duo)) == 4, what="one row per server")
    driver = dash_duo.driver
    driver.set_window_size(*A4_LANDSCAPE_PX)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert driver.execute_script("return getComputedStyle(document.querySelector('.lm-navbar')).display") == "none"
        right = driver.execute_script("return document.querySelector('.lm-sla-table').getBoundingClientRect().right")
        width = driver.execute_script("return document.documentElement.clientWidth")
        assert right <= width, f"the table ({right} px) is wider than an A4 page ({width} px)"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOTS / "reports-print.png"))
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = print_to_pdf(driver)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    boxes = pdf_page_boxes(pdf)
    # The print CSS's @page (A4 landscape, 297 x 210 mm = 841.9 x 595.3 pt) sets every page; one report page.
    assert boxes and all(abs(w - 841.9) < 1 and abs(h - 595.3) < 1 for w, h in boxes), boxes
    assert len(boxes) == 1, f"the month's report for 4 servers took {len(boxes)} A4 pages"


def print_to_pdf(driver) -> bytes:
    """What "Print -> Save as PDF" gives: Chromium's own printToPDF, honouring the page's @page size."""
    import base64
    result = driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})
    return base64.b64decode(result["data"])


def pdf_page_boxes(pdf: bytes) -> list[tuple[float, float]]:
    """(width, height) in points of each page: Chromium writes one /Type /Page object with its MediaBox per page."""
    import re
    pages = len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))
    boxes = [tuple(map(float, b.split())) for b in re.findall(rb"/MediaBox\s*\[([\d.\s-]+)\]", pdf)]
    assert len(boxes) == pages, (pages, boxes)  # a box per page, none inherited from /Pages
    return [(x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes]
