"""Cut the served Bootstrap Icons font and CSS down to the icons the dashboard uses.

    python tools/subset_icons.py          # rewrite the subset CSS and woff2 in assets/
    python tools/subset_icons.py --list   # only print the icon classes found in the source, and where

Reads the unmodified upstream files from tools/vendor/bootstrap-icons-<version>/ (npm `bootstrap-icons`),
scans the app's source for `bi-...` class names and writes assets/01_bootstrap-icons-<version>.min.css
(licence comment, @font-face, the `.bi` base rule, one rule per used icon) and assets/fonts/bootstrap-icons.woff2
(only those glyphs). Needs fonttools and brotli (requirements-dev.txt). Rerun it after using a new icon:
tests/dashboard/test_assets_icons.py fails until you do.

Icon classes must appear in full in the source ("bi-bell", also inside dicts and f-strings such as
f"bi {icon}"); a name assembled from pieces (f"bi-{kind}", "bi-" + kind) cannot be found, so it is an error.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import logging
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

VERSION = "1.11.3"
ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "tools" / "vendor" / f"bootstrap-icons-{VERSION}"
UPSTREAM_CSS = VENDOR / "bootstrap-icons.min.css"
UPSTREAM_FONT = VENDOR / "fonts" / "bootstrap-icons.woff2"
ASSETS = ROOT / "assets"
SUBSET_CSS = ASSETS / f"01_bootstrap-icons-{VERSION}.min.css"
SUBSET_FONT = ASSETS / "fonts" / "bootstrap-icons.woff2"
FONT_URL = "fonts/bootstrap-icons.woff2"  # relative to the CSS, as upstream

SCANNED_SUFFIXES = {".py", ".js", ".css", ".html"}
# Not app code: tests may name icons that do not exist, bench/tools never render any.
SKIPPED_DIRS = {"tests", "bench", "tools", "docs", "__pycache__", "node_modules", "venv"}
# A class name spelled in full; the look-arounds keep "lm-bi-x" and "bi-graph-{x}" out.
ICON = re.compile(r"(?<![\w-])bi-[a-z0-9]+(?:-[a-z0-9]+)*(?![\w{$-])")
# A class name completed at run time: f"bi-{kind}", `bi-${kind}`, "bi-%s", "bi-" + kind, "bi-graph-" + x.
DYNAMIC = re.compile(r"""(?<![\w-])bi-(?:[a-z0-9]+-)*(?:\{|\$\{|%|["'`])""")
ICON_RULE = re.compile(r'\.bi-([a-z0-9-]+)::before\{content:"\\([0-9a-f]+)"\}')
FONT_FACE = re.compile(r"@font-face\{[^}]*\}")
BASE_RULE = re.compile(r"\.bi::before,[^{]*\{[^}]*\}")
LICENCE = re.compile(r"/\*!.*?\*/", re.DOTALL)


@dataclass
class Scan:
    """What the source uses: icon name -> files that name it, and names built at run time (file:line)."""

    icons: dict[str, set[str]] = field(default_factory=dict)
    dynamic: list[str] = field(default_factory=list)


def source_files(root: Path = ROOT) -> list[Path]:
    """The app's own .py/.js/.css/.html files (not tests, bench, tools, hidden folders or vendored assets)."""
    files = []
    for folder, dirs, names in os.walk(root):
        # Pruned in place so os.walk never descends into .git, virtualenvs or bench output.
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        paths = (Path(folder) / n for n in sorted(names))
        files += [p for p in paths if p.suffix in SCANNED_SUFFIXES and not is_vendored(p, root)]
    return files


def is_vendored(path: Path, root: Path = ROOT) -> bool:
    """Third-party files in assets/: their names start 00_ to 09_ (see assets/VENDORED.md)."""
    return path.parent == root / "assets" and re.match(r"0\d_", path.name) is not None


def scan_text(text: str, name: str, result: Scan) -> None:
    """Add the icon names and run-time-built names of one file's text to result."""
    for number, line in enumerate(text.splitlines(), 1):
        for match in DYNAMIC.finditer(line):
            result.dynamic.append(f"{name}:{number}: {match.group(0)}")
        for match in ICON.finditer(line):
            result.icons.setdefault(match.group(0)[3:], set()).add(name)


def scan(root: Path = ROOT) -> Scan:
    """Every icon class the app's source names, and every one it builds at run time."""
    result = Scan()
    for path in source_files(root):
        scan_text(path.read_text(encoding="utf-8", errors="replace"), str(path.relative_to(root)), result)
    return result


def codepoints(css: str) -> dict[str, int]:
    """Icon name -> codepoint of every `.bi-NAME::before{content:"\\XXXX"}` rule of a Bootstrap Icons CSS."""
    return {name: int(hex_code, 16) for name, hex_code in ICON_RULE.findall(css)}


def font_digest(font: bytes) -> str:
    """Short content hash for the font URL, so browsers refetch the font whenever the subset changes."""
    return hashlib.sha256(font).hexdigest()[:16]


def subset_css(upstream_css: str, names: list[str], font: bytes) -> str:
    """Upstream's licence comment, @font-face (woff2 only) and .bi base rule, then the rules of names."""
    table = codepoints(upstream_css)
    face = FONT_FACE.search(upstream_css).group(0)
    # woff2 only: every browser the dashboard supports reads it, and the woff fallback is not served.
    face = re.sub(r"src:[^;}]*", f'src:url("{FONT_URL}?{font_digest(font)}") format("woff2")', face)
    rules = "".join(f'.bi-{n}::before{{content:"\\{table[n]:x}"}}' for n in sorted(names))
    note = f"/* Subset: {len(names)} icons used by the dashboard. Generated by tools/subset_icons.py; do not edit. */"
    return f"{LICENCE.search(upstream_css).group(0)}\n{note}\n{face}{BASE_RULE.search(upstream_css).group(0)}{rules}\n"


def subset_font(source: Path, unicodes: list[int]) -> bytes:
    """A woff2 holding only the glyphs of these codepoints."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    options = subset.Options()
    options.flavor = "woff2"
    options.layout_features = []  # icons are looked up by codepoint only; no ligatures needed
    options.hinting = False
    # recalcTimestamp=False keeps head.modified, so a rerun with no new icon writes identical bytes.
    # Upstream's post table ends in 2 stray bytes; fontTools' warning about them is noise.
    logging.getLogger("fontTools.ttLib.tables._p_o_s_t").setLevel(logging.ERROR)
    font = TTFont(str(source), recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def unknown_icons(found: Scan, table: dict[str, int]) -> list[str]:
    """Icons the source uses that upstream does not have (typos), with where they appear."""
    return [f"bi-{n} ({', '.join(sorted(found.icons[n]))})" for n in sorted(found.icons) if n not in table]


def main(argv: list[str] | None = None) -> int:
    """Entry point: check the source's icon names, then write the subset CSS and font."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="print the icons found and exit")
    args = parser.parse_args(argv)
    found = scan()
    if args.list:
        for name in sorted(found.icons):
            print(f"bi-{name}: {', '.join(sorted(found.icons[name]))}")
        return 0
    upstream = UPSTREAM_CSS.read_text(encoding="utf-8")
    problems = [f"built at run time, spell it out: {d}" for d in found.dynamic]
    problems += [f"not a Bootstrap Icons {VERSION} icon: {u}" for u in unknown_icons(found, codepoints(upstream))]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2
    names = sorted(found.icons)
    font = subset_font(UPSTREAM_FONT, [codepoints(upstream)[n] for n in names])
    SUBSET_FONT.write_bytes(font)
    SUBSET_CSS.write_text(subset_css(upstream, names, font), encoding="utf-8")
    print(f"{len(names)} icons: {SUBSET_CSS.relative_to(ROOT)} {SUBSET_CSS.stat().st_size:,} bytes, "
          f"{SUBSET_FONT.relative_to(ROOT)} {len(font):,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
