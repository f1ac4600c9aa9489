"""The served Bootstrap Icons subset (tools/subset_icons.py) has every icon the app's source uses."""
from __future__ import annotations

import re

import pytest

from tools.subset_icons import (SUBSET_CSS, SUBSET_FONT, UPSTREAM_CSS, Scan, codepoints, font_digest, scan,
                                scan_text)

RERUN = "rerun `python tools/subset_icons.py` (pip install -r requirements-dev.txt)"


@pytest.fixture(scope="module")
def found() -> Scan:
    """The icon classes in the app's source, found as the script finds them."""
    return scan()


@pytest.fixture(scope="module")
def subset() -> dict[str, int]:
    """Icon name -> codepoint in the served CSS."""
    return codepoints(SUBSET_CSS.read_text(encoding="utf-8"))


def test_the_scanner_finds_literal_names_and_flags_built_ones():
    result = Scan()
    source = '\n'.join(['html.I(className="bi bi-bell me-2")', 'ICONS = {"down": "bi-x-octagon-fill"}',
                        'cls = "lm-bi-card bi"', 'a = f"bi-{kind}"', 'b = "bi-" + kind', 'c = `bi-${k}`'])
    scan_text(source, "x.py", result)
    assert set(result.icons) == {"bell", "x-octagon-fill"}
    assert [d.split(":")[1] for d in result.dynamic] == ["4", "5", "6"]


def test_the_source_uses_icons_and_builds_no_icon_name_at_run_time(found):
    assert len(found.icons) >= 10, "the scanner found almost no icons: has the source layout changed?"
    assert not found.dynamic, f"spell icon classes out in full so the subset can include them: {found.dynamic}"


def test_every_icon_the_source_uses_is_in_the_subset_css(found, subset):
    missing = {f"bi-{n}": sorted(found.icons[n]) for n in found.icons if n not in subset}
    assert not missing, f"icons missing from {SUBSET_CSS.name} (they would render blank): {missing}; {RERUN}"


def test_the_subset_codepoints_are_upstream_ones(subset):
    upstream = codepoints(UPSTREAM_CSS.read_text(encoding="utf-8"))
    assert subset and {n: upstream.get(n) for n in subset} == subset


def test_the_subset_css_keeps_the_font_face_and_base_rule_and_points_at_this_font():
    css = SUBSET_CSS.read_text(encoding="utf-8")
    assert re.search(r"\.bi::before,\[class\*=\" bi-\"\]::before,\[class\^=bi-\]::before\{[^}]*font-family:"
                     r"bootstrap-icons", css)
    urls = re.findall(r"@font-face\{[^}]*url\(\"([^\"]+)\"\)", css)
    # The hash in the URL is the font's: CSS and font come from the same run, and a new subset is refetched.
    assert urls == [f"fonts/{SUBSET_FONT.name}?{font_digest(SUBSET_FONT.read_bytes())}"], f"{urls}; {RERUN}"


def test_the_served_font_is_a_subset():
    # The full font is 130 KB; a subset of a few dozen icons is a few KB.
    assert SUBSET_FONT.stat().st_size < 30_000
    assert [p.name for p in SUBSET_FONT.parent.iterdir()] == [SUBSET_FONT.name]


def test_every_icon_the_source_uses_has_a_glyph_in_the_font(found, subset):
    ttlib = pytest.importorskip("fontTools.ttLib", reason="fonttools is in requirements-dev.txt")
    cmap = ttlib.TTFont(str(SUBSET_FONT)).getBestCmap()
    missing = {f"bi-{n}": hex(subset[n]) for n in found.icons if n in subset and subset[n] not in cmap}
    assert not missing, f"glyphs missing from {SUBSET_FONT.name}: {missing}; {RERUN}"
