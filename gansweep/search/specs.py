"""The facts about each search strategy, importable without torch, scikit-optimize or optuna.

:data:`STRATEGY_SPECS` is the one list of strategies a study may name. Each entry carries its
schema fragment (the pydantic model of its ``search`` entry, whose ``strategy`` literal is the
name, with its options and trial count), and whether it learns from earlier rounds (``sequential``:
its budget curve is a function of the order trials ran in). The study loader's error texts and
the analysis read it (the loader reads the names from :data:`gansweep.study.schema.STRATEGY_MODELS`); :data:`gansweep.search.STRATEGIES` holds the searcher factories under the
same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from pydantic import BaseModel

from gansweep.registry import Registry
from gansweep.study.schema import STRATEGY_MODELS


@dataclass(frozen=True)
class StrategySpec:
    """A search strategy: its study-file schema (its options) and whether it is sequential."""

    schema: type[BaseModel]
    sequential: bool
    initial_design: str | None = None
    """What round 0 is when the strategy has no results to learn from yet (``suggested_by`` names
    it ``<strategy>:initial-design``): a sequential strategy's first round is not its model's choice."""

    @property
    def name(self) -> str:
        (name,) = get_args(self.schema.model_fields["strategy"].annotation)
        return name


STRATEGY_SPECS: Registry[StrategySpec] = Registry("strategy")
for _spec in (
    StrategySpec(STRATEGY_MODELS["table1"], sequential=False),
    StrategySpec(STRATEGY_MODELS["random"], sequential=False),
    StrategySpec(STRATEGY_MODELS["gp"], sequential=True, initial_design="a Latin hypercube"),
    StrategySpec(STRATEGY_MODELS["optuna"], sequential=True,
                 initial_design="the sampler's independent (random) draws"),
):
    STRATEGY_SPECS.add(_spec.name, _spec)

SEQUENTIAL_STRATEGIES = tuple(name for name, spec in STRATEGY_SPECS.items() if spec.sequential)
INITIAL_DESIGN = "initial-design"


def initial_design_label(strategy: str) -> str:
    """``suggested_by`` of a round-0 trial: ``gp:initial-design`` for a strategy whose first round
    is an initial design, the strategy's name otherwise."""
    spec = STRATEGY_SPECS.get(strategy)
    return f"{strategy}:{INITIAL_DESIGN}" if spec is not None and spec.initial_design else strategy
