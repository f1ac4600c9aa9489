"""An attribute that lives on one of its owner's parts, so a class split into parts keeps its old surface."""
from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Forward(Generic[T]):
    """`last_error = Forward[str | None]("store")` reads and writes owner.store.last_error.

    Declared name by name (unlike a __getattr__ fallback), so the owner's surface is listed in its class body
    and a type checker knows each attribute's type.
    """

    def __init__(self, part: str):
        self.part = part
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]  # the class attribute itself, for introspection and docs
        return getattr(getattr(obj, self.part), self.name)

    def __set__(self, obj: Any, value: T) -> None:
        setattr(getattr(obj, self.part), self.name, value)
