"""Running the confirmation stage: its trials are Ray Tune trials, stored in ``results/confirm/``.

Why this module exists: ``gansweep confirm DIR`` (and ``run``/``resume`` of a study whose file has
``confirm:``) trains the search's top configurations again with new seeds
(:mod:`gansweep.study.confirm` plans them) through the same trainable, resources, failure handling
and progress bar as the search, in a Tune experiment of its own (``tune-confirm/``). That
experiment is never restored: a confirmation trial evaluates once, at its end, so there is no
partial result worth a pickle; a resumed confirmation starts a new experiment whose searcher skips
every id already stored. The store's first-write-wins makes a kill at any moment lose at most the
trials that were running, and duplicate nothing.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Any

from ray.tune.search import Searcher

from gansweep.driver.callbacks import StoreCallback, trial_row
from gansweep.store.studydir import STUDY_FILE, StudyDir
from gansweep.errors import GansweepError, StudyError
from gansweep.storage import StoragePath, arrow_source, rmtree
from gansweep.status import SCORED
from gansweep.trial.contract import TrialResult
from gansweep.store import StoreWriteError, read_trials
from gansweep.store.confirm import ConfirmStore, confirm_root, read_confirm
from gansweep.study import Plan, Study
from gansweep.study.confirm import (META_KEY, ConfirmSettings, confirm_configs, require_search_done, resolve_settings, select,
                                    stream_text)

log = logging.getLogger(__name__)
TUNE_DIR = "tune-confirm"


@dataclass
class ConfirmOutcome:
    settings: ConfirmSettings
    planned: int
    stored: int
    counts: dict[str, int]
    interrupted: bool


def configured(study: Study, meta: dict[str, Any]) -> ConfirmSettings | None:
    """The settings a ``run``/``resume`` confirms with: the study file's ``confirm:`` or the last
    ``gansweep confirm`` of this study; None when neither asks for a confirmation."""
    if study.confirm is None and not isinstance(meta.get(META_KEY), dict):
        return None
    return resolve_settings(study, meta.get(META_KEY), source=STUDY_FILE)


def check_settings(plan: Plan, settings: ConfirmSettings, source: str) -> None:
    """What every trial's evaluator would refuse with the confirmation's sample size, refused here once."""
    from gansweep.metrics.checks import EvalOptions
    from gansweep.study.plan import _check_sample_limits

    study = plan.study
    probe = study.model_copy(update={"metrics": study.metrics.model_copy(update={"samples": settings.samples})})
    try:
        _check_sample_limits(probe, EvalOptions.from_mapping(study.metrics.options), source)
    except StudyError as exc:
        raise StudyError(str(exc).replace("metrics.samples:", "confirm.samples:")) from None


def planned_configs(plan: Plan, sd: StudyDir, settings: ConfirmSettings) -> list[dict[str, Any]]:
    """Every confirmation trial's config, from the finished search's stored rows."""
    trials = read_trials(sd.path)
    require_search_done(plan, trials, str(sd.path))
    return confirm_configs(plan, select(plan, trials, settings.top), settings)


def summarize(configs: list[dict[str, Any]], sd: StudyDir, settings: ConfirmSettings) -> ConfirmOutcome:
    rows = read_confirm(sd.path)
    ids = {c["trial_id"] for c in configs}
    if not rows.empty:
        rows = rows[rows.trial_id.isin(ids)]
    counts = rows.status.value_counts().to_dict() if not rows.empty else {}
    return ConfirmOutcome(settings, len(ids), len(rows), counts, interrupted=len(rows) < len(ids))


def _check_stored_samples(sd: StudyDir, settings: ConfirmSettings) -> None:
    rows = read_confirm(sd.path)
    if rows.empty or "samples" not in rows:
        return
    other = sorted({int(s) for s in rows["samples"].dropna()} - {settings.samples})
    if other:
        raise GansweepError(f"{confirm_root(sd.path)}: holds confirmations scored on {other[0]} samples; "
                            f"{settings.samples} would mix two evaluations in one table: use --samples {other[0]} "
                            "(or move results/confirm away to confirm again from the start)")


def record(sd: StudyDir, settings: ConfirmSettings) -> None:
    """Remember the settings in gansweep.json: ``resume`` and a bare ``gansweep confirm`` continue them."""
    meta = sd._meta()
    if meta.get(META_KEY) != settings.as_dict():
        meta[META_KEY] = settings.as_dict()
        sd._write_meta(meta)


def run_confirmation(plan: Plan, sd: StudyDir, settings: ConfirmSettings, address: str | None,
                     max_concurrent: int | None, dry_run: bool) -> ConfirmOutcome:
    """Run every confirmation trial not yet stored (the caller holds the study lock)."""
    check_settings(plan, settings, str(sd.study_file))
    _check_stored_samples(sd, settings)
    configs = planned_configs(plan, sd, settings)
    record(sd, settings)
    outcome = summarize(configs, sd, settings)
    if not outcome.interrupted:
        log.info("%s: every confirmation trial is stored; nothing to run", sd.path)
        return outcome
    _fit(plan, sd, settings, configs, address, max_concurrent, dry_run)
    return summarize(configs, sd, settings)


def confirm_study(path: str | StoragePath, top: int | None = None, seeds: int | None = None,
                  samples: int | None = None, address: str | None = None, max_concurrent: int | None = None,
                  dry_run: bool = False) -> ConfirmOutcome:
    """``gansweep confirm DIR``: confirm a finished search (options over the study's ``confirm:``)."""
    from gansweep.driver.resume import accept_edits
    from gansweep.driver.session import _stop_driver
    from gansweep.store.studydir import require_study_dir
    from gansweep.lock import study_lock
    from gansweep.study import build_plan

    sd = require_study_dir(path)
    study, meta = sd.load()
    dry = sd.mode(meta)
    if dry_run and not dry:
        raise GansweepError(f"{sd.path}: --dry-run: this study trains real GANs, and its confirmation does too; "
                            "a dry-run study (gansweep run --dry-run) confirms with synthetic trials")
    settings = resolve_settings(study, meta.get(META_KEY), top, seeds, samples, source=str(sd.study_file))
    plan = build_plan(study, str(sd.study_file), weights=not dry)
    with study_lock(sd.path, on_lost=_stop_driver):
        for change in accept_edits(sd, study):  # an edited study.yaml: the same checks as resume
            log.warning("study.yaml changed safely: %s", str(change).strip())
        return run_confirmation(plan, sd, settings, address, max_concurrent, dry)


class ConfirmSearcher(Searcher):
    """Hands Tune the confirmation configs in order, skipping those already stored."""

    def __init__(self, configs: list[dict[str, Any]], stored: set[str]) -> None:
        super().__init__(metric="score", mode="min")
        self.todo = [c for c in configs if c["trial_id"] not in stored]
        self.cursor = 0

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None | str:
        if self.cursor >= len(self.todo):
            return Searcher.FINISHED
        self.cursor += 1
        return dict(self.todo[self.cursor - 1])

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        pass

    def save(self, checkpoint_path: str) -> None:  # Tune checkpoints searchers; this one restarts from the store
        pass

    def restore(self, checkpoint_path: str) -> None:
        pass


class ConfirmStoreCallback(StoreCallback):
    """Writes each finished confirmation trial to ``results/confirm`` (first write of an id wins)."""

    def __init__(self, study_dir: str, study: str, metrics: list[str], hps: list[str], gpu: float,
                 samples: int, fsync: bool = True, resolve: Any = None) -> None:
        super().__init__(study_dir, study, metrics, hps, gpu, fsync=fsync, resolve=resolve)
        self.samples = samples

    @property
    def store(self) -> ConfirmStore:
        if self._store is None:
            self._store = ConfirmStore(self.results_dir, self.metrics, self.hps, fsync=self.fsync)
        return self._store

    def _write(self, trial: Any, error: str | None) -> None:
        if self.fatal is not None:
            return
        config = trial.config
        row, evals = trial_row(config, TrialResult.ended(trial.last_result), self.study, self.gpu, self.metrics, error,
                               resolve=self.resolve)
        row.update(confirms=config["confirms"], rank=config["rank"], seed_index=config["seed_index"],
                   train_seed=config["seed"], eval_seed=config["eval_seed"], samples=self.samples,
                   search_score=config["search_score"], stream=stream_text(config, self.samples))
        try:
            self.store.write(row, evals)
        except StoreWriteError as exc:
            self.fatal = exc


def _fit(plan: Plan, sd: StudyDir, settings: ConfirmSettings, configs: list[dict[str, Any]],
         address: str | None, max_concurrent: int | None, dry_run: bool) -> None:
    from ray import tune

    from gansweep.driver.callbacks import NodeLossCallback, ProgressCallback
    from gansweep.driver.session import _init_ray, _on_cluster, default_concurrency, trial_name, trial_resources
    from gansweep.trial.settings import TrialContext, metric_columns
    from gansweep.trial.worker import run_trial

    study = plan.study
    base = TrialContext.from_plan(plan, cache_dir=str(sd.cache_dir.resolve()), dry_run=dry_run, study_dir=None)
    # one evaluation, at the end of the search's training length, on the confirmation's sample size;
    # no stopping rule, no generator kept
    context = dataclasses.replace(
        base, training=study.training.model_copy(update={"eval_every": study.training.steps}),
        metrics=study.metrics.model_copy(update={"samples": settings.samples}), stopping=())
    _init_ray(address)
    res = trial_resources(study, dry_run)
    trainable = tune.with_resources(tune.with_parameters(run_trial, context=context), res)
    rows = read_confirm(sd.path)
    done = {} if rows.empty else {t: (s if st in SCORED else math.inf)
                                  for t, s, st in zip(rows.trial_id, rows.score, rows.status)}
    ids = {c["trial_id"] for c in configs}
    progress = ProgressCallback(len(ids), {t: s for t, s in done.items() if t in ids}, label="confirm")
    store_cb = ConfirmStoreCallback(str(sd.path.resolve()), study.name, metric_columns(plan), plan.hp_names(),
                                    study.resources.gpu, settings.samples, fsync=not dry_run,
                                    resolve=context.resolve)
    root = sd.path.resolve()
    if (sd.path / TUNE_DIR).exists():
        rmtree(sd.path / TUNE_DIR)  # never restored: the store says what is done
    todo = len(ids - set(done))
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=ConfirmSearcher(configs, set(done)), num_samples=-1, reuse_actors=True,
            trial_name_creator=trial_name, trial_dirname_creator=trial_name,
            max_concurrent_trials=max_concurrent or default_concurrency(res, todo, str(sd.study_file),
                                                                        _on_cluster(address))),
        run_config=tune.RunConfig(
            name=TUNE_DIR, storage_path=arrow_source(root)[0], storage_filesystem=arrow_source(root)[1],
            verbose=0, callbacks=[store_cb, progress, NodeLossCallback()],
            failure_config=tune.FailureConfig(max_failures=study.failure.max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1)),
    )
    progress.start()
    try:
        tuner.fit()
    finally:
        progress.stop()
    if store_cb.fatal is not None:
        raise store_cb.fatal
