"""Tune callbacks on the driver: write finished trials to the store, show progress.

Both are pickled into Tune's ``tuner.pkl`` and restored by ``gansweep resume``, so they hold
only paths and plain settings; the store and the progress bar are opened lazily.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ray.tune import Callback

from gansweep.status import SCORED, Status
from gansweep.store import StoreWriteError, TrialStore
from gansweep.store.parquet import CONFIG_COLUMNS
from gansweep.trial.contract import TrialResult

log = logging.getLogger(__name__)


def trial_row(config: dict[str, Any], result: TrialResult | None, study: str, gpu: float,
              metric_columns: list[str], error: str | None = None,
              resolve: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> tuple[dict[str, Any], list[dict]]:
    """The store row and evaluation records of a finished (or failed) trial.

    The row describes one generator: its metric columns are those of the evaluation that produced
    ``score`` (the one whose generator the trial keeps), never each metric's own best over the
    trial's evaluations. ``config`` is the fully resolved trial (``resolve``,
    :meth:`TrialContext.resolve`): enough to rerun it. ``result``: :meth:`TrialResult.ended`.
    """
    row: dict[str, Any] = {k: config.get(k) for k in CONFIG_COLUMNS}
    row["study"] = study
    row["gpus_per_trial"] = gpu
    row["config"] = resolve(config) if resolve is not None else config
    searched = config.get("searched")  # None: a trial suggested before gansweep said (all were)
    for name, value in config.get("hp", {}).items():
        # a default the strategy did not search is null here (the config holds the value it ran with)
        row[f"hp_{name}"] = value if searched is None or name in searched else None
    evals: list[dict[str, Any]] = []
    if error is not None or result is None or not result.final:
        row.update(status=Status.FAILED, score=math.nan, error=error or "trial ended without a final result")
        if result is not None:
            row.update(steps=result.steps, train_seconds=result.train_seconds)
        return row, evals
    evals = list(result.evals)
    row.update(status=result.status, score=result.score, steps=result.steps, best_step=result.best_step,
               train_seconds=result.train_seconds, error=result.error)
    scored = scored_eval(evals, result.best_step)
    for m in metric_columns:
        row[m] = scored.get(m, math.nan) if scored is not None else math.nan
    return row, evals


def scored_eval(evals: list[dict[str, Any]], best_step: Any) -> dict[str, Any] | None:
    """The evaluation at ``best_step`` (the one that produced the score); None when there is none."""
    if best_step is None:
        return None
    return next((e for e in evals if e.get("step") == best_step), None)


def _error_text(trial: Any) -> str:
    path = getattr(trial, "error_file", None)
    try:
        text = Path(path).read_text() if path else ""
    except OSError:
        text = ""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:2000] if lines else "trial errored (no error file)"


class StoreCallback(Callback):
    """Writes each finished trial and its evaluations to ``results/`` (first write wins)."""

    def __init__(self, results_dir: str, study: str, metrics: list[str], hps: list[str], gpu: float,
                 fsync: bool = True, on_fatal: Callable[[StoreWriteError], None] | None = None,
                 resolve: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.results_dir = results_dir
        self.study = study
        self.metrics = metrics
        self.hps = hps
        self.gpu = gpu
        self.fsync = fsync  # off for dry runs: their results are not worth a disk flush each
        # Tune saves the trial as finished whether or not it was stored: on_fatal must make sure
        # resume does not restore that experiment (the driver marks it stale)
        self.on_fatal = on_fatal
        self.resolve = resolve  # TrialContext.resolve: the row's config is the whole trial
        self._store: TrialStore | None = None
        self.fatal: StoreWriteError | None = None

    def __getstate__(self) -> dict[str, Any]:
        # resolve is a bound method of the trial context: left out so Tune's pickle names no
        # gansweep class but this one (resume replaces the callbacks with fresh ones anyway)
        return {**self.__dict__, "_store": None, "fatal": None, "on_fatal": None, "resolve": None}

    @property
    def store(self) -> TrialStore:
        if self._store is None:
            fsync = getattr(self, "fsync", True)  # a callback pickled before it had the attribute
            self._store = TrialStore(self.results_dir, self.metrics, self.hps, fsync=fsync)
        return self._store

    def _write(self, trial: Any, error: str | None) -> None:
        if self.fatal is not None:
            return
        row, evals = trial_row(trial.config, TrialResult.ended(trial.last_result), self.study, self.gpu, self.metrics, error,
                               resolve=getattr(self, "resolve", None))
        try:
            stored = self.store.write(row, evals)
        except StoreWriteError as exc:  # Tune would swallow it here; stop the study at the next step
            self.fatal = exc
            if self.on_fatal is not None:
                self.on_fatal(exc)
            return
        if stored:
            log.debug("stored %s (%s)", row["trial_id"], row["status"])
        try:
            from gansweep.store.running import clear_running

            clear_running(self.results_dir, str(row["trial_id"]))
        except (OSError, ValueError) as exc:
            log.debug("running file of %s not removed (%s)", row["trial_id"], exc)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        """A running trial's evaluations so far, stored as it reports them (results/running/)."""
        from gansweep.store.running import write_running

        tid = (getattr(trial, "config", None) or {}).get("trial_id")
        report = TrialResult.from_tune(result)
        if self.fatal is not None or not isinstance(tid, str) or report is None or report.final:
            return
        if tid in self.store:
            return
        try:
            write_running(self.results_dir, tid, report.evals, self.metrics, report.steps, report.score,
                          getattr(self, "fsync", True))
        except (StoreWriteError, OSError, ValueError) as exc:  # only a view of a running trial: never fatal
            log.warning("trial %s: its latest evaluation is not stored yet (%s)", tid, exc)

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        if self.fatal is not None:  # a full disk: stop instead of running trials nothing can store
            raise self.fatal

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._write(trial, None)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._write(trial, _error_text(trial))


