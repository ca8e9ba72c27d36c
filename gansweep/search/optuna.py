"""Optuna's samplers (TPE, GP) as a round-based strategy: batches of ``per_round`` asked together.

Each round builds an in-memory study from the told results (``add_trials`` replay, +inf replaced
as for the GP: worst finite score plus half the spread) and asks ``per_round`` trials; the ones
asked before in the same batch are running trials, which TPE's constant liar and GPSampler's
q-batch acquisition take into account. A fresh sampler seeded by (seed, round) makes a round a
pure function of the earlier results, so a restore recomputes exactly what was lost; rounds run
in the background (GPSampler takes seconds a round).

The first ``n_startup_trials`` (Optuna's default, 10) are the sampler's seeded random draws.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, get_args

from gansweep.search.background import RoundSearcher, finite_scores, round_seed, split_space
from gansweep.search.space import is_integer
from gansweep.study.schema import Choice, OptunaSearch, Range

SAMPLERS = get_args(OptunaSearch.model_fields["sampler"].annotation)
warnings.filterwarnings("ignore", message=r".*is experimental", module=r"optuna")


def distributions(space: dict[str, Choice | Range]) -> dict[str, Any]:
    """Optuna distributions of a space: log/uniform floats, integers, categoricals."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for name in sorted(space):
        dim = space[name]
        if isinstance(dim, Choice):
            out[name] = CategoricalDistribution([float(c) for c in dim.choices])
        elif is_integer(name):
            out[name] = IntDistribution(math.ceil(dim.low), math.floor(dim.high), log=dim.log)
        else:
            out[name] = FloatDistribution(dim.low, dim.high, log=dim.log)
    return out


def make_sampler(kind: str, seed: int) -> Any:
    import optuna

    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    if kind == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, but got {kind!r}")


def _quiet_optuna() -> None:
    """Optuna logs every study it creates at INFO; a study creates one per round and cell."""
    import optuna

    if optuna.logging.get_verbosity() < optuna.logging.WARNING:
        optuna.logging.set_verbosity(optuna.logging.WARNING)


def suggest_round(space: dict[str, Choice | Range], round_: int, size: int, params: list[dict[str, float]],
                  scores: list[float], sampler: str, seed: int,
                  extra: dict[str, Any]) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """One batch of suggestions: a pure function of its arguments (runs in the background)."""
    import optuna

    _quiet_optuna()
    free, fixed = split_space(space)
    if not free:
        return [dict(sorted(fixed.items())) for _ in range(size)], extra
    dists = distributions(free)
    study = optuna.create_study(direction="minimize", sampler=make_sampler(sampler, round_seed(seed, round_)))
    values = finite_scores(scores) if scores else []
    study.add_trials([
        optuna.trial.create_trial(params={n: _internal(dists[n], p[n]) for n in dists}, distributions=dists,
                                  value=float(v))
        for p, v in zip(params, values, strict=True)
    ])
    out = []
    for _ in range(size):
        trial = study.ask(dists)
        out.append(dict(sorted({**fixed, **{n: float(v) for n, v in trial.params.items()}}.items())))
    return out, extra


def _internal(dist: Any, value: float) -> Any:
    """A stored value as the distribution holds it (ints as int, clipped into the range)."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return min(dist.choices, key=lambda c: abs(c - value))
    v = min(max(value, dist.low), dist.high)
    return int(round(v)) if isinstance(dist, IntDistribution) else float(v)


class OptunaSearcher(RoundSearcher):
    """Optuna's TPE or GP sampler over one cell's space, in batches of ``per_round``."""

    FALLBACK_SALT = 2

    def __init__(self, space: dict[str, Choice | Range], trials: int, per_round: int = 10,
                 sampler: str = "tpe", seed: int = 0) -> None:
        if sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {', '.join(SAMPLERS)}, but got {sampler!r}")
        super().__init__(space, trials, per_round, seed)
        self.sampler = sampler

    def round_job(self, round_, size, params, scores, extra):
        return suggest_round, (self.space, round_, size, params, scores, self.sampler, self.seed, extra)


def make_optuna(entry: Any, seed: int) -> OptunaSearcher:
    s = entry.search
    return OptunaSearcher(entry.space(), entry.trials, s.per_round, s.sampler, seed)
