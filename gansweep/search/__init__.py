"""Search strategies by name, and the composite searcher that serves a whole study."""

from __future__ import annotations

from collections.abc import Callable

from gansweep.registry import Registry
from gansweep.search.base import DONE, CellSearcher, Suggestion
from gansweep.search.random import make_random
from gansweep.search.table1 import make_table1

StrategyFactory = Callable[..., CellSearcher]
"""``factory(entry: PlanEntry, seed: int) -> CellSearcher``."""

STRATEGIES: Registry[StrategyFactory] = Registry("search strategy")
STRATEGIES.add("table1", make_table1)
STRATEGIES.add("random", make_random)

try:  # strategies with optional heavy imports register themselves
    from gansweep.search import gp as _gp  # noqa: F401
except ImportError:  # pragma: no cover - scikit-optimize missing
    pass
try:
    from gansweep.search import optuna as _optuna  # noqa: F401
except ImportError:  # pragma: no cover - optuna missing
    pass

__all__ = ["DONE", "STRATEGIES", "CellSearcher", "Suggestion"]
