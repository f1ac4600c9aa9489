"""Every trace type the figure builders emit is in the vendored plotly.js cartesian bundle."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The trace modules of plotly.js-cartesian-dist (its README lists them).
CARTESIAN_TRACES = {"bar", "box", "contour", "heatmap", "histogram", "histogram2d", "histogram2dcontour",
                    "image", "pie", "scatter", "scatterternary", "violin"}


def test_the_partial_bundle_is_vendored_and_the_only_plotly_served():
    bundles = list((ROOT / "assets").glob("*plotly*.js"))
    assert len(bundles) == 1 and bundles[0].stat().st_size > 1_000_000
    assert b"Plotly" in bundles[0].read_bytes()[:5000] or b"plotly" in bundles[0].read_bytes()[:5000]


def test_figure_builders_use_only_cartesian_trace_types():
    used = set()
    for path in (ROOT / "figures").glob("*.py"):
        used |= {name.lower() for name in re.findall(r"go\.([A-Z][A-Za-z0-9]*)\(", path.read_text())}
        used |= set(re.findall(r"""["']type["']\s*:\s*["'](\w+)["']""", path.read_text()))
    used -= {"figure", "layout"}
    assert used and used <= CARTESIAN_TRACES, used - CARTESIAN_TRACES
