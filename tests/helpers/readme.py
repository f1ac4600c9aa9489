"""The README and its config reference tables."""
from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def table_keys(text: str) -> set[str]:
    """The backticked names in the first cell of every Markdown table row."""
    return set(re.findall(r"^\|\s*`([^`]+)`\s*\|", text, flags=re.MULTILINE))
