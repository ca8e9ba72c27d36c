"""Shared helpers for the search tests: plan entries built directly, a driver, the dry-run objective."""

from __future__ import annotations

import json
import math
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gansweep.search import DONE, STRATEGIES, CellSearcher, Suggestion
from gansweep.study.plan import Cell, PlanEntry, entry_trials, resolve_hps
from gansweep.study.schema import GPSearch, OptunaSearch, RandomSearch, Table1
from gansweep.trial.synthetic import divergence_probability, final_score

PAPER_SPACE = {
    "lr": {"low": 1e-5, "high": 1e-2, "log": True},
    "beta1": {"low": 0.0, "high": 1.0},
    "beta2": {"low": 0.0, "high": 1.0},
    "n_disc": {"choices": [1, 5]},
    "penalty_weight": {"low": 0.1, "high": 100.0, "log": True},
}
GP_CELL = Cell("digits", "dcgan", "ns", "gp", "none")
PLAIN_CELL = Cell("digits", "dcgan", "ns", "none", "none")
WAIT_S = 120.0  # a background round that takes longer than this is a hung test
# ask/tell must not compute a round (>= 0.3 s of CPU) nor wait for one. A call's "work" is
# min(wall, thread CPU): wall alone counts descheduling on a shared 2-core machine (gaps of 50-100
# ms were seen with nothing in the background), thread CPU alone is charged in scheduler ticks.
# Waiting is caught structurally (ask() answers None while the round is pending) and by the
# generous wall bound.
MAX_CALL_WORK_S = 0.02
MAX_CALL_WALL_S = 0.5


def entry(search: dict, cell: Cell = GP_CELL) -> PlanEntry:
    model = {"table1": Table1, "random": RandomSearch, "gp": GPSearch, "optuna": OptunaSearch}[search["strategy"]]
    s = model.model_validate(search)
    return PlanEntry(cell, s, s.name or s.strategy, entry_trials(s, cell))


def make(e: PlanEntry, seed: int = 0) -> CellSearcher:
    return STRATEGIES[e.search.strategy](e, seed)


def objective(cell: Cell, with_divergence: bool = True) -> Callable[[dict], float]:
    """The dry-run's noiseless score; trials whose lr makes divergence likely (p > ½) diverge (+inf)."""

    def f(params: dict) -> float:
        config = {"hp": resolve_hps(cell, params), **cell.fields()}
        if with_divergence and divergence_probability(config) > 0.5:
            return math.inf
        return final_score(config)

    return f


@dataclass
class Run:
    suggestions: list[Suggestion] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)
    max_block_s: float = 0.0  # longest ask/tell, wall clock
    max_block_cpu_s: float = 0.0  # longest ask/tell, CPU time of the calling thread
    max_block_work_s: float = 0.0  # largest min(wall, CPU) of an ask/tell
    nones: int = 0

    def key(self) -> list[tuple]:
        return [(s.index, s.params, s.round) for s in self.suggestions]

    @property
    def best(self) -> float:
        return min(self.scores.values())


def restore_by_state(s: CellSearcher, e: PlanEntry, seed: int) -> CellSearcher:
    state = json.loads(json.dumps(s.get_state(), allow_nan=False))  # strict JSON, as the composite writes it
    s.close()
    fresh = make(e, seed)
    fresh.set_state(state)
    return fresh


def restore_by_pickle(s: CellSearcher, e: PlanEntry, seed: int) -> CellSearcher:
    return pickle.loads(pickle.dumps(s))


def drive(s: CellSearcher, f: Callable[[dict], float], *, rng: np.random.Generator | None = None,
          interrupt_at: set[int] = frozenset(), restore: Callable[[CellSearcher], CellSearcher] | None = None,
          poll: bool = False) -> tuple[Run, CellSearcher]:
    """Run ``s`` to the end like the composite would: ask until None/DONE, then report results.

    Results are told in a shuffled order (``rng``), some while others are still out. At each event
    number in ``interrupt_at`` the searcher is replaced by ``restore(searcher)``. While a round is
    computed, ``poll`` keeps calling ``ask()`` every millisecond (Tune's controller does, for
    other cells) instead of waiting for it.
    """
    rng = rng or np.random.default_rng(0)
    run, out, event = Run(), [], 0
    deadline = time.monotonic() + WAIT_S

    def timed(fn, *args):
        t, c = time.perf_counter(), time.thread_time()
        value = fn(*args)
        wall, cpu = time.perf_counter() - t, time.thread_time() - c
        run.max_block_s, run.max_block_cpu_s = max(run.max_block_s, wall), max(run.max_block_cpu_s, cpu)
        run.max_block_work_s = max(run.max_block_work_s, min(wall, cpu))
        return value

    def tell_some(k: int) -> None:
        for _ in range(k):
            j = int(rng.integers(len(out)))
            sug = out.pop(j)
            run.scores[sug.index] = f(sug.params)
            timed(s.tell, sug.index, run.scores[sug.index])

    while True:
        event += 1
        if event in interrupt_at:
            s = restore(s)
        got = timed(s.ask)
        if got == DONE:
            break
        if got is None:
            run.nones += 1
            if out:
                tell_some(len(out))
            elif poll:
                assert time.monotonic() < deadline, "a background round did not finish"
                time.sleep(0.001)
            else:
                assert s.wait(WAIT_S), "a background round did not finish"
            continue
        assert isinstance(got, Suggestion)
        run.suggestions.append(got)
        out.append(got)
        if rng.random() < 0.3:
            tell_some(1)
    tell_some(len(out))
    assert timed(s.ask) == DONE
    return run, s
