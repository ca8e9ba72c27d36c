"""Search strategies by name, and the composite searcher that serves a whole study.

:data:`STRATEGY_SPECS` (the facts, torch-free) is imported eagerly; :data:`STRATEGIES` (the
searcher factories, which pull in scikit-optimize and optuna) on first use (PEP 562), so code
that only reads the facts stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

from gansweep.search.specs import SEQUENTIAL_STRATEGIES, STRATEGY_SPECS, StrategySpec

__all__ = ["DONE", "SEQUENTIAL_STRATEGIES", "STRATEGIES", "STRATEGY_SPECS", "CellSearcher",
           "StrategySpec", "Suggestion"]


def __getattr__(name: str) -> Any:
    if name in ("DONE", "CellSearcher", "Suggestion"):
        return getattr(importlib.import_module("gansweep.search.base"), name)
    if name == "STRATEGIES":
        return importlib.import_module("gansweep.search.factories").STRATEGIES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
