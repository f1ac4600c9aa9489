"""What a browser fetches to show a dashboard page, replayed over HTTP: the page, its assets and initial callbacks.

The replay reads everything from the running app (/_dash-layout, /_dash-dependencies), so it keeps working
whatever the layouts and callbacks become: it fires, in dependency order, each callback whose inputs and
outputs are on the page (as the Dash renderer does on load), feeds outputs that are inputs of later
callbacks forward, and adds components a callback puts on the page (the router's page content).
"""
from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Callable, Iterator
from urllib.parse import urljoin

# Lazily loaded webpack chunks of dash-core-components, by component type (what the browser pulls in).
ASYNC_CHUNKS = {
    "Graph": ("dash/dcc/async-graph.js", "plotly/package_data/plotly.min.js"),  # see async_chunks()
    "Dropdown": ("dash/dcc/async-dropdown.js",), "DatePickerRange": ("dash/dcc/async-datepicker.js",),
    "DatePickerSingle": ("dash/dcc/async-datepicker.js",), "Slider": ("dash/dcc/async-slider.js",),
    "RangeSlider": ("dash/dcc/async-slider.js",), "Markdown": ("dash/dcc/async-markdown.js",),
    "Upload": ("dash/dcc/async-upload.js",),
}
SUITES = "/_dash-component-suites/"
PLOTLY_CHUNK = "plotly/package_data/plotly.min.js"
_FONT_URL = re.compile(r"url\((['\"]?)([^)'\"]+\.woff2[^)'\"]*)\1\)")
_DTYPE_BYTES = {"f8": 8, "f4": 4, "i1": 1, "u1": 1, "i2": 2, "u2": 2, "i4": 4, "u4": 4, "i8": 8, "u8": 8}

Get = Callable[[str], tuple[int, dict, bytes]]
Post = Callable[[str, dict], tuple[int, dict, bytes]]


@dataclass
class Fetch:
    """One thing the browser fetched: what, how big (raw and gzip-compressed) and how long it took."""

    kind: str
    path: str
    status: int
    raw_bytes: int
    gzip_bytes: int
    seconds: float
    points_per_trace: int = 0
    traces: int = 0
    request: dict | None = None  # a callback's /_dash-update-component body


@dataclass
class PageLoad:
    """Every fetch of one page load and the callbacks' output values."""

    fetches: list[Fetch] = field(default_factory=list)
    values: dict = field(default_factory=dict)

    def total(self, kinds: tuple[str, ...] | None = None) -> tuple[int, int]:
        """(raw, gzip) bytes of the fetches of these kinds (all when None)."""
        chosen = [f for f in self.fetches if kinds is None or f.kind in kinds]
        return sum(f.raw_bytes for f in chosen), sum(f.gzip_bytes for f in chosen)


class _AssetParser(HTMLParser):
    """Collects <script src> and <link rel=stylesheet href> of the index page."""

    def __init__(self):
        super().__init__()
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        elif tag == "link" and a.get("rel") == "stylesheet" and a.get("href"):
            self.styles.append(a["href"])


def index_assets(html: str) -> tuple[list[str], list[str]]:
    """(scripts, stylesheets) the index page references."""
    parser = _AssetParser()
    parser.feed(html)
    return parser.scripts, parser.styles


def css_fonts(css: str, css_path: str) -> list[str]:
    """woff2 fonts a stylesheet references (the format browsers pick), as absolute paths."""
    return sorted({urljoin(css_path, m.group(2)) for m in _FONT_URL.finditer(css)})


def walk(node: Any) -> Iterator[dict]:
    """Every component dict ({type, namespace, props}) in a layout tree or callback output."""
    if isinstance(node, list):
        for item in node:
            yield from walk(item)
    elif isinstance(node, dict) and "props" in node and "type" in node:
        yield node
        for value in node["props"].values():
            yield from walk(value)


def _id_key(component_id: Any) -> str:
    """A component id as a hashable key (pattern-matching ids are dicts)."""
    return component_id if isinstance(component_id, str) else json.dumps(component_id, sort_keys=True)


def register(tree: Any, values: dict, types: set) -> None:
    """Record the props of every component with an id in tree, and every component type seen."""
    for comp in walk(tree):
        types.add(comp["type"])
        if "id" in comp["props"]:
            values.setdefault(_id_key(comp["props"]["id"]), {}).update(comp["props"])


def trace_points(node: Any) -> tuple[int, int]:
    """(largest number of points in one trace, number of traces) over every figure in a callback response."""
    best, traces = 0, 0
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("data"), list) and isinstance(item.get("layout"), dict):
                for trace in item["data"]:
                    if isinstance(trace, dict):
                        traces += 1
                        best = max(best, _length(trace.get("x")), _length(trace.get("y")))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return best, traces


def _length(array: Any) -> int:
    """Points in a plotly array: a list, or a typed array {dtype, bdata} (plotly >= 6)."""
    if isinstance(array, list):
        return len(array)
    if isinstance(array, dict) and "bdata" in array:
        return len(base64.b64decode(array["bdata"])) // _DTYPE_BYTES.get(str(array.get("dtype")), 8)
    return 0


def _ids_of(spec: str) -> list[tuple[str, str]]:
    """(id, prop) pairs of a dependency's output string ('a.b' or '..a.b...c.d..')."""
    parts = spec.strip(".").split("...") if spec.startswith("..") else [spec]
    return [tuple(p.rsplit(".", 1)) for p in parts]


