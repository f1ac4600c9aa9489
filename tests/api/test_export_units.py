"""The CSV export writes floats as measured (0.001 ms), not binary noise, and the README documents every
column's unit under the seed's column names."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pandas as pd

from collector.probes.base import ProbeResult
from queries.export import cell_text, iter_csv, iter_json
from queries.pingdata import EXPORT_COLUMNS
from common.timeutil import utcnow
from tests.seeding import seed_history

README = Path(__file__).resolve().parents[2] / "README.md"
NOISY = 0.046 - 0.035  # 0.010999999999999996: what measure() computes as this round's jitter


def decimals(cell: str) -> int:
    """Digits after the point of a plain decimal cell."""
    return len(cell.split(".")[1]) if "." in cell else 0


def test_floats_are_written_to_the_thousandth():
    frame = pd.DataFrame({"jitter_time": [NOISY, 0.1 + 0.2, 110.0, -2.25, 33.33333333, None], "n": range(6)})
    rows = list(csv.reader(io.StringIO("".join(iter_csv([frame])))))
    assert [r[0] for r in rows[1:]] == ["0.011", "0.3", "110.0", "-2.25", "33.333", ""]
    assert [cell_text(v) for v in frame["jitter_time"]] == [r[0] for r in rows[1:]]  # cell by cell alike
    assert json.loads("".join(iter_json([frame], {})))["rows"][0]["jitter_time"] == 0.011


def noisy_profile(server_index: int, round_index: int) -> ProbeResult:
    """Sub-millisecond replies whose mean deviation and jitter come out of the arithmetic with binary noise."""
    return ProbeResult(transmitted=4, received=4, samples_ms=[0.035, 0.046, 0.035, 0.046])


def test_the_export_route_writes_what_was_measured(config, writer, client):
    seed_history(writer, config, utcnow().replace(microsecond=0), rounds=2, profile=noisy_profile)
    rows = list(csv.DictReader(io.StringIO(client.get("/api/export-data").get_data(as_text=True))))
    assert rows and {r["jitter_time"] for r in rows} == {"0.011"}
    assert {r["min_time"] for r in rows} == {"0.035"} and {r["max_time"] for r in rows} == {"0.046"}
    floats = [c for c in EXPORT_COLUMNS if c.endswith("_time") or c in ("loss_percentage", "r_factor", "mos")]
    assert max(decimals(r[c]) for r in rows for c in floats) <= 3
    body = client.get("/api/export-data?format=json").get_json()
    assert {r["jitter_time"] for r in body["rows"]} == {0.011}


def documented_columns() -> list[tuple[str, str, str]]:
    """(column, unit, meaning) of each row of the README's export column table."""
    text = README.read_text(encoding="utf-8")
    table = text.split("<!-- export-columns -->")[1].split("<!-- /export-columns -->")[0]
    rows = re.findall(r"^\|\s*`([^`]+)`\s*\|([^|]*)\|(.*)\|\s*$", table, flags=re.MULTILINE)
    return [(name, unit.strip(), meaning.strip()) for name, unit, meaning in rows]


def test_the_readme_documents_every_export_column_in_order_with_its_unit(client):
    documented = documented_columns()
    header = next(csv.reader(io.StringIO(client.get("/api/export-data").get_data(as_text=True))))
    assert [name for name, _, _ in documented] == EXPORT_COLUMNS == header  # one header row, the seed's names
    assert all(meaning for _, _, meaning in documented)
    units = {name: unit for name, unit, _ in documented}
    assert all(units[c] == "ms" for c in EXPORT_COLUMNS if c.endswith("_time"))
    assert units["loss_percentage"].startswith("%") and units["timestamp"] == "UTC"
