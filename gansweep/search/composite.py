"""One Ray Tune searcher for the whole study, serving every (cell, search entry).

Tune runs one experiment per study; this searcher hands out trials round-robin across the
per-cell strategies, so a GP round waiting for its results in one cell never idles the workers
while other cells have work. Each suggestion carries its deterministic gansweep ``trial_id``;
trials already in the store (a resume after a crash) are skipped and their stored scores told to
the strategy, so nothing runs twice and no round is lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from ray.tune.search import Searcher

from gansweep.search import DONE, STRATEGIES, CellSearcher
from gansweep.search.base import clean_score
from gansweep.status import UNSCORED
from gansweep.trial.contract import TrialResult
from gansweep.storage import atomic_write
from gansweep.study.plan import Plan, PlanEntry

log = logging.getLogger(__name__)


def entry_seed(study_seed: int, entry: PlanEntry) -> int:
    """A seed per (study seed, cell, entry), stable across processes and Python versions."""
    digest = hashlib.sha256(f"{study_seed}:{entry.cell.id}:{entry.label}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def suggested_by(entry: PlanEntry, round_: int | None, fallback: str | None) -> str:
    """Who drew a trial's hyperparameters: the entry's strategy, its initial design (round 0 of a
    sequential strategy, e.g. ``gp:initial-design``, a Latin hypercube), or the random fallback and why."""
    from gansweep.search.specs import initial_design_label

    if fallback is None:
        return initial_design_label(entry.search.strategy) if round_ == 0 else entry.search.strategy
    return f"random fallback: {entry.search.strategy} round {round_} failed ({fallback})"


def trial_config(entry: PlanEntry, index: int, params: dict[str, float], round_: int | None,
                 study_seed: int, fallback: str | None = None) -> dict[str, Any]:
    """The config one trial receives: who it is (and who suggested it), its cell and its hyperparameters."""
    from gansweep.study.plan import resolve_hps

    trial_id = entry.trial_id(index)
    seed = int.from_bytes(hashlib.sha256(f"{study_seed}:{trial_id}".encode()).digest()[:4], "little")
    return {
        "trial_id": trial_id,
        "cell": entry.cell.id,
        **entry.cell.fields(),
        "strategy": entry.label,
        "round": round_,
        "index": index,
        "suggested_by": suggested_by(entry, round_, fallback),
        "seed": seed,
        "hp": resolve_hps(entry.cell, params),
        # what the strategy chose; the rest of "hp" are defaults (stored as nulls in hp_<name>)
        "searched": sorted(params),
    }


class StudySearcher(Searcher):
    """Composite Tune searcher over the plan's entries; scores are minimised."""

    def __init__(self, plan: Plan, stored_scores_fn: Any = None) -> None:
        super().__init__(metric="score", mode="min")
        self.plan = plan
        self._stored_scores_fn = stored_scores_fn
        self._subs: list[CellSearcher] | None = None
        self._done: set[int] = set()
        self._live: dict[str, tuple[int, int, str]] = {}
        self._told: set[str] = set()
        self._cursor = 0
        self._known: dict[str, float] | None = None
        self._warned: set[tuple[int, int | None]] = set()  # (entry, round) fallbacks already logged
        self.stall = {"calls": 0, "seconds": 0.0, "max_seconds": 0.0}  # time spent on Tune's thread

    # -- lazy construction keeps the pickled Tuner small and thread-free ---------------------
    @property
    def subs(self) -> list[CellSearcher]:
        if self._subs is None:
            seed = self.plan.study.seed
            self._subs = [STRATEGIES[e.search.strategy](e, entry_seed(seed, e)) for e in self.plan.entries]
        return self._subs

    def _known_scores(self) -> dict[str, float]:
        if self._known is None:
            self._known = dict(self._stored_scores_fn()) if self._stored_scores_fn else {}
        return self._known

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_subs"] = None
        state["_known"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_warned", set())  # pickled before fallbacks were logged here

    # -- Tune's contract ----------------------------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True

    def _timed(self, t0: float) -> None:
        dt = time.perf_counter() - t0
        self.stall["calls"] += 1
        self.stall["seconds"] += dt
        self.stall["max_seconds"] = max(self.stall["max_seconds"], dt)

    def suggest(self, trial_id: str) -> dict[str, Any] | None | str:
        t0 = time.perf_counter()
        try:
            return self._suggest(trial_id)
        finally:
            self._timed(t0)

    def _suggest(self, trial_id: str) -> dict[str, Any] | None | str:
        subs, n = self.subs, len(self.subs)
        known = self._known_scores()
        for k in range(n):
            i = (self._cursor + k) % n
            while i not in self._done:
                s = subs[i].ask()
                if s == DONE:
                    self._done.add(i)
                    break
                if s is None:
                    break
                entry = self.plan.entries[i]
                gid = entry.trial_id(s.index)
                if gid in known:  # finished before a crash: tell, don't rerun
                    subs[i].tell(s.index, clean_score(known[gid]))
                    self._told.add(gid)
                    continue
                self._cursor = i + 1
                self._live[trial_id] = (i, s.index, gid)
                if s.fallback is not None and (i, s.round) not in self._warned:
                    self._warned.add((i, s.round))
                    log.warning("cell %s, %s: round %s is drawn at random, its %s computation failed (%s)",
                                entry.cell.id, entry.label, s.round, entry.search.strategy, s.fallback)
                return trial_config(entry, s.index, s.params, s.round, self.plan.study.seed, s.fallback)
        if len(self._done) == n:
            return Searcher.FINISHED
        return None

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        t0 = time.perf_counter()
        try:
            self._complete(trial_id, result, error)
        finally:
            self._timed(t0)

    def _complete(self, trial_id: str, result: dict | None, error: bool) -> None:
        if trial_id not in self._live:
            return
        i, index, gid = self._live.pop(trial_id)
        if gid in self._told:
            return
        final = None if error else TrialResult.ended(result)
        score = math.inf if final is None or final.status in UNSCORED else clean_score(final.score)
        known = self._known_scores()
        if gid in known:  # a re-run of a stored trial: the stored (first) result is the truth
            score = clean_score(known[gid])
        self._told.add(gid)
        self.subs[i].tell(index, score)

    def close(self) -> None:
        for s in self._subs or []:
            s.close()

    # -- persistence ----------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {
            "subs": [s.get_state() for s in self.subs],
            "done": sorted(self._done),
            "live": self._live,
            "told": sorted(self._told),
            "cursor": self._cursor,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        for sub, st in zip(self.subs, state["subs"], strict=True):
            sub.set_state(st)
        self._done = set(state["done"])
        self._live = {k: tuple(v) for k, v in state["live"].items()}
        self._told = set(state["told"])
        self._cursor = int(state["cursor"])
        self._known = None

    def save(self, checkpoint_path: str) -> None:
        text = json.dumps(self.get_state())
        atomic_write(Path(checkpoint_path), lambda f: f.write(text.encode()))

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path) as f:
            self.set_state(json.load(f))
