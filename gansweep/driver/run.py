"""Running and resuming a study: one Ray Tune experiment, one composite searcher.

``run`` creates the study directory and starts Tune; ``resume`` restores Tune's experiment
(unfinished trials continue from their checkpoints) or, when the driver died before Tune saved
anything, starts a new experiment whose searcher skips every trial already in the store.

The study directory may be on an object store (``s3://``, ``gs://``): Tune then gets its
``pyarrow`` file system as ``storage_filesystem`` and every node writes there directly.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from gansweep.store.studydir import TUNE_DIR, StudyDir
from gansweep.lock import LOCK_FILE, study_lock
from gansweep.errors import GansweepError
from gansweep.storage import StoragePath, UnsafePathError, arrow_source, atomic_write, location, rmtree
from gansweep.status import SCORED, UNSCORED
from gansweep.store import read_trials, stored_trial_ids
from gansweep.study import Plan, Study, build_plan
from gansweep.trial.settings import TrialContext, metric_columns
from gansweep.driver.session import (  # noqa: F401  (re-exported: run's API since before the split)
    AUTOSCALE_CONCURRENCY, _init_ray, _on_cluster, _stop_driver, default_concurrency, trial_name, trial_resources)

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    planned: int
    stored: int
    counts: dict[str, int]
    best: float
    interrupted: bool
    confirm: Any = None  # the confirmation's ConfirmOutcome, when the study asks for one (driver/confirm.py)


def stored_scores(study_dir: str | StoragePath) -> dict[str, float]:
    """Scores of the trials already stored (stopped ones at the score they reached; diverged and failed as +inf)."""
    df = read_trials(study_dir)
    if df.empty:
        return {}
    return {t: (s if st in SCORED else math.inf) for t, s, st in zip(df.trial_id, df.score, df.status)}


def study_dir_for(study: Study, out: str | None) -> StudyDir:
    """``<out or the study's output>/<name>``: a local directory, or a prefix in an ``s3://``/``gs://`` bucket."""
    return StudyDir(location(out or study.output) / study.name)


def start(study: Study, source: str, out: str | None = None, address: str | None = None,
          max_concurrent: int | None = None, dry_run: bool = False, force: bool = False,
          log_to: Sequence[str] = ()) -> Outcome:
    plan = build_plan(study, source, weights=not dry_run)
    sd = study_dir_for(study, out)
    if StudyDir(location(out or study.output)).exists():
        raise GansweepError(f"{out or study.output}: is itself a study directory; give its parent as --out "
                            "(or the study's 'output')")
    if isinstance(sd.path, Path):
        from gansweep.store.studydir import is_study_dir

        outer = next((p for p in Path(os.path.abspath(sd.path)).parents if is_study_dir(p)), None)
        if outer is not None:  # its --force would delete this study, its files would be read as its own
            raise GansweepError(f"{out or study.output}: is inside the study directory {outer}; choose an output "
                                "outside every study (the study's 'output' or --out)")
    occupied = check_target(sd, force, study)
    if not dry_run:
        check_data(study, source, cluster=_on_cluster(address))
    from gansweep.driver.tracking import open_tracking

    created = datetime.now(timezone.utc).isoformat()  # tells this study from one started again under its name
    tracking = open_tracking(log_to, study.name, sd.path, created, metric_columns(plan))  # --log-to: checked now
    _init_ray(address)  # before anything is written: a study this machine cannot run is refused
    default_concurrency(trial_resources(study, dry_run), plan.total, source, _on_cluster(address))
    if occupied:
        lock = sd.path / LOCK_FILE
        if isinstance(lock, Path) and lock.is_symlink():
            lock.unlink()  # no driver's lock (those are plain files): removed like the rest, never followed
        with study_lock(sd.path):
            pass  # refuse to delete a study another driver is running
        rmtree(sd.path)
    with study_lock(sd.path, on_lost=_stop_driver):
        sd.create(study, {"dry_run": dry_run, "source": str(source), "version": _version(), "created": created})
        outcome = _fit(plan, sd, address, max_concurrent, dry_run, restore=False, tracking=tracking)
        return _then_confirm(plan, sd, outcome, address, max_concurrent, dry_run)


