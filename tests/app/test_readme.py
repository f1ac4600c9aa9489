"""README.md documents every setting in settings.SETTINGS in its config reference table."""
from __future__ import annotations


import pytest

from settings import SETTINGS
from tests.helpers.readme import README, table_keys

def test_readme_exists():
    assert README.is_file(), "README.md is missing: it must carry the config reference table"


@pytest.mark.parametrize("name", [s.name for s in SETTINGS])
def test_every_setting_has_a_row_in_the_config_reference(name):
    text = README.read_text(encoding="utf-8") if README.is_file() else ""
    assert name in table_keys(text), f"README.md has no table row for `{name}`"

