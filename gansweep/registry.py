"""Name → component registries: the single list of what a study file may name.

The study schema takes its allowed names from these registries, so a new loss or architecture is
one decorated function and nothing is listed twice.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from gansweep.errors import GansweepError

T = TypeVar("T")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Registry(Generic[T]):
    """A checked mapping from lowercase names to components of one kind."""

    def __init__(self, kind: str, specs: Registry[Any] | None = None) -> None:
        self.kind = kind
        self.specs = specs  # an implementation registry: only names with a spec (its facts) register
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering ``obj`` under ``name``; refuses bad and duplicate names."""
        if not _NAME.match(name):
            raise ValueError(f"{self.kind} name {name!r} must match {_NAME.pattern}")
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        if self.specs is not None and name not in self.specs:
            raise ValueError(f"{self.kind} {name!r} has no spec: add it to the specs ({self.specs.kind}) first")

        def add(obj: T) -> T:
            self._items[name] = obj
            return obj

        return add

    def add(self, name: str, obj: T) -> T:
        """Register ``obj`` directly (for values that are not definitions)."""
        return self.register(name)(obj)

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise GansweepError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        hint = difflib.get_close_matches(str(name), self.names(), n=1)
        did = f" (did you mean {hint[0]!r}?)" if hint else ""
        return f"unknown {self.kind} {name!r}{did}; choose from {', '.join(self.names())}"

    def get(self, name: object) -> T | None:
        """The entry under ``name``, or None (for names read from user data, which may be anything)."""
        return self._items.get(name) if isinstance(name, str) else None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._items.items())
