"""Data sets by name: what a study's ``grid.dataset`` may choose (and ``folder:``/``npz:`` paths).

Each loader returns a :class:`Dataset` held in memory as float tensors: the small embedded sets
train from there directly (no DataLoader, no per-step host work). The facts about each data set
live in the torch-free :mod:`gansweep.data.specs`; the loaders (and torch) are imported on first
use of :data:`DATASETS`, :class:`Dataset` or :func:`load_dataset` (PEP 562), so reading the facts
costs no torch import.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["DATASETS", "Dataset", "load_dataset"]

# The modules whose import registers loaders into DATASETS / PATH_LOADERS.
_LOADER_MODULES = ("gansweep.data.digits", "gansweep.data.mixtures", "gansweep.data.real")


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in _LOADER_MODULES:
        importlib.import_module(module)
    return getattr(importlib.import_module("gansweep.data.base"), name)
