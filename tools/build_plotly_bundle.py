"""Build the plotly.js bundle the dashboard serves: plotly.js's core plus only the trace types its figures draw.

    python tools/build_plotly_bundle.py           # write assets/05_plotly-custom-<version>.min.js
    python tools/build_plotly_bundle.py --check   # rebuild in a temp dir and fail if it differs from assets/

Installs the exact packages of tools/vendor/plotly-bundle/package-lock.json (plotly.js and esbuild, pinned in its
package.json) with `npm ci` into a temporary directory, bundles an entry that registers TRACES on plotly.js's core
with tools/vendor/plotly-bundle/esbuild.mjs, and writes the result to assets/, deleting any other 05_plotly-*.js
there: Dash serves every file in assets/, so two bundles would both load. Needs node (20+), npm and the npm
registry. Run by hand only, never at app start or in CI: the bundle is committed.

Drawing a new trace type (go.Box, go.Histogram, ...): add its plotly.js name to TRACES, rerun, commit the new
bundle. tests/figures/test_figures_bundle.py fails, naming the type, until then.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "tools" / "vendor" / "plotly-bundle"
ASSETS = ROOT / "assets"
PINNED = json.loads((VENDOR / "package.json").read_text(encoding="utf-8"))["dependencies"]
VERSION = PINNED["plotly.js"]
BUNDLE = ASSETS / f"05_plotly-custom-{VERSION}.min.js"
# Every trace type the figure builders draw (figures/). scatter is part of plotly.js's core anyway; it is
# listed because plotly.js may stop bundling it by default.
TRACES = ("bar", "heatmap", "scatter")
# What `npm ci` copies in beside node_modules.
INPUTS = ("package.json", "package-lock.json", "esbuild.mjs")
LICENCE = re.compile(r"/\*\*.*?\*/", re.DOTALL)


def entry_source(traces: tuple[str, ...]) -> str:
    """The bundle's entry: plotly.js's core with these trace modules registered (as plotly.js's lib/index-*.js)."""
    modules = "".join(f"    require('plotly.js/lib/{t}'),\n" for t in sorted(traces))
    return f"var Plotly = require('plotly.js/lib/core');\nPlotly.register([\n{modules}]);\nmodule.exports = Plotly;\n"


def banner(dist_min_js: str, traces: tuple[str, ...]) -> str:
    """plotly.js's own licence header (from its dist bundle), naming this build, then how it was made."""
    header = LICENCE.match(dist_min_js).group(0)
    header = header.replace("plotly.js v", f"plotly.js (custom: {', '.join(sorted(traces))} - minified) v", 1)
    tools = ", ".join(f"{name}@{version}" for name, version in sorted(PINNED.items()))
    return f"{header}\n/* Built by tools/build_plotly_bundle.py from npm {tools}. Do not edit. */"


def run(args: list[str], cwd: Path) -> None:
    """Run a command in cwd; its output goes to ours, a failure stops the build."""
    subprocess.run(args, cwd=cwd, check=True)


def install(workdir: Path) -> None:
    """npm ci of the pinned lock file into workdir."""
    for name in INPUTS:
        shutil.copy2(VENDOR / name, workdir / name)
    # --ignore-scripts: no package's install script runs (esbuild's only checks its binary, which works without).
    run([npm(), "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], workdir)


def build(workdir: Path, traces: tuple[str, ...] = TRACES) -> bytes:
    """Install the pinned packages in workdir and return the minified bundle."""
    install(workdir)
    dist = workdir / "node_modules" / "plotly.js" / "dist" / "plotly.min.js"
    (workdir / "entry.js").write_text(entry_source(traces), encoding="utf-8")
    (workdir / "banner.js").write_text(banner(dist.read_text(encoding="utf-8"), traces), encoding="utf-8")
    run([node(), "esbuild.mjs", "entry.js", "out.min.js", "banner.js"], workdir)
    data = (workdir / "out.min.js").read_bytes()
    return data if data.endswith(b"\n") else data + b"\n"


def npm() -> str:
    """The npm executable (npm.cmd on Windows)."""
    return shutil.which("npm") or sys.exit("npm not found: install Node.js 20+ with npm")


def node() -> str:
    """The node executable."""
    return shutil.which("node") or sys.exit("node not found: install Node.js 20+")


def gzip_size(data: bytes) -> int:
    """Size gzip-compressed at level 6 (what a web server sends)."""
    return len(gzip.compress(data, compresslevel=6, mtime=0))


def served_bundles() -> list[Path]:
    """The plotly.js bundles in assets/ (there should be exactly one)."""
    return sorted(ASSETS.glob("05_plotly-*.js"))


def write(data: bytes) -> None:
    """Write the bundle to assets/ and delete every other plotly.js bundle there, reporting sizes."""
    old = served_bundles()
    for path in old:
        print(f"was: {path.name} {path.stat().st_size:,} bytes, {gzip_size(path.read_bytes()):,} gzip")
        if path != BUNDLE:
            path.unlink()
    BUNDLE.write_bytes(data)
    print(f"now: {BUNDLE.name} {len(data):,} bytes, {gzip_size(data):,} gzip (traces: {', '.join(TRACES)})")


def main(argv: list[str] | None = None) -> int:
    """Entry point: build the bundle, then write it or compare it with the committed one."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check that assets/ holds this build")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="plotly-bundle-") as tmp:
        data = build(Path(tmp))
    if not args.check:
        write(data)
        return 0
    if served_bundles() != [BUNDLE] or BUNDLE.read_bytes() != data:
        print(f"assets/ does not hold this build of {BUNDLE.name}: run python tools/build_plotly_bundle.py",
              file=sys.stderr)
        return 1
    print(f"{BUNDLE.name} matches a fresh build ({len(data):,} bytes, {gzip_size(data):,} gzip)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
