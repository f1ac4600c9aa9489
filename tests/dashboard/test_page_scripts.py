"""The index page leaves out the scripts the dashboard never uses (app.LeanDash)."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_DIRS = ("layouts", "callbacks", "figures")


def page_scripts(client) -> list[str]:
    """The src of every <script> on the dashboard's index page."""
    html = client.get("/").get_data(as_text=True)
    return re.findall(r'<script src="([^"]+)"', html)


def test_index_page_has_no_polyfill_or_dash_table_script(client):
    scripts = page_scripts(client)
    assert any("dash_renderer" in s or "dash-renderer" in s for s in scripts), scripts  # the page still works
    assert any("dash_bootstrap_components" in s for s in scripts), scripts  # which sets regeneratorRuntime
    assert not [s for s in scripts if "polyfill@" in s or "/dash_table/" in s]


def test_no_code_uses_dash_table():
    # app.UNUSED_SCRIPTS drops dash_table's bundle; a DataTable would then render nothing.
    sources = [p for name in APP_DIRS for p in (ROOT / name).rglob("*.py")]
    assert sources
    users = [str(p) for p in sources if "DataTable" in p.read_text() or "dash_table" in p.read_text()]
    assert users == [], "remove dash_table from app.UNUSED_SCRIPTS before using it"
