"""Random search: independent draws from the space, reproducible from the seed."""

from __future__ import annotations

import numpy as np

from gansweep.search.base import ListSearcher
from gansweep.search.space import sample
from gansweep.study.plan import PlanEntry


def make_random(entry: PlanEntry, seed: int) -> ListSearcher:
    rng = np.random.default_rng(seed)
    space = entry.space()
    return ListSearcher([sample(space, rng) for _ in range(entry.trials)], seed)