def check_target(sd: StudyDir, force: bool, study: Study | None = None) -> bool:
    """Whether ``run`` must first delete an earlier study at ``sd`` (``force``); refused in one line when
    the place is taken by anything else: ``--force`` deletes only a study (:func:`is_study_dir`). With
    ``study``, the refusal says when the stored study is another one (resume would continue that one)."""
    from gansweep.store.studydir import fingerprint, is_study_dir, is_vacant, resume_command

    if isinstance(sd.path, Path) and sd.path.is_symlink():  # --force would empty (and the run fill) its target
        raise UnsafePathError(f"{sd.path}: a symbolic link (to {os.readlink(sd.path)}); gansweep never writes "
                              "or deletes through one: remove it, or choose another --out")
    if is_vacant(sd.path):
        return False
    if not is_study_dir(sd.path):
        what = "a file" if isinstance(sd.path, Path) and not sd.path.is_dir() else "not a gansweep study"
        raise GansweepError(f"{sd.path}: exists and is {what} (no study.yaml and gansweep.json of gansweep's own); "
                            "gansweep neither continues nor deletes it: choose another name/output (the study's "
                            "'name' or 'output', or --out)")
    if not force:
        try:
            meta = sd._meta()
        except GansweepError:  # an unreadable gansweep.json: resume says so, with its fix
            meta = {}
        was = " (a dry run)" if meta.get("dry_run") is True else ""
        if study is not None and meta.get("fingerprint") not in (None, fingerprint(study)):
            raise GansweepError(f"{sd.path}: is another study of the same name{was} (its study.yaml differs from "
                                f"this one; {resume_command(sd.path)} continues that one): choose another name or "
                                "--out, or replace it with --force")
        raise GansweepError(f"{sd.path}: is a study{was}: {resume_command(sd.path)} continues it, or start over "
                            "with --force (or choose another --out)")
    return True


def resume(path: str | StoragePath, address: str | None = None, max_concurrent: int | None = None,
           trust: bool = False, log_to: Sequence[str] = ()) -> Outcome:
    """Continue a study; Tune's saved experiment is restored only when signed by this user here
    (or ``trust``), else the study continues from its store (see :mod:`gansweep.driver.trust`)."""
    from gansweep.driver.resume import prepare_resume
    from gansweep.store.studydir import require_study_dir

    sd = require_study_dir(path)
    study, meta = sd.load()
    dry_run = sd.mode(meta)  # never guessed: a dry run resumed as a real one would train into its results
    plan = build_plan(study, str(sd.study_file), weights=not dry_run)
    from gansweep.driver.tracking import open_tracking

    tracking = open_tracking(log_to, study.name, sd.path, str(meta.get("created") or sd.path), metric_columns(plan))
    with study_lock(sd.path, on_lost=_stop_driver):
        for note in prepare_resume(sd, study, trust):  # refuses unsafe edits; unsigned Tune state; damaged files
            log.warning("%s", note)
        outcome = summarize(plan, sd)
        if tracking is not None:  # trials stored by a driver killed before it logged them, or run without --log-to
            tracking.backfill(sd.path, stored_trial_ids(sd.path))
        if not outcome.interrupted:  # every planned trial stored: nothing for Ray to do (`make demo` twice)
            log.info("%s: every planned trial is stored; nothing to run", sd.path)
            if tracking is not None:
                tracking.close()
        else:
            outcome = _fit(plan, sd, address, max_concurrent, dry_run, restore=True, tracking=tracking)
        return _then_confirm(plan, sd, outcome, address, max_concurrent, dry_run)


def _then_confirm(plan: Plan, sd: StudyDir, outcome: Outcome, address: str | None, max_concurrent: int | None,
                  dry_run: bool) -> Outcome:
    """Once the search is complete, the confirmation stage the study asks for (``confirm:`` in its
    file, or an earlier ``gansweep confirm``): see :mod:`gansweep.driver.confirm`."""
    from gansweep.driver.confirm import configured, run_confirmation

    settings = configured(plan.study, sd._meta())
    if settings is None or outcome.interrupted or outcome.counts.keys() <= set(UNSCORED):
        return outcome
    outcome.confirm = run_confirmation(plan, sd, settings, address, max_concurrent, dry_run)
    return outcome


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gansweep")
    except PackageNotFoundError:
        return "0+unknown"


def check_data(study: Study, source: str, cluster: bool) -> None:
    """The named real data sets need a data root: refused here on a local run (not after Ray
    started and every trial failed); on a cluster the workers may have it, so only a warning."""
    from gansweep.data.real import KNOWN, require_root

    for name in study.grid.dataset:
        if name in KNOWN:
            try:
                require_root(name, study.data.root)
            except GansweepError as exc:
                if not cluster:
                    raise GansweepError(f"{source}: grid.dataset: {exc}") from None
                log.warning("%s (on this machine; the workers must have it)", exc)


def _has_experiment_state(sd: StudyDir) -> bool:
    """Whether Tune wrote its experiment state. A driver killed while Tune started leaves
    ``tuner.pkl`` without it (``Tuner.can_restore`` says yes), and restoring that fails: start
    afresh from the store instead."""
    try:
        return any(p.name.startswith("experiment_state-") and p.name.endswith(".json") for p in sd.tune_dir.iterdir())
    except OSError:
        return False