NODE_DIED = "The actor died because its node has died"
"""Ray's wording, in the error file Tune writes, for a trial's actor lost with its node."""
UNAVAILABLE = re.compile(r"The actor ([0-9a-f]{16,64}) is unavailable: The actor is temporarily unavailable")
"""Ray's wording for an actor it cannot reach: its node lost, but also, before Ray knows the cause,
a worker process killed (the time limit's SIGKILL, a segfault): decided once Ray knows."""
NODE_LOSS_RETRIES = 10
"""Node losses one trial may suffer in one driver run without spending ``failure.max_failures``."""
RECHECK_S = 1.0


def _last_failure(trial: Any) -> str:
    """The text of the trial's last failed attempt in the error file Tune appends to."""
    path = getattr(trial, "error_file", None)
    try:
        text = Path(path).read_text(errors="replace") if path else ""
    except OSError:
        return ""
    return text.rsplit("Failure # ", 1)[-1]


class NodeLossCallback(Callback):
    """A trial whose node was lost is retried without spending ``failure.max_failures``.

    Tune counts a lost node as the trial's failure, and until Ray has marked the node dead (seconds
    of missed health checks) it may place the retries on that node again: every trial running
    there could spend all its retries in that time and be stored ``failed``, though nothing was
    wrong with it. A failure Ray words as the node's death is forgiven at once; one it words as
    "unavailable" is forgiven until Ray records why the actor died, and counted again unless that
    was its node (:meth:`on_step_begin`). Only failures Tune counted (not an autoscaler's
    preemption), only while Tune still recovers the trial (``max_failures`` ≥ 1), and at most
    :data:`NODE_LOSS_RETRIES` times per trial.
    """

    def __init__(self) -> None:
        self.forgiven: dict[str, int] = {}
        self.counted: dict[str, int] = {}  # the trial's failure count as this callback last saw it
        self.pending: dict[str, str] = {}  # trial → actor whose cause of death Ray has yet to record
        self._checked = 0.0

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.counted[trial.trial_id] = trial.run_metadata.num_failures

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        from gansweep.compat.ray import forgive_failure

        tid, now = trial.trial_id, trial.run_metadata.num_failures
        before = self.counted.get(tid, now - 1)  # not seen since this driver started: assume counted
        self.counted[tid] = now
        n = self.forgiven.get(tid, 0)
        if now <= before or n >= NODE_LOSS_RETRIES:
            return
        text = _last_failure(trial)
        unavailable = UNAVAILABLE.search(text)
        if NODE_DIED not in text and unavailable is None:
            return
        if unavailable is not None and NODE_DIED not in text:
            self.pending[tid] = unavailable.group(1)
        self.forgiven[tid] = n + 1
        forgive_failure(trial)
        self.counted[tid] = trial.run_metadata.num_failures
        log.warning("trial %s lost its node, or Ray cannot reach it; it runs again (not counted in "
                    "failure.max_failures)", trial.config.get("trial_id", tid))

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        """Count again an "unavailable" failure whose actor, Ray now says, died but not with its node."""
        from gansweep.compat.ray import actor_death_reason, unforgive_failure

        if not self.pending or time.monotonic() - self._checked < RECHECK_S:
            return
        self._checked = time.monotonic()
        by_id = {t.trial_id: t for t in trials}
        for tid, actor in list(self.pending.items()):
            reason = actor_death_reason(actor)
            if reason is None:
                continue  # alive to Ray, or not known yet: ask again
            del self.pending[tid]
            if reason != "NODE_DIED" and tid in by_id:
                unforgive_failure(by_id[tid])
                self.counted[tid] = by_id[tid].run_metadata.num_failures
                log.warning("trial %s: Ray says its actor died but its node did not (%s); the failure counts",
                            by_id[tid].config.get("trial_id", tid), reason)


