"""The packages import only downward: each may import its own modules and packages of a lower layer.

The layers are the README's code map; a package or top-level module missing from LAYERS fails the test, so a
new one has to be placed (and documented) before it lands.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Lowest first. Packages on one layer do not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("common",),
    ("settings",),
    ("storage",),
    ("collector",),
    ("queries", "figures"),
    ("runtime",),
    ("api", "layouts"),
    ("security", "callbacks"),
    ("app", "pinger"),
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
OUTSIDE = {"tests", "bench", "tools", "docs", "assets"}  # may import anything; nothing imports them


def project_units() -> list[str]:
    """Top-level packages and modules of the project (what LAYERS must place)."""
    units = [p.name for p in REPO.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    units += [p.stem for p in REPO.glob("*.py")]
    return sorted(u for u in units if u not in OUTSIDE)


def imported_units(path: Path) -> set[str]:
    """The project units a module imports at run time (imports under `if TYPE_CHECKING:` excepted)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & (set(RANK) | OUTSIDE)


def unit_files(unit: str) -> list[Path]:
    """The source files of a package or top-level module."""
    folder = REPO / unit
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [REPO / f"{unit}.py"]


def test_every_package_has_a_layer():
    assert [u for u in project_units() if u not in RANK] == []


@pytest.mark.parametrize("unit", sorted(RANK))
def test_imports_point_down(unit):
    wrong = []
    for path in unit_files(unit):
        for other in imported_units(path) - {unit}:
            if other in OUTSIDE or RANK[other] >= RANK[unit]:
                wrong.append(f"{path.relative_to(REPO)} imports {other} (layer {RANK.get(other)} >= {RANK[unit]})")
    assert wrong == []


def test_settings_imports_nothing_of_the_project_but_common():
    for path in unit_files("settings"):
        assert imported_units(path) - {"settings", "common"} == set(), path


def test_the_layer_test_sees_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from api.routes import bp\nimport runtime.services\n")
    assert imported_units(bad) == {"api", "runtime"}


def test_the_collector_alone_loads_no_web_or_data_frame_library():
    code = ("import sys, runpy; sys.argv = ['pinger.py', '--help']\n"
            "try:\n    runpy.run_path('pinger.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "import collector.service, collector.cli, settings\n"
            "print(sorted(m for m in ('flask', 'dash', 'pandas', 'plotly', 'werkzeug') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_loading_a_config_with_auth_loads_no_web_library(tmp_path):
    code = ("import sys\nfrom settings import validate_config\nfrom tests.conftest import make_config_dict\n"
            "from pathlib import Path\n"
            f"validate_config(make_config_dict(Path({str(tmp_path)!r}), auth={{'api_token': 'x' * 20}}))\n"
            "print(sorted(m for m in ('flask', 'werkzeug', 'dash') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def code_map_rows() -> dict[str, int]:
    """The README code map's packages and their layer numbers."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("<!-- code-map -->", 1)[1].split("<!-- /code-map -->", 1)[0]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        layer, names = (cell.strip() for cell in line.strip("|").split("|")[:2])
        for name in names.replace("`", "").split(","):
            rows[name.strip().rstrip("/").removesuffix(".py")] = int(layer)
    return rows


def test_the_readme_code_map_matches_the_layers():
    assert code_map_rows() == RANK
