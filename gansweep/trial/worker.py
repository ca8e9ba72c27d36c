"""The trial: train one GAN, evaluate it at each evaluation point, report to Ray Tune.

Every evaluation is reported with ``tune.report``; the last report also carries the trial's
status and its whole evaluation history, which the store callback writes in one atomic step.
A trial checkpoints its trainer and history at each evaluation, so a retried or resumed trial
continues from its last evaluation instead of starting over. Divergence is a result
(``diverged``, with the evaluations that were good), never a crash of the study. A trial with a
finite score keeps the generator of its best evaluation (:mod:`gansweep.store.generators`),
written just before its final report.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import math
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gansweep.errors import GansweepError
from gansweep.status import Status
from gansweep.trial.contract import TrialResult
from gansweep.trial.settings import TrialContext
from gansweep.trial.synthetic import simulate

log = logging.getLogger(__name__)
STATE_FILE = "trial.pt"
FINAL_FILE = "final.json"  # the last checkpoint of an ended trial: its final result, no weights


Report = Callable[..., None]
"""Where a trial's results go: ``report(result, checkpoint_dir=None)`` (Tune's, or a rerun's list)."""


class TrialTimeout(TimeoutError):
    """A trial ran past ``training.timeout`` (raised inside the trial's thread by its watchdog)."""


@contextlib.contextmanager
def time_limit(seconds: float | None, trial_id: str) -> Iterator[None]:
    """Stop the calling thread after ``seconds``.

    First a :class:`TrialTimeout` raised asynchronously in it (works for anything running Python);
    if it is stuck outside Python (a CUDA kernel, blocking I/O), a grace period later SIGKILL of the
    worker process. Either way Tune sees a failed attempt and retries it up to
    ``failure.max_failures`` times, then stores the trial ``failed`` with this message.
    """
    if not seconds:
        yield
        return
    target = threading.get_ident()
    message = f"trial {trial_id} ran past training.timeout={seconds:g} s"
    done, lock, fired = threading.Event(), threading.Lock(), []

    class _Timeout(TrialTimeout):  # the async exception is a class: bind this trial's message to it
        def __init__(self, *args: Any) -> None:
            super().__init__(*args or (message,))

    def watch() -> None:
        if done.wait(seconds):
            return
        with lock:
            if done.is_set():
                return
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), ctypes.py_object(_Timeout))
            fired.append(True)
        if not done.wait(max(5.0, min(60.0, seconds))):
            log.error("%s; stuck outside Python, killing the worker process", message)
            os.kill(os.getpid(), signal.SIGKILL)

    try:
        threading.Thread(target=watch, daemon=True, name=f"time-limit-{trial_id}").start()
        yield
    finally:
        with lock:
            done.set()
            if fired:  # not raised yet? then it must not surface in Tune's code after this trial
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(target), None)


def best_eval(history: list[dict[str, Any]], metric: str) -> dict[str, Any] | None:
    """The evaluation whose ``metric`` is lowest (the first of equals): the one whose generator a
    trial keeps and whose numbers its row holds."""
    best = None
    for h in history:
        v = h.get(metric)
        if isinstance(v, (int, float)) and math.isfinite(v) and (best is None or v < best[metric]):
            best = h
    return best


def best_so_far(history: list[dict[str, Any]], metric: str) -> float:
    best = best_eval(history, metric)
    return best[metric] if best is not None else math.nan


def _best_step(history: list[dict[str, Any]], metric: str) -> int | None:
    best = best_eval(history, metric)
    return best["step"] if best is not None else None


def run_trial(config: dict[str, Any], context: TrialContext) -> None:
    """Ray Tune function trainable (``context`` bound with ``tune.with_parameters``)."""
    with time_limit(context.training.timeout, config["trial_id"]):
        if context.dry_run:
            _run_synthetic(config, context)
        else:
            _run_real(config, context)


def rerun(resolved: dict[str, Any], cache_dir: str | None = None) -> dict[str, Any]:
    """Run one trial again from its resolved configuration alone (a stored row's ``config``),
    outside Ray Tune, on this machine's CPU; returns its final result (``score``, ``status``,
    ``evals`` …). Trials are seeded, so a rerun gives back the stored score."""
    from gansweep.metrics.cache import default_cache_dir

    context = TrialContext.from_resolved(resolved, cache_dir=cache_dir or str(default_cache_dir()))
    reports: list[dict[str, Any]] = []
    keep: Report = lambda result, checkpoint_dir=None: reports.append(result)  # noqa: E731
    if context.dry_run:
        _run_synthetic(resolved, context, keep)
    else:
        _run_real(resolved, context, keep)
    return reports[-1]


