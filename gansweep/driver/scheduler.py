"""One Ray Tune scheduler for the whole study that stops trials only by their own cell's results.

A global ASHA or median rule would stop a WGAN trial because NS trials of another cell score
better, and so erase the differences between cells that the study exists to measure. This
composite (the counterpart of the composite searcher) owns one Tune scheduler per (cell, search
entry) whose entry sets ``stopping``, and routes each trial's events to its own; entries without
stopping never stop a trial. The sub-schedulers are Tune's own (``AsyncHyperBandScheduler``,
``MedianStoppingRule``), with time = generator step and metric = the reported score (best so far,
lower is better).

Tune pickles the scheduler once, when the experiment starts, and does not save its state; the
sub-schedulers are built lazily, and on a resume they are first told the stored evaluations of
the trials already in the store, so their rungs are those of the interrupted run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

from ray.tune.experiment import Trial
from ray.tune.schedulers import AsyncHyperBandScheduler, FIFOScheduler, MedianStoppingRule, TrialScheduler

from gansweep.study.plan import Plan, PlanEntry
from gansweep.study.schema import AshaStopping, MedianStopping
from gansweep.study.stopping import grace, is_active
from gansweep.trial.contract import TIME_ATTR, stopped_result  # noqa: F401 (stopped_result: read by tracking)

log = logging.getLogger(__name__)
METRIC = "score"


def _asha(stopping: AshaStopping, entry: PlanEntry, plan: Plan) -> TrialScheduler:
    training = plan.study.training
    return AsyncHyperBandScheduler(time_attr=TIME_ATTR, metric=METRIC, mode="min", max_t=training.steps,
                                   grace_period=grace(stopping, training), reduction_factor=stopping.reduction,
                                   brackets=1)


def _median(stopping: MedianStopping, entry: PlanEntry, plan: Plan) -> TrialScheduler:
    # min_time_slice=inf: never PAUSE a trial for want of samples (pausing a GAN trial costs a restore)
    return MedianStoppingRule(time_attr=TIME_ATTR, metric=METRIC, mode="min",
                              grace_period=grace(stopping, plan.study.training),
                              min_samples_required=stopping.min_samples, min_time_slice=math.inf, hard_stop=True)


STOPPERS: dict[type, Callable[[Any, PlanEntry, Plan], TrialScheduler]] = {AshaStopping: _asha, MedianStopping: _median}
"""A ``stopping`` model of the study schema → a Tune scheduler for one (cell, entry)."""


def entry_key(config: dict[str, Any]) -> tuple[str, str]:
    """The (cell, search entry) a trial belongs to, from its config."""
    return str(config.get("cell")), str(config.get("strategy"))


class _Stored:
    """A stored trial as the sub-schedulers see it when rebuilt on resume (hashable, a ``trial_id``)."""

    def __init__(self, trial_id: str) -> None:
        self.trial_id = trial_id


class StudyScheduler(FIFOScheduler):
    """Routes each trial's events to the stopping rule of its own (cell, entry), or to none."""

    def __init__(self, plan: Plan, stored_evals_fn: Callable[[], dict[str, list[dict[str, Any]]]] | None = None):
        super().__init__()
        self.plan = plan
        self._stored_evals_fn = stored_evals_fn
        self._subs: dict[tuple[str, str], TrialScheduler] | None = None
        self.stopped: dict[tuple[str, str], int] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_subs": None}  # rebuilt from the store, never from a stale pickle

    @property
    def subs(self) -> dict[tuple[str, str], TrialScheduler]:
        if self._subs is None:
            self._subs = {(e.cell.id, e.label): STOPPERS[type(e.search.stopping)](e.search.stopping, e, self.plan)
                          for e in self.plan.entries if is_active(getattr(e.search, "stopping", None))}
            if self._subs and self._stored_evals_fn is not None:
                self._replay(self._stored_evals_fn())
        return self._subs

    def _replay(self, stored: dict[str, list[dict[str, Any]]]) -> None:
        """Tell each sub-scheduler the evaluations of its cell's stored trials, in step order."""
        from gansweep.metrics import default_primary

        study, subs = self.plan.study, self._subs or {}
        by_id = {e.trial_id(i): e for e in self.plan.entries for i in range(e.trials)}
        for trial_id, evals in stored.items():
            entry = by_id.get(trial_id)
            if entry is None or not evals or (sub := subs.get((entry.cell.id, entry.label))) is None:
                continue
            primary = study.metrics.primary or default_primary(entry.cell.dataset)
            trial, best, results = _Stored(trial_id), math.inf, []
            sub.on_trial_add(None, trial)  # type: ignore[arg-type]
            for e in sorted(evals, key=lambda r: r[TIME_ATTR]):
                value = e.get(primary)
                if isinstance(value, (int, float)) and math.isfinite(value):
                    best = min(best, float(value))
                results.append({TIME_ATTR: int(e[TIME_ATTR]), METRIC: best})
            for r in results[:-1]:
                sub.on_trial_result(None, trial, r)  # type: ignore[arg-type]
            sub.on_trial_complete(None, trial, results[-1])  # type: ignore[arg-type]

    def _sub(self, trial: Trial) -> TrialScheduler | None:
        return self.subs.get(entry_key(trial.config))

    # -- Tune's contract ----------------------------------------------------------------------
    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return True  # each sub-scheduler has its own metric and mode

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        if (sub := self._sub(trial)) is not None:
            sub.on_trial_add(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        if (sub := self._sub(trial)) is not None:
            sub.on_trial_error(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        sub = self._sub(trial)
        if sub is None or result.get("final"):  # the final report ends the trial anyway
            return TrialScheduler.CONTINUE
        decision = sub.on_trial_result(tune_controller, trial, result)
        if decision == TrialScheduler.STOP:
            key = entry_key(trial.config)
            self.stopped[key] = self.stopped.get(key, 0) + 1
            log.debug("stopping %s at step %s (score %.4g)", trial.config.get("trial_id"), result.get(TIME_ATTR),
                      result.get(METRIC, math.nan))
        return decision

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        if (sub := self._sub(trial)) is not None and result and TIME_ATTR in result:
            sub.on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        if (sub := self._sub(trial)) is not None:
            sub.on_trial_remove(tune_controller, trial)

    def debug_string(self) -> str:
        return f"gansweep per-cell stopping: {sum(self.stopped.values())} trials stopped"


def stored_evals(study_dir: str) -> dict[str, list[dict[str, Any]]]:
    """trial id → its stored evaluation rows, for a resume (ids outside the plan are ignored)."""
    from gansweep.store import read_evals

    evals = read_evals(study_dir)
    if evals.empty:
        return {}
    return {str(t): g.to_dict("records") for t, g in evals.groupby("trial_id")}
