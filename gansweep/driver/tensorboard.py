"""Live learning curves in TensorBoard: ``tensorboard --logdir runs/<study>/tb``.

Why on the driver: every evaluation a trial reports reaches the driver's Tune callbacks anyway
(real trials report each one, with their whole history), so one writer per running trial there
costs the trials nothing and needs no file system shared with the workers. One run per trial
(``tb/<trial_id>/``): each metric (``metrics/<name>``), the losses and other diagnostics each
evaluation carries (``losses/<name>``, ``diagnostics/<name>``) per evaluation step, and, when the
trial ends, its hyperparameters and cell with its score and status in the HParams view.

Event files are an append-only log written with tensorboardX's protobufs (Ray Tune depends on it). A driver
that restarts logs a resumed trial's history again from its first evaluation, into a new event
file of the same run: TensorBoard shows the curve once per driver, never a curve that is missing.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Any

from ray.tune import Callback

from gansweep.status import Status

log = logging.getLogger(__name__)
TB_DIR = "tb"
SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
SKIP = {"step", "seconds", "trial_id"}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def tags(record: dict[str, Any], metrics: list[str]) -> dict[str, float]:
    """The scalars of one evaluation record, each under its section: metrics, losses, diagnostics.
    Non-finite values are left out (a diverged evaluation shows as the curve's end)."""
    out: dict[str, float] = {}
    for key, value in record.items():
        number = _number(value)
        if key in SKIP or number is None:
            continue
        section = "metrics" if key in metrics else "losses" if "loss" in key else "diagnostics"
        out[f"{section}/{key}"] = number
    return out


class _Run:
    """One trial's event file, written synchronously: an evaluation is on disk (flushed) when the
    callback returns, not whenever tensorboardX's background queue gets to it (its ``flush`` does
    not drain that queue)."""

    def __init__(self, directory: Path) -> None:
        import os

        from tensorboardX.event_file_writer import EventsWriter

        directory.mkdir(parents=True, exist_ok=True)
        self._events = EventsWriter(str(directory / "events"), filename_suffix=f".{os.getpid()}")

    def add(self, summary: Any, step: int) -> None:
        import time

        from tensorboardX.proto.event_pb2 import Event

        self._events.write_event(Event(wall_time=time.time(), step=int(step), summary=summary))

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        from tensorboardX.summary import scalar

        self.add(scalar(tag, value), step)

    def flush(self) -> None:
        self._events.flush()

    def close(self) -> None:
        self._events.close()


class TensorBoardCallback(Callback):
    """Writes each trial's evaluations to ``<study>/tb/<trial_id>/`` as they are reported."""

    def __init__(self, study_dir: str, metrics: list[str]) -> None:
        self.root = str(Path(study_dir) / TB_DIR)
        self.metrics = list(metrics)
        self._writers: dict[str, Any] = {}
        self._logged: dict[str, int] = {}  # trial → evaluations written by this driver
        self.seconds = 0.0  # driver CPU time spent writing (the overhead measured in bench)
        self.written = 0  # evaluations written

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_writers": {}, "_logged": {}}

    def _writer(self, tid: str) -> _Run:
        writer = self._writers.get(tid)
        if writer is None:
            run = Path(self.root) / tid
            for path in (Path(self.root), run):  # never follow a link out of the study directory
                if path.is_symlink():
                    raise OSError(f"{path} is a symbolic link; not writing through it")
            writer = _Run(run)
            self._writers[tid] = writer
        return writer

    def _log(self, trial: Any, result: dict[str, Any] | None, final: bool) -> None:
        import time

        tid = (getattr(trial, "config", None) or {}).get("trial_id")
        if not isinstance(tid, str) or not SAFE.match(tid) or not result:
            return
        t0 = time.process_time()
        try:
            evals = [e for e in result.get("evals") or [] if isinstance(e, dict)]
            done = self._logged.get(tid, 0)
            if len(evals) > done or final:
                writer = self._writer(tid)
                for record in evals[done:]:
                    step = record.get("step")
                    if isinstance(step, int) and not isinstance(step, bool):
                        for tag, value in tags(record, self.metrics).items():
                            writer.add_scalar(tag, value, step)
                        self.written += 1
                self._logged[tid] = len(evals)
                if final:
                    self._hparams(writer, trial.config, result)
                    writer.close()
                    self._writers.pop(tid, None)
                else:
                    writer.flush()
        except (OSError, ValueError, TypeError) as exc:  # a full disk must not stop the study
            log.warning("TensorBoard: cannot log trial %s (%s)", tid, exc)
            self._writers.pop(tid, None)
        finally:
            self.seconds += time.process_time() - t0

    def _hparams(self, writer: Any, config: dict[str, Any], result: dict[str, Any]) -> None:
        """The HParams view: the searched hyperparameters and the cell, against score and status."""
        from tensorboardX.summary import hparams

        from gansweep.study.schema import AXES

        searched = config.get("searched")
        hp: dict[str, Any] = {k: float(v) for k, v in (config.get("hp") or {}).items()
                              if _number(v) is not None and (searched is None or k in searched)}
        hp.update({a: str(config.get(a)) for a in AXES if config.get(a) is not None})
        hp["strategy"] = str(config.get("strategy"))
        hp["status"] = str(result.get("status", Status.FAILED.value))
        score = _number(result.get("score"))
        metrics = {"hparams/score": score if score is not None else math.nan}
        for summary in hparams(hp, metrics):
            writer.add(summary, 0)
        if score is not None:  # a diverged trial's NaN stays out of the curves, as every non-finite value does
            step = result.get("best_step") if isinstance(result.get("best_step"), int) else result.get("steps") or 0
            writer.add_scalar("hparams/score", score, step)

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        self._log(trial, result, final=False)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        from gansweep.driver.scheduler import stopped_result

        self._log(trial, stopped_result(trial.last_result), final=True)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._log(trial, {**(trial.last_result or {}), "status": Status.FAILED.value}, final=True)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self.close()

    def close(self) -> None:
        for writer in self._writers.values():
            try:
                writer.close()
            except OSError:
                pass
        self._writers.clear()