def _report(result: dict[str, Any], checkpoint_dir: str | None = None) -> None:
    from ray import tune

    if checkpoint_dir is None:
        tune.report(result)
    else:
        tune.report(result, checkpoint=tune.Checkpoint.from_directory(checkpoint_dir))


def _final(history: list[dict[str, Any]], primary: str, status: Status, steps: int, seconds: float,
           error: str | None = None) -> TrialResult:
    return TrialResult(status, best_so_far(history, primary), _best_step(history, primary), steps, seconds,
                       tuple(history), error, final=True)


def _progress(history: list[dict[str, Any]], primary: str) -> TrialResult:
    """An evaluation's report: what a scheduler decides on, and all a stopped trial's row needs
    (:meth:`TrialResult.ended`), since Tune may stop the trial after any report."""
    return TrialResult(Status.RUNNING, best_so_far(history, primary), _best_step(history, primary),
                       evals=tuple(history))


def _report_final(result: dict[str, Any], report: Report | None = None) -> None:
    """The final report, with a checkpoint that holds the result and no weights.

    Tune keeps one checkpoint per trial (``num_to_keep=1``): this one replaces the trial's last
    full checkpoint (G, D and their Adam moments, 3 × (G + D)), which an ended trial no longer
    needs, so a finished study keeps its generators and not gigabytes of optimizer state.
    """
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / FINAL_FILE).write_text(json.dumps(result, default=str))
        (report or _report)(result, d)


def _restore(ckpt: Any, device: str, trial_id: str) -> dict[str, Any] | None:
    """The trial's state from Tune's checkpoint: ``{"final": result}`` for an ended trial, else the
    training state; None to start afresh.

    A checkpoint that cannot be read (damaged when its node was lost, written by an incompatible
    gansweep) would fail every retry of the trial and store it ``failed``; starting afresh costs
    time, never the result (the trial is seeded).
    """
    if ckpt is None:
        return None
    import torch

    try:
        with ckpt.as_directory() as d:
            if (Path(d) / FINAL_FILE).is_file():
                return {"final": json.loads((Path(d) / FINAL_FILE).read_text())}
            return torch.load(Path(d) / STATE_FILE, map_location=device, weights_only=True)
    except Exception as exc:  # unreadable: the trial is deterministic, run it again
        log.warning("trial %s: its checkpoint %s cannot be read (%s: %s); starting it again from step 0",
                    trial_id, getattr(ckpt, "path", ckpt), type(exc).__name__, exc)
        return None


def _run_synthetic(config: dict[str, Any], context: TrialContext, report: Report | None = None) -> None:
    """One report with the whole history; one per evaluation when a scheduler may stop the trial."""
    report = report or _report
    primary = context.primary(config["dataset"])
    stoppable = config.get("strategy") in context.stopping
    records, status = simulate(config, context.eval_points(), primary)
    for i, rec in enumerate(records):
        if not math.isfinite(rec.get(primary, math.nan)):  # as a real trial: not finite → diverged
            report(_final(records[: i + 1], primary, Status.DIVERGED, rec["step"], rec["seconds"],
                          error=f"{primary} is not finite at step {rec['step']}").to_tune())
            return
        if stoppable and i < len(records) - 1:
            report(_progress(records[: i + 1], primary).to_tune())
    steps = records[-1]["step"] if records else 0
    seconds = records[-1]["seconds"] if records else 0.0
    error = None
    if status == Status.DIVERGED:  # the simulated trial's losses went non-finite before the next evaluation
        points = context.eval_points()
        at = next((p for p in points if p > steps), points[-1] if points else steps)
        error = f"diverged before step {at}: non-finite losses (simulated by the dry run)"
    report(_final(records, primary, status, steps, seconds, error=error).to_tune())


def _keep(study_dir: str, trial_id: str, best: dict[str, Any]) -> None:
    """Keep the best generator and its first scored samples (which the report shows without torch)."""
    from gansweep.store.generators import load_generator, save_drawn, save_generator

    try:
        save_generator(study_dir, trial_id, best)
        save_drawn(study_dir, load_generator(study_dir, trial_id))
    except (OSError, GansweepError) as exc:  # the result matters more than the model
        log.error("trial %s: could not keep its generator (%s)", trial_id, exc)