def _fit(plan: Plan, sd: StudyDir, address: str | None, max_concurrent: int | None, dry_run: bool,
         restore: bool, tracking: Any = None) -> Outcome:
    from ray import tune

    from gansweep.driver.callbacks import NodeLossCallback, ProgressCallback, StoreCallback
    from gansweep.driver.scheduler import StudyScheduler, stored_evals
    from gansweep.driver.trust import signing_filesystem
    from gansweep.search.composite import StudySearcher
    from gansweep.trial.worker import run_trial

    study = plan.study
    context = TrialContext.from_plan(plan, cache_dir=str(sd.cache_dir.resolve()), dry_run=dry_run,
                                     study_dir=str(sd.path.resolve()))
    _init_ray(address)
    res = trial_resources(study, dry_run)
    trainable = tune.with_resources(tune.with_parameters(run_trial, context=context), res)
    done = stored_scores(sd.path)
    progress = ProgressCallback(plan.total, done)
    # Built afresh on every start: a restored experiment's pickled callbacks hold the old paths
    store_cb = StoreCallback(str(sd.results_dir.resolve()), study.name, metric_columns(plan),
                             plan.hp_names(), study.resources.gpu, fsync=not dry_run,
                             on_fatal=functools.partial(_mark_stale_after_failed_write, sd),
                             resolve=context.resolve)
    root = sd.path.resolve()
    callbacks = [store_cb, progress, NodeLossCallback()]
    if isinstance(root, Path):  # a study in a bucket: no live TensorBoard files (the store is there)
        from gansweep.driver.tensorboard import TensorBoardCallback

        callbacks.append(TensorBoardCallback(str(root), metric_columns(plan)))
    if tracking is not None:  # --log-to: MLflow, W&B
        callbacks.append(tracking)
    tune_fs = signing_filesystem(root)  # Tune's pickles are signed as they are written: resume may load them
    tune_path = arrow_source(root / TUNE_DIR)[0]
    scheduler = StudyScheduler(plan, functools.partial(stored_evals, str(root)))  # rungs rebuilt from the store
    if (restore and not sd.tune_stale() and tune.Tuner.can_restore(tune_path, storage_filesystem=tune_fs)
            and _has_experiment_state(sd) and _tune_agrees_with_store(sd, tune_path, tune_fs, set(done))):
        tuner = tune.Tuner.restore(tune_path, trainable=trainable, resume_unfinished=True, resume_errored=False,
                                   storage_filesystem=tune_fs)
        _replace_callbacks(tuner, callbacks)
        tuner._local_tuner._tune_config.scheduler = scheduler  # the pickled one holds the old path
        _rebind_searcher(tuner, str(root))
    else:
        if restore and sd.tune_dir.exists():
            rmtree(sd.tune_dir)  # nothing restorable, or stale: the store says what is done
        sd.clear_tune_stale()
        searcher = StudySearcher(plan, functools.partial(stored_scores, str(root)))
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1, reuse_actors=True,
                                        scheduler=scheduler,
                                        trial_name_creator=trial_name, trial_dirname_creator=trial_name,
                                        max_concurrent_trials=max_concurrent or default_concurrency(
                                            res, plan.total, str(sd.study_file), _on_cluster(address))),
            run_config=tune.RunConfig(
                name=TUNE_DIR, storage_path=arrow_source(root)[0], storage_filesystem=tune_fs,
                verbose=0,
                callbacks=callbacks,
                failure_config=tune.FailureConfig(max_failures=study.failure.max_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
            ),
        )
    progress.start()
    try:
        tuner.fit()
    finally:
        progress.stop()
        if tracking is not None:
            tracking.close()  # what is queued is logged (also after Ctrl-C), open runs are ended
        try:
            tune_fs.handler.sign_existing()  # what Tune wrote past the file system (a trial's error.pkl)
        except OSError as exc:
            log.warning("cannot sign Tune's saved state (%s)", exc)
        try:
            _write_driver_stats(tuner, sd)
        except OSError as exc:  # a full disk must not hide the error that stopped the study
            log.warning("driver_stats.json not written (%s)", exc)
    if store_cb.fatal is not None:  # a write failed after Tune's last step: say so, not just "not finished"
        raise store_cb.fatal
    return summarize(plan, sd)


def _rebind_searcher(tuner: Any, root: str) -> None:
    """A restored searcher reads the store through the path pickled with it: the first driver's
    ``--out runs`` relative to its working directory, or where a copied or moved study directory
    was. Resumed from elsewhere it read another study's store (or none): it took trials for done
    that were not, and every resume ended 'not finished'; or it ran stored trials again."""
    from gansweep.compat.ray import search_alg
    from gansweep.search.composite import StudySearcher

    alg = search_alg(tuner)
    while alg is not None and not isinstance(alg, StudySearcher):
        alg = getattr(alg, "searcher", None)
    if alg is not None:
        alg._stored_scores_fn = functools.partial(stored_scores, root)


