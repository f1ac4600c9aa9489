"""README.md documents every setting in settings.SETTINGS in its config reference table."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from settings import SETTINGS

README = Path(__file__).resolve().parents[2] / "README.md"


def table_keys(text: str) -> set[str]:
    """The backticked names in the first cell of every Markdown table row."""
    return set(re.findall(r"^\|\s*`([^`]+)`\s*\|", text, flags=re.MULTILINE))


def test_readme_exists():
    assert README.is_file(), "README.md is missing: it must carry the config reference table"


@pytest.mark.parametrize("name", [s.name for s in SETTINGS])
def test_every_setting_has_a_row_in_the_config_reference(name):
    text = README.read_text(encoding="utf-8") if README.is_file() else ""
    assert name in table_keys(text), f"README.md has no table row for `{name}`"

