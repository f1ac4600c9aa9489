"""The served plotly.js bundle (tools/build_plotly_bundle.py) registers every trace type the app's figures draw."""
from __future__ import annotations

import ast
import re

import plotly.graph_objects as go
import pytest
from plotly.basedatatypes import BaseTraceType
from plotly.offline import get_plotlyjs_version

from tools.build_plotly_bundle import ASSETS, BUNDLE, ROOT, TRACES, VERSION
from tools.subset_icons import source_files

RERUN = "add it to TRACES in tools/build_plotly_bundle.py and rerun that script (needs node and npm)"
# Every trace module's index object carries these two keys side by side, and esbuild keeps property names and
# string values when minifying, so each trace module in the bundle (the build's entry registers every one it
# bundles) shows up once as this text.
TRACE_MODULE = re.compile(r'moduleType:"trace",name:"(\w+)"')
# go.Scatter -> "scatter", go.Histogram2dContour -> "histogram2dcontour", ...
TRACE_CLASSES = {name: getattr(go, name)().type for name in dir(go)
                 if isinstance(getattr(go, name), type) and issubclass(getattr(go, name), BaseTraceType)}
TRACE_TYPES = set(TRACE_CLASSES.values())


def trace_types_in(tree: ast.AST) -> set[str]:
    """Trace types a module's code creates: go.Bar(...), fig.add_bar(...), {"type": "bar"} and dict(type="bar")."""
    # A "type" that names no trace type (a shape's "rect", an axis's "date") is not a trace: ignored.
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            attr = node.func.attr
            if attr in TRACE_CLASSES and isinstance(node.func.value, ast.Name) and node.func.value.id == "go":
                found.add(TRACE_CLASSES[attr])
            if attr.startswith("add_") and attr[4:] in TRACE_TYPES:
                found.add(attr[4:])
        values = []
        if isinstance(node, ast.Dict):
            values = [v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant) and k.value == "type"]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            values = [k.value for k in node.keywords if k.arg == "type"]
        found |= {v.value for v in values if isinstance(v, ast.Constant) and v.value in TRACE_TYPES}
    return found


def uses_plotly_express(tree: ast.AST) -> bool:
    """Whether a module imports plotly.express, whose functions pick trace types this scan cannot see."""
    return any((isinstance(n, ast.ImportFrom) and (n.module or "").startswith("plotly.express"))
               or (isinstance(n, ast.Import) and any(a.name.startswith("plotly.express") for a in n.names))
               or (isinstance(n, ast.ImportFrom) and n.module == "plotly" and any(a.name == "express" for a in n.names))
               for n in ast.walk(tree))


@pytest.fixture(scope="module")
def app_trees() -> dict[str, ast.AST]:
    """The parsed .py files of the app (figures/, callbacks/, layouts/, ...; not tests, bench or tools)."""
    return {str(p.relative_to(ROOT)): ast.parse(p.read_text(encoding="utf-8"), str(p))
            for p in source_files() if p.suffix == ".py"}


@pytest.fixture(scope="module")
def registered() -> set[str]:
    """The trace types the served bundle registers."""
    return set(TRACE_MODULE.findall(BUNDLE.read_text(encoding="utf-8")))


def test_the_scan_sees_trace_constructors_methods_and_dicts_but_not_shapes():
    source = '\n'.join(['fig.add_trace(go.Scattergl(x=[1]))', 'fig.add_box(y=[1])', 'g = go.Histogram2dContour()',
                        'f = go.Figure(data=[{"type": "pie"}, dict(type="violin")])',
                        'fig.update_layout(shapes=[{"type": "rect"}, dict(type="line")], xaxis={"type": "date"})'])
    assert trace_types_in(ast.parse(source)) == {"scattergl", "box", "histogram2dcontour", "pie", "violin"}
    assert uses_plotly_express(ast.parse("import plotly.express as px"))
    assert uses_plotly_express(ast.parse("from plotly import express"))


def test_the_app_draws_figures_with_plotly_graph_objects_only(app_trees):
    assert not [path for path, tree in app_trees.items() if uses_plotly_express(tree)], \
        "plotly.express picks trace types this test cannot see: build figures with plotly.graph_objects"


def test_every_trace_type_the_app_draws_is_registered_in_the_served_bundle(app_trees, registered):
    used = {t: sorted(p for p, tree in app_trees.items() if t in trace_types_in(tree))
            for t in set().union(*map(trace_types_in, app_trees.values()))}
    assert {"scatter", "bar", "heatmap"} <= used.keys()  # the scan still finds what the figures draw today
    missing = {t: paths for t, paths in used.items() if t not in registered}
    assert not missing, f"trace types the bundle lacks (they would not draw): {missing}; {RERUN}"


def test_the_bundle_holds_exactly_the_build_scripts_trace_types(registered):
    # A bundle built from another TRACES (or by hand) would go unnoticed until a figure failed to draw.
    assert registered == set(TRACES), f"rerun python tools/build_plotly_bundle.py: {registered} != {set(TRACES)}"


def test_the_custom_bundle_is_the_only_plotly_served():
    served = sorted(p.name for p in ASSETS.glob("*.js") if "plotly" in p.name.lower())
    assert served == [BUNDLE.name]  # not 05_plotly-cartesian-*.min.js or a full plotly.min.js beside it


def test_the_bundle_keeps_plotlys_licence_and_sets_window_plotly():
    text = BUNDLE.read_text(encoding="utf-8")
    assert text.startswith("/**\n* plotly.js (custom: ") and f" v{VERSION}\n" in text[:200]
    assert "Licensed under the MIT license" in text[:400]
    # dcc.Graph uses window.Plotly when a page script has set it, and only otherwise fetches Dash's full copy.
    assert text.rstrip().endswith("window.Plotly = Plotly;")


def test_the_bundle_is_the_plotly_js_version_plotly_py_writes_figures_for():
    assert VERSION == get_plotlyjs_version(), "rebuild the bundle for the plotly.js of the installed plotly.py"
