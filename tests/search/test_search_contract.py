"""The CellSearcher contract, over every registered strategy (Optuna's contract-test habit).

Each strategy runs a small entry on the dry-run objective through the same driver: exactly
``entry.trials`` suggestions, indices 0..N-1, inside the space, reproducible for a seed, and
interruptible at any moment (state JSON round-trip or pickle) without losing or changing a
suggestion.
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from gansweep.search import DONE, STRATEGIES
from gansweep.study.schema import HYPERPARAMETERS, Choice

from .helpers import GP_CELL, PAPER_SPACE, PLAIN_CELL, drive, entry, make, objective, restore_by_pickle, \
    restore_by_state

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Small entries: seconds for the whole module. Optuna's first 10 trials are random draws, so its
# entry runs a third round through TPE; Optuna's GPSampler (torch) is tested in test_optuna.py.
ENTRIES = {
    "table1": {"strategy": "table1"},
    "random": {"strategy": "random", "trials": 15, "space": PAPER_SPACE},
    "gp": {"strategy": "gp", "rounds": 3, "per_round": 4, "space": PAPER_SPACE},
    "optuna": {"strategy": "optuna", "trials": 13, "per_round": 5, "space": PAPER_SPACE},
}


def test_every_registered_strategy_is_covered():
    assert set(STRATEGIES.names()) == set(ENTRIES)


@pytest.fixture(params=sorted(ENTRIES))
def strategy(request):
    return request.param


def inside(params: dict, space: dict) -> bool:
    for name, v in params.items():
        assert isinstance(v, float), (name, v)
        dim = space[name]
        if isinstance(dim, Choice):
            assert v in dim.choices, (name, v)
            continue
        assert dim.low <= v <= dim.high, (name, v, dim)
        if HYPERPARAMETERS[name][2]:
            assert v == int(v), (name, v)
    return True


@pytest.mark.parametrize("cell", [GP_CELL, PLAIN_CELL], ids=["penalty", "no_penalty"])
def test_trials_indices_and_space(strategy, cell):
    e = entry(ENTRIES[strategy], cell)
    s = make(e, seed=1)
    run, s = drive(s, objective(cell))
    s.close()
    assert [x.index for x in run.suggestions] == list(range(e.trials))
    assert sorted(run.scores) == list(range(e.trials))
    space = e.space()
    for x in run.suggestions:
        if strategy == "table1":  # the paper's fixed settings, not a space
            assert set(x.params) <= set(HYPERPARAMETERS)
        else:
            assert set(x.params) == set(space)
            assert inside(x.params, space)
        assert ("penalty_weight" in x.params) == (cell.penalty != "none")
    if strategy in ("gp", "optuna"):
        per_round = e.search.per_round
        assert [x.round for x in run.suggestions] == [i // per_round for i in range(e.trials)]
        assert run.nones >= 1  # it waited for its rounds
    assert s.ask() == DONE and s.ask() == DONE


def test_reproducible_for_a_seed(strategy):
    e = entry(ENTRIES[strategy])
    f = objective(GP_CELL)
    a, sa = drive(make(e, seed=7), f, rng=np.random.default_rng(1))
    b, sb = drive(make(e, seed=7), f, rng=np.random.default_rng(2))  # other result order
    assert a.key() == b.key()
    if strategy != "table1":
        c, sc = drive(make(e, seed=8), f)
        assert c.key() != a.key()
        sc.close()
    sa.close(), sb.close()


@pytest.mark.parametrize("how", ["state", "pickle"])
def test_interrupt_anywhere(strategy, how):
    """Save/restore (or pickle) at random moments: the remaining suggestions are unchanged."""
    e = entry(ENTRIES[strategy])
    f = objective(GP_CELL)
    reference, s = drive(make(e, seed=3), f, rng=np.random.default_rng(5))
    s.close()
    restore = restore_by_state if how == "state" else restore_by_pickle
    pick = np.random.default_rng(11)
    events = 2 * e.trials + 10
    at = {int(i) for i in pick.choice(np.arange(2, events), size=4, replace=False)}
    run, s = drive(make(e, seed=3), f, rng=np.random.default_rng(5), interrupt_at=at,
                   restore=lambda x: restore(x, e, 3))
    s.close()
    assert run.key() == reference.key()
    assert run.scores == reference.scores


def test_state_is_strict_json_at_every_step(strategy):
    e = entry(ENTRIES[strategy])
    s = make(e, seed=0)
    f = objective(GP_CELL)
    seen = 0
    while (got := s.ask()) != DONE:
        json.dumps(s.get_state(), allow_nan=False)
        if got is None:
            s.wait(60)
            continue
        seen += 1
        s.tell(got.index, math.inf if seen % 3 == 0 else f(got.params))  # with failures
    json.dumps(s.get_state(), allow_nan=False)
    pickle.dumps(s)
    s.close()
