"""Optuna's samplers as a round-based strategy: dimensions, +inf, and the GP sampler (slow, torch)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gansweep.search import DONE
from gansweep.search.optuna import OptunaSearcher, distributions
from gansweep.study.schema import Choice, Range

from .helpers import GP_CELL, PAPER_SPACE, drive, entry, make, objective, restore_by_state


def test_distributions():
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    d = distributions({
        "lr": Range(low=1e-5, high=1e-2, log=True),
        "beta1": Range(low=0.0, high=1.0),
        "n_disc": Range(low=1, high=16, log=True),
        "penalty_weight": Choice(choices=[1.0, 10.0]),
    })
    assert d["lr"] == FloatDistribution(1e-5, 1e-2, log=True)
    assert d["beta1"] == FloatDistribution(0.0, 1.0)
    assert d["n_disc"] == IntDistribution(1, 16, log=True)
    assert d["penalty_weight"] == CategoricalDistribution([1.0, 10.0])


def test_tpe_integer_and_log_dimensions():
    space = {"lr": PAPER_SPACE["lr"], "n_disc": {"low": 1, "high": 8, "log": True}}
    e = entry({"strategy": "optuna", "trials": 16, "per_round": 4, "space": space})
    run, s = drive(make(e, seed=0), objective(GP_CELL))
    s.close()
    assert len(run.suggestions) == 16
    for x in run.suggestions:
        assert x.params["n_disc"] == int(x.params["n_disc"]) and 1 <= x.params["n_disc"] <= 8
        assert 1e-5 <= x.params["lr"] <= 1e-2


def test_infinite_scores_and_short_last_round():
    s = OptunaSearcher(entry({"strategy": "optuna", "trials": 13, "per_round": 5, "space": PAPER_SPACE}).space(),
                       trials=13, per_round=5, seed=0)
    told = 0
    while (got := s.ask()) != DONE:
        if got is None:
            assert s.wait(60)
            continue
        s.tell(got.index, math.inf if told % 2 else 40.0 + told)
        told += 1
    assert told == 13 and s._fallbacks == {}
    assert [sc for _, sc in s.get_state()["scores"]].count(None) == 6


def test_bad_sampler():
    with pytest.raises(ValueError, match="sampler must be one of"):
        OptunaSearcher({"lr": Range(low=1e-5, high=1e-2, log=True)}, trials=4, sampler="cmaes")


@pytest.mark.slow
def test_gp_sampler_rounds_reproducible_and_restorable():
    """GPSampler (torch, seconds a round): 3 rounds of 5, same seed → same run, restore mid-round."""
    e = entry({"strategy": "optuna", "sampler": "gp", "trials": 15, "per_round": 5, "space": PAPER_SPACE})
    f = objective(GP_CELL)
    a, s = drive(make(e, seed=1), f)
    s.close()
    assert [x.round for x in a.suggestions] == [i // 5 for i in range(15)]
    b, s = drive(make(e, seed=1), f, interrupt_at={9, 17}, restore=lambda x: restore_by_state(x, e, 1),
                 rng=np.random.default_rng(3))
    s.close()
    assert a.key() == b.key()