def gan_config(config: dict[str, Any], training: Any) -> Any:
    """The GAN a trial trains: its cell, its hyperparameters (those ``GANConfig`` has) and the
    study's ``training`` model (:class:`gansweep.study.schema.Training`)."""
    import dataclasses

    from gansweep.gan import GANConfig
    from gansweep.gan.specs import AXIS_SPECS

    fields = {f.name for f in dataclasses.fields(GANConfig)}
    given = {**{k: config[k] for k in AXIS_SPECS},
             **{k: v for k, v in config["hp"].items() if k in fields},
             **{k: v for k, v in training.model_dump().items() if k in fields}}
    return GANConfig(**given)


def _run_real(config: dict[str, Any], context: TrialContext, report: Report | None = None) -> None:
    """``report``: None under Tune (its report and checkpoints), a rerun's own list otherwise."""
    import torch
    from ray import tune

    from gansweep.data import load_dataset
    from gansweep.gan import Diverged, GANTrainer
    from gansweep.metrics import Evaluator
    from gansweep.store.generators import snapshot

    training, metrics = context.training, context.metrics
    torch.set_num_threads(max(1, int(context.resources.cpu)))
    device = "cuda" if context.resources.gpu > 0 and torch.cuda.is_available() else "cpu"
    primary = context.primary(config["dataset"])
    under_tune, report = report is None, report or _report  # _report looked up now (tests replace it)
    restored = _restore(tune.get_checkpoint() if under_tune else None, device, config["trial_id"])
    if restored is not None and "final" in restored:  # Tune restarted a trial that had ended
        _report_final(restored["final"], report)
        return
    data = load_dataset(config["dataset"], resolution=training.resolution, root=context.data.root)
    cfg = gan_config(config, training)
    trainer = GANTrainer(cfg, data, device=device, seed=config["seed"])
    if config.get("eval_seed") is not None:  # a confirmation: a fresh evaluation stream, not the seed's own
        trainer.eval_rng.manual_seed(int(config["eval_seed"]))
    evaluator = Evaluator(data, [primary, *metrics.extra], metrics.samples, device=device,
                          cache_dir=context.cache_dir, inception_weights=metrics.inception_weights,
                          seed=config["seed"], options=dict(metrics.options))
    history: list[dict[str, Any]] = []
    seconds = 0.0
    best: dict[str, Any] | None = None  # the generator of the best evaluation so far
    stoppable = bool(context.study_dir) and config.get("strategy") in context.stopping
    if restored is not None:
        trainer.load_state_dict(restored["trainer"])
        history, seconds, best = restored["history"], restored["seconds"], restored.get("best")
        log.info("trial %s continues from step %d", config["trial_id"], trainer.step)

    def final(status: str, step: int, error: str | None = None) -> None:
        if best is not None and best["score"] != best_so_far(history, primary):
            # restored from a checkpoint that did not carry its best generator (written by an older
            # gansweep): a generator from another evaluation would contradict the stored score
            log.warning("trial %s: its best evaluation's generator was not checkpointed; keeping none",
                        config["trial_id"])
        elif best is not None and context.study_dir:
            _keep(context.study_dir, config["trial_id"], best)  # reported all the same if it cannot
        _report_final(_final(history, primary, status, step, seconds, error=error).to_tune(), report)

    for point in context.eval_points():
        if point <= trainer.step:
            continue
        t0 = time.perf_counter()
        try:
            losses = trainer.train(point - trainer.step)
        except Diverged as exc:
            seconds += time.perf_counter() - t0
            final(Status.DIVERGED, exc.step, error=str(exc))
            return
        seconds += time.perf_counter() - t0
        stream = trainer.eval_rng.get_state()
        values = evaluator(trainer)
        record = {"step": trainer.step, "seconds": seconds, **values, **losses, **trainer.singular_values()}
        value = values.get(primary, math.nan)
        if math.isfinite(value) and (best is None or value < best["score"]):
            best = snapshot(trainer, value, primary, stream, (evaluator.samples, evaluator.options.batch_size))
            if stoppable and point < context.training.steps:  # Tune may stop the trial after this report: keep it
                _keep(context.study_dir, config["trial_id"], best)
        history.append(record)
        if not math.isfinite(value):
            final(Status.DIVERGED, trainer.step, error=f"{primary} is not finite at step {trainer.step}")
            return
        if point == training.steps:
            final(Status.COMPLETED, trainer.step)
            return
        with tempfile.TemporaryDirectory() as d:
            torch.save({"trainer": trainer.state_dict(), "history": history, "seconds": seconds, "best": best},
                       Path(d) / STATE_FILE)
            report(_progress(history, primary).to_tune(), d)
