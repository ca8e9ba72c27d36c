"""The searcher factory of each strategy in :data:`gansweep.search.specs.STRATEGY_SPECS`."""

from __future__ import annotations

from collections.abc import Callable

from gansweep.search.specs import STRATEGY_SPECS
from gansweep.registry import Registry
from gansweep.search.base import CellSearcher
from gansweep.search.gp import make_gp
from gansweep.search.optuna import make_optuna
from gansweep.search.random import make_random
from gansweep.search.table1 import make_table1

StrategyFactory = Callable[..., CellSearcher]
"""``factory(entry: PlanEntry, seed: int) -> CellSearcher``."""

STRATEGIES: Registry[StrategyFactory] = Registry("search strategy", specs=STRATEGY_SPECS)
STRATEGIES.add("table1", make_table1)
STRATEGIES.add("random", make_random)
STRATEGIES.add("gp", make_gp)
STRATEGIES.add("optuna", make_optuna)
