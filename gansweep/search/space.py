"""Search-space dimensions: random draws and conversion to optimiser dimensions."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gansweep.study.schema import HYPERPARAMETERS, Choice, Range


def is_integer(name: str) -> bool:
    return HYPERPARAMETERS[name][2]


def sample(space: dict[str, Choice | Range], rng: np.random.Generator) -> dict[str, float]:
    """One point: log-uniform, uniform or uniform over choices; integers rounded."""
    out: dict[str, float] = {}
    for name in sorted(space):
        dim = space[name]
        if isinstance(dim, Choice):
            value = float(dim.choices[int(rng.integers(len(dim.choices)))])
        elif dim.log:
            value = math.exp(rng.uniform(math.log(dim.low), math.log(dim.high)))
        else:
            value = float(rng.uniform(dim.low, dim.high))
        if is_integer(name) and not isinstance(dim, Choice):
            value = float(min(max(round(value), math.ceil(dim.low)), math.floor(dim.high)))
        out[name] = value
    return out


def skopt_dimensions(space: dict[str, Choice | Range]) -> tuple[list[str], list[Any]]:
    """Names (sorted) and scikit-optimize dimensions of a space."""
    from skopt.space import Categorical, Integer, Real

    names = sorted(space)
    dims: list[Any] = []
    for name in names:
        dim = space[name]
        if isinstance(dim, Choice):
            dims.append(Categorical(list(dim.choices), name=name))
        elif is_integer(name):
            dims.append(Integer(math.ceil(dim.low), math.floor(dim.high),
                                prior="log-uniform" if dim.log else "uniform", name=name))
        else:
            dims.append(Real(dim.low, dim.high, prior="log-uniform" if dim.log else "uniform", name=name))
    return names, dims
