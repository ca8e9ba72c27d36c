"""Gaussian-process bandit in synchronous rounds, as the GAN Landscape paper ran it (12 × 10).

Round 0 is a seeded Latin hypercube; every later round fits scikit-optimize's GP (Matérn 5/2,
fitted noise, normalised scores) on all results so far and asks for ``per_round`` points with
the constant liar (``cl_min``). Diverged and failed trials (+inf) enter the fit as the worst
finite score plus half the observed spread: the region is bad, the GP stays finite.

Two choices keep a round to about a second instead of 10+ s on a small driver (bench/bench_search.py):

- the lies reuse the kernel fitted on the real results (Ginsbourger et al.'s constant liar keeps
  the hyperparameters fixed); re-optimising them on made-up values costs 10 fits a round;
- the acquisition is minimised over ``n_points`` random candidates (skopt's ``sampling``), and
  the GP's predictive variance is computed with one matrix product instead of a 3-operand einsum.

Rounds run in the background (:mod:`gansweep.search.background`); a round is a pure function of
(seed, round, earlier results), so a restore recomputes exactly what was lost.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, get_args

import numpy as np

from gansweep.compat import skopt as compat
from gansweep.search.background import RoundSearcher, finite_scores, round_seed, split_space
from gansweep.search.space import is_integer, skopt_dimensions
from gansweep.study.schema import Choice, GPSearch, Range

ACQUISITIONS = get_args(GPSearch.model_fields["acquisition"].annotation)
N_POINTS = 2000  # random candidates the acquisition is minimised over
LHS_ITERATIONS = 100  # maximin iterations of the round-0 Latin hypercube

# Warnings the fit raises on every round (length scales at a bound, noise at its floor):
# expected on a low-dimensional smooth surface, noise in a study's log.
warnings.filterwarnings("ignore", category=UserWarning, module=r"sklearn\.gaussian_process")
warnings.filterwarnings("ignore", message="The objective has been evaluated", module=r"skopt")


def to_params(names: list[str], space: dict[str, Choice | Range], point: list[Any],
              fixed: dict[str, float]) -> dict[str, float]:
    """A skopt point as plain floats, inside the space (integers rounded, ranges clipped)."""
    out = dict(fixed)
    for name, value in zip(names, point, strict=True):
        dim = space[name]
        v = float(value)
        if isinstance(dim, Range):
            v = min(max(v, dim.low), dim.high)
            if is_integer(name):
                v = float(min(max(round(v), math.ceil(dim.low)), math.floor(dim.high)))
        out[name] = v
    return dict(sorted(out.items()))


def _gp_estimator(dims: list[Any], random_state: int) -> Any:
    """``base_estimator="GP"`` as skopt cooks it for these dimensions, as a :class:`FastGP`.

    Seeded: the restarts of the kernel fit draw from it (unseeded, a restore could differ).
    """
    cooked = compat.cook_gp(dims, random_state)
    return compat.fast_gp_class()(**cooked.get_params(deep=False))


def _with_fixed_kernel(est: Any) -> Any:
    """An unfitted copy of fitted ``est`` whose kernel (noise included) is not re-optimised."""
    from sklearn.base import clone
    from skopt.learning.gaussian_process.kernels import WhiteKernel

    kernel = clone(est.kernel_)
    present, name = compat.white_noise_param(kernel)
    if present:  # skopt zeroes the fitted noise for prediction and keeps it in noise_
        kernel.set_params(**{name: WhiteKernel(noise_level=max(est.noise_ or 0.0, 1e-10),
                                               noise_level_bounds="fixed")})
    return clone(est).set_params(kernel=kernel, optimizer=None)


def suggest_round(space: dict[str, Choice | Range], round_: int, size: int, params: list[dict[str, float]],
                  scores: list[float], acquisition: str, seed: int, extra: dict[str, Any],
                  n_points: int = N_POINTS) -> tuple[list[dict[str, float]], dict[str, Any]]:
    """One round of suggestions: a pure function of its arguments (runs in the background).

    ``extra`` carries gp_hedge's gains and last candidates from round to round, as one long-lived
    skopt optimizer would.
    """
    from sklearn.base import clone
    from skopt import Optimizer
    from skopt.sampler import Lhs

    free, fixed = split_space(space)
    names, dims = skopt_dimensions(free)
    rs = round_seed(seed, round_)
    if not names:
        return [dict(sorted(fixed.items())) for _ in range(size)], extra
    if round_ == 0 or not params:
        design = Lhs(criterion="maximin", iterations=LHS_ITERATIONS).generate(dims, size, random_state=rs)
        return [to_params(names, free, p, fixed) for p in design], extra

    X = [[p[n] for n in names] for p in params]
    y = finite_scores(scores).tolist()
    kw = dict(acq_func=acquisition, acq_optimizer="sampling", n_initial_points=0,
              acq_optimizer_kwargs={"n_points": n_points}, random_state=rs)
    cooked = Optimizer(dims, base_estimator=_gp_estimator(dims, rs), **kw)
    est = clone(cooked.base_estimator_).fit(cooked.space.transform(X), y)
    opt = Optimizer(dims, base_estimator=_with_fixed_kernel(est), **kw)
    new_extra: dict[str, Any] = {}
    if acquisition == "gp_hedge":
        if extra.get("gains") is not None:
            opt.gains_ = np.asarray(extra["gains"], dtype=float)
            opt.next_xs_ = [np.asarray(x, dtype=float) for x in extra["next_xs"]]
        opt.tell(X, y)  # fits, rewards the last round's candidates, proposes this round's
        new_extra = {"gains": [float(g) for g in opt.gains_],
                     "next_xs": [[float(v) for v in x] for x in opt.next_xs_]}
    else:
        opt.tell(X, y, fit=False)  # ask() below fits its own copy
    points = opt.ask(n_points=size, strategy="cl_min")
    return [to_params(names, free, p, fixed) for p in points], new_extra


class GPSearcher(RoundSearcher):
    """GP bandit over one cell's space: ``rounds`` synchronous rounds of ``per_round``."""

    FALLBACK_SALT = 1

    def __init__(self, space: dict[str, Choice | Range], rounds: int = 12, per_round: int = 10,
                 acquisition: str = "EI", seed: int = 0, n_points: int = N_POINTS) -> None:
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition must be one of {', '.join(ACQUISITIONS)}, but got {acquisition!r}")
        super().__init__(space, rounds * per_round, per_round, seed)
        self.acquisition = acquisition
        self.n_points = n_points

    def round_job(self, round_, size, params, scores, extra):
        return suggest_round, (self.space, round_, size, params, scores, self.acquisition, self.seed,
                               extra, self.n_points)


def make_gp(entry: Any, seed: int) -> GPSearcher:
    s = entry.search
    return GPSearcher(entry.space(), s.rounds, s.per_round, s.acquisition, seed)
