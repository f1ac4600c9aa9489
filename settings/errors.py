"""The one error a config can raise, and the shape every setting is declared in."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the key path and the problem."""


@dataclass(frozen=True)
class Setting:
    """One config key: its name, default (None = required or optional) and help."""

    name: str
    default: Any
    help: str
    required: bool = False