class ProgressCallback(Callback):
    """Progress of the study: trials done / planned, best score so far, ETA, failures.

    On a terminal (stderr) a rich progress bar. When stdout is not a terminal (``nohup``, a batch
    scheduler, a RayJob, ``> log``) plain lines on stdout instead, flushed as written so ``tail -f``
    and a scheduler's log viewer show them: one per stored trial and a summary every
    ``GANSWEEP_PROGRESS_EVERY`` seconds (60 by default) from a timer thread, so a log grows by at
    most one line per trial and one per interval however long the study runs.

    Counts each study trial once: a restored experiment can end again a trial that was stored
    before the driver died (Tune's state lags the store), and a bar at 7/6 is a bar nobody trusts."""

    def __init__(self, planned: int, stored: Mapping[str, float], every: float | None = None,
                 label: str = "trials") -> None:
        self.planned = planned
        self.label = label  # "confirm" for the confirmation stage's bar
        self.seen = set(stored)
        self.done = len(self.seen)
        self.best = min((s for s in stored.values() if math.isfinite(s)), default=math.inf)
        self.every = every
        self._progress: Any = None
        self._task: Any = None
        self._lines: Any = None  # the stream plain lines go to (stdout), None when there are none
        self._stop: Any = None
        self._timer: Any = None
        self._lock: Any = None
        self.counts: dict[str, int] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_progress": None, "_task": None, "_lines": None, "_stop": None,
                "_timer": None, "_lock": None}

    def start(self) -> None:
        import sys
        import threading

        self._t0 = time.monotonic()
        self._done0 = self.done
        self._lock = threading.Lock()
        if _is_terminal(sys.stderr):
            self._start_bar()
        if not _is_terminal(sys.stdout):
            from gansweep import env

            self._lines = sys.stdout
            every = self.every if self.every is not None else env.get("GANSWEEP_PROGRESS_EVERY")
            self._line(f"progress: {self._summary()}; a line per stored trial, a summary every {every:g} s")
            self._stop = threading.Event()
            self._timer = threading.Thread(target=self._summaries, args=(every,), name="gansweep-progress",
                                           daemon=True)
            self._timer.start()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, \
            TimeRemainingColumn

        self._progress = Progress(
            TextColumn(f"[bold]{getattr(self, 'label', 'trials')}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=Console(stderr=True), transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("trials", total=self.planned, completed=self.done,
                                             best=self._best_text())

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self._stop is not None:
            self._stop.set()
            self._timer.join(timeout=5)
            self._stop = self._timer = None
        if self._lines is not None:
            self._line(f"progress: {self._summary()} (driver stopping)")
            self._lines = None

    def _summaries(self, every: float) -> None:
        while not self._stop.wait(every):
            self._line(f"progress: {self._summary()}")

    def _line(self, text: str) -> None:
        stream = self._lines
        if stream is None:
            return
        with self._lock:
            try:
                stream.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
                stream.flush()
            except (OSError, ValueError):  # a closed or full log must not stop the study
                self._lines = None

    def _best_text(self) -> str:
        return f"{self.best:.4g}" if math.isfinite(self.best) else "–"

    def _summary(self) -> str:
        failed = {k: v for k, v in sorted(self.counts.items()) if k not in SCORED}
        failures = ", ".join(f"{v} {k}" for k, v in failed.items()) or "none"
        label = getattr(self, "label", "trials")
        noun = "trials" if label == "trials" else f"{label} trials"
        return (f"{self.done}/{self.planned} {noun} stored, best {self._best_text()}, failures: {failures}, "
                f"elapsed {_duration(time.monotonic() - self._t0)}, ETA {self._eta()}")

    def _eta(self) -> str:
        """Remaining trials at this driver's pace so far; unknown until one trial ended here."""
        ran, left = self.done - self._done0, self.planned - self.done
        if left <= 0:
            return "0s"
        if ran <= 0:
            return "unknown"
        return _duration((time.monotonic() - self._t0) / ran * left)

    def _advance(self, trial: Any, failed: bool) -> None:
        tid = (getattr(trial, "config", None) or {}).get("trial_id")
        if tid is not None:
            if tid in self.seen:
                return
            self.seen.add(tid)
        result = None if failed else TrialResult.ended(trial.last_result)
        status = result.status if result is not None else Status.FAILED
        self.counts[status] = self.counts.get(status, 0) + 1
        score = result.score if status in SCORED else math.nan
        if isinstance(score, (int, float)) and math.isfinite(score) and not score >= self.best:
            self.best = float(score)
        self.done += 1
        if self._progress is not None:
            self._progress.update(self._task, completed=self.done, best=self._best_text())
        if self._lines is not None:
            shown = f"score {score:.4g}" if isinstance(score, (int, float)) and math.isfinite(score) else "no score"
            self._line(f"trial {tid or getattr(trial, 'trial_id', '?')} {status}, {shown}; "
                       f"{self.done}/{self.planned} stored, best {self._best_text()}")

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._advance(trial, failed=False)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._advance(trial, failed=True)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # replaced or closed
        return False


def _duration(seconds: float) -> str:
    """``1h02m``, ``3m05s``, ``12s``: short enough for a log line."""
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"