def _present(values: dict, pairs) -> bool:
    """Every component id of the pairs is on the page."""
    return all(_id_key(i) in values for i, _ in pairs)


def eligible(dep: dict, values: dict) -> bool:
    """Would the renderer fire this callback on load? Not clientside, not prevent_initial_call, all ids present."""
    if dep.get("clientside_function") or dep.get("prevent_initial_call"):
        return False
    inputs = [(i["id"], i["property"]) for i in dep["inputs"]]
    return _present(values, _ids_of(dep["output"])) and _present(values, inputs)


def _blocked(dep: dict, pending: list[dict]) -> bool:
    """True while another pending callback still has to produce one of this callback's inputs."""
    wanted = {(_id_key(i["id"]), i["property"]) for i in dep["inputs"]}
    for other in pending:
        if other is not dep and wanted & {(_id_key(i), p) for i, p in _ids_of(other["output"])}:
            return True
    return False


def payload(dep: dict, values: dict) -> dict:
    """The /_dash-update-component body the renderer sends for a dependency."""
    def item(spec):
        value = values.get(_id_key(spec["id"]), {}).get(spec["property"])
        return {"id": spec["id"], "property": spec["property"], "value": value}
    pairs = _ids_of(dep["output"])
    outputs = [{"id": i, "property": p} for i, p in pairs]
    return {"output": dep["output"], "outputs": outputs if dep["output"].startswith("..") else outputs[0],
            "inputs": [item(s) for s in dep["inputs"]], "state": [item(s) for s in dep.get("state", [])],
            "changedPropIds": []}


def fetch(get: Get, kind: str, path: str, gzip_size: Callable[[bytes], int]) -> tuple[Fetch, bytes]:
    """GET one path and record it."""
    t0 = time.perf_counter()
    status, headers, body = get(path)
    seconds = time.perf_counter() - t0
    compressed = len(body) if headers.get("Content-Encoding") == "gzip" else gzip_size(body)
    return Fetch(kind, path, status, len(body), compressed, seconds), body


def load_static(get: Get, gzip_size, page: PageLoad, path: str) -> list[str]:
    """The index page, its scripts and stylesheets and their fonts; returns the stylesheets' paths."""
    f, body = fetch(get, "html", path, gzip_size)
    page.fetches.append(f)
    scripts, styles = index_assets(body.decode("utf-8", "replace"))
    for src in scripts:
        page.fetches.append(fetch(get, "script", src, gzip_size)[0])
    fonts = []
    for href in styles:
        f, css = fetch(get, "css", href, gzip_size)
        page.fetches.append(f)
        fonts += css_fonts(css.decode("utf-8", "replace"), href)
    for font in sorted(set(fonts)):
        page.fetches.append(fetch(get, "font", font, gzip_size)[0])
    return styles


def run_callbacks(post: Post, gzip_size, deps: list[dict], page: PageLoad, types: set) -> None:
    """Fire the initial callbacks in dependency order, feeding outputs forward, until none is left."""
    fired: set[str] = set()
    while True:
        pending = [d for d in deps if d["output"] not in fired and eligible(d, page.values)]
        ready = [d for d in pending if not _blocked(d, pending)] or pending[:1]
        if not ready:
            return
        dep = ready[0]
        fired.add(dep["output"])
        request = payload(dep, page.values)
        t0 = time.perf_counter()
        status, _, body = post("/_dash-update-component", request)
        f = Fetch("callback", dep["output"], status, len(body), gzip_size(body), time.perf_counter() - t0,
                  request=request)
        if status == 200 and body:
            response = json.loads(body).get("response", {})
            f.points_per_trace, f.traces = trace_points(response)
            for cid, props in response.items():
                page.values.setdefault(cid, {}).update(props)
                register(list(props.values()), page.values, types)
        page.fetches.append(f)


def load_page(get: Get, post: Post, gzip_size, pathname: str = "/", search: str = "") -> PageLoad:
    """Everything one page load fetches, with the URL (the dcc.Location) at pathname + search."""
    page, types = PageLoad(), set()
    load_static(get, gzip_size, page, pathname + search)
    f, body = fetch(get, "layout", "/_dash-layout", gzip_size)
    page.fetches.append(f)
    layout = json.loads(body)
    register(layout, page.values, types)
    f, body = fetch(get, "dependencies", "/_dash-dependencies", gzip_size)
    page.fetches.append(f)
    for location in (c["props"]["id"] for c in walk(layout) if c["type"] == "Location" and "id" in c["props"]):
        page.values[_id_key(location)].update({"pathname": pathname, "search": search, "href": pathname + search})
    run_callbacks(post, gzip_size, json.loads(body), page, types)
    for chunk in async_chunks(types, page):
        page.fetches.append(fetch(get, "async chunk", SUITES + chunk, gzip_size)[0])
    return page


def async_chunks(types: set, page: PageLoad) -> list[str]:
    """The lazily loaded chunks the page's components pull in; none for plotly.js when a page script already
    defines window.Plotly (dcc.Graph then uses that bundle instead of fetching Dash's full copy)."""
    chunks = {c for t in types for c in ASYNC_CHUNKS.get(t, ())}
    if any(f.kind == "script" and "plotly" in f.path.lower() for f in page.fetches):
        chunks.discard(PLOTLY_CHUNK)
    return sorted(chunks)