def _tune_agrees_with_store(sd: StudyDir, tune_path: str, tune_fs: Any, stored: set[str]) -> bool:
    """False (and Tune's saved experiment marked stale) if it holds as finished a trial the store
    lacks, or would restore a trial from a checkpoint that is gone.

    The first happens when a results write failed (a full disk) after Tune saved the trial, and
    even the stale mark could not be written; restored, the experiment would never run it again.
    The second when checkpoints were deleted behind Tune's back (by hand, a lifecycle rule of the
    bucket): Tune fails such a trial before it runs, and the store would keep it ``failed``.
    A new experiment runs every unstored trial again from its start instead.
    """
    from ray.tune import ExperimentAnalysis

    try:
        trials = ExperimentAnalysis(tune_path, storage_filesystem=tune_fs).trials
    except Exception as exc:  # unreadable: Tune's own restore decides
        log.debug("cannot read Tune's experiment state: %s", exc)
        return True
    lost = sorted(trial_name(t) for t in trials if t.status in ("TERMINATED", "ERROR") and trial_name(t) not in stored)
    if lost:
        log.warning("%d finished trial(s) are not in the store (e.g. %s); starting a new Tune experiment, "
                    "the store says what is done", len(lost), lost[0])
        sd.mark_tune_stale(f"{len(lost)} finished trials not stored")  # before its removal can crash
        return False
    gone = sorted(trial_name(t) for t in trials if trial_name(t) not in stored and _checkpoint_gone(t))
    if gone:
        log.warning("%d unfinished trial(s) have lost their checkpoint (e.g. %s); starting a new Tune "
                    "experiment, they run again from their start", len(gone), gone[0])
        sd.mark_tune_stale(f"{len(gone)} trials lost their checkpoint")
        return False
    return True


def _checkpoint_gone(trial: Any) -> bool:
    """Whether Tune would restore ``trial`` from a checkpoint that no longer exists."""
    import pyarrow.fs as pafs

    ckpt = getattr(trial, "checkpoint", None)
    if ckpt is None:
        return False
    try:
        return ckpt.filesystem.get_file_info(ckpt.path).type == pafs.FileType.NotFound
    except Exception as exc:  # cannot tell: Tune's own restore decides
        log.debug("cannot check the checkpoint of %s: %s", trial_name(trial), exc)
        return False


def _mark_stale_after_failed_write(sd: StudyDir, exc: Exception) -> None:
    """Tune will save the unstored trial as finished: its experiment must not be restored."""
    try:
        sd.mark_tune_stale(f"a results write failed: {exc}")
    except OSError as err:  # the disk is full: resume still finds the trial missing (see resume)
        log.error("%s: could not mark Tune's experiment stale (%s)", sd.path, err)


def _write_driver_stats(tuner: Any, sd: StudyDir) -> None:
    """Record how long the searcher held Tune's controller thread (for the scale benchmark)."""
    import json

    from gansweep.search.composite import StudySearcher

    from gansweep.compat.ray import search_alg

    alg = search_alg(tuner)
    while alg is not None and not isinstance(alg, StudySearcher):
        alg = getattr(alg, "searcher", None)
    if alg is not None:
        text = json.dumps(alg.stall).encode()
        atomic_write(sd.path / "driver_stats.json", lambda f: f.write(text), fsync=False)


def _replace_callbacks(tuner: Any, fresh: list[Any]) -> None:
    """A restored Tuner brings its callbacks back from its pickle (old paths, old progress bar);
    use fresh ones of the same types, and add those it lacks (a state saved before one existed)."""
    from gansweep.compat.ray import run_config as tuner_run_config

    run_config = tuner_run_config(tuner)
    old = list(run_config.callbacks or [])
    kept = [next((f for f in fresh if type(f) is type(c)), c) for c in old]
    run_config.callbacks = kept + [f for f in fresh if not any(type(f) is type(c) for c in old)]


def summarize(plan: Plan, sd: StudyDir) -> Outcome:
    df = read_trials(sd.path)
    planned = set(plan.trial_ids())
    if not df.empty:
        df = df[df.trial_id.isin(planned)]
    counts = df.status.value_counts().to_dict() if not df.empty else {}
    scores = df.score[df.status.isin(SCORED)] if not df.empty else []
    best = float(min(scores)) if len(scores) else math.nan
    return Outcome(plan.total, len(df), counts, best, interrupted=len(df) < plan.total)
