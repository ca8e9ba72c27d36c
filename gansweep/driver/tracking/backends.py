"""The tracking targets ``--log-to`` names, one class each; :data:`BACKENDS` is the registry.

A backend is called only from its own thread (:class:`gansweep.driver.tracking._Sink`), except
:meth:`Backend.check`, which runs before anything else does. Its methods return the number of
evaluations they logged; any exception ends that target's logging for the driver run.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

from gansweep.driver.tracking.targets import Target, redact, run_key, scrub, secrets_of
from gansweep.errors import GansweepError

log = logging.getLogger(__name__)
KEY_TAG = "gansweep.key"  # the run's key (run_key): how a restarted driver finds it
INSTANCE_TAG = "gansweep.instance"  # the study's (run_key(instance, "")): how resume lists its runs
STEP_TAG = "gansweep.step"  # the last evaluation step logged: a restarted driver skips up to it
STATUS_TAG = "gansweep.status"
BATCH = 1000  # MLflow's limit of metrics per log_batch


def trial_params(config: dict[str, Any] | None) -> dict[str, Any]:
    """What a trial is, named as the store's columns: its cell's grid choices, strategy, round, seed,
    and the hyperparameters its strategy searched (``hp_<name>``; defaults are left out, as the
    store leaves them null)."""
    from gansweep.study.schema import AXES

    config = config or {}
    out = {k: config.get(k) for k in ("trial_id", "cell", *AXES, "strategy", "round", "seed", "suggested_by")}
    searched = config.get("searched")
    for name, value in (config.get("hp") or {}).items():
        if searched is None or name in searched:
            out[f"hp_{name}"] = value
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in out.items() if v is not None}


def evaluation_steps(records: list[dict[str, Any]], metrics: list[str], after: int) -> Iterator[tuple[int, dict[str, float]]]:
    """(generator step, scalars) of each evaluation past step ``after``, scalars named as in
    TensorBoard (``metrics/fd``, ``losses/…``, ``diagnostics/…``), non-finite ones left out."""
    from gansweep.driver.tensorboard import tags

    for record in records:
        step = record.get("step")
        if isinstance(step, int) and not isinstance(step, bool) and step > after:
            yield step, tags(record, metrics)


def _int(value: Any) -> int | None:
    try:
        return None if value is None or value != value else int(value)
    except (TypeError, ValueError):
        return None


def _stored_record(row: dict[str, Any]) -> dict[str, Any]:
    """An evaluation as the store holds it, as a trial reported it: its diagnostics (JSON) spread out."""
    import json

    record = {k: v for k, v in row.items() if k not in ("trial_id", "diagnostics")}
    record["step"] = _int(record.get("step"))
    extra = row.get("diagnostics")
    if isinstance(extra, str):
        try:
            decoded = json.loads(extra)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            record.update({k: v for k, v in decoded.items() if k not in record})
    return record


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


class Backend:
    name: ClassVar[str]
    label: ClassVar[str]
    module: ClassVar[str]  # the package it needs (in the 'tracking' extra)
    takes_uri: ClassVar[bool]
    syntax: ClassVar[str]
    configured_by: ClassVar[str]

    def __init__(self, target: Target, study: str, study_dir: Any, instance: str, metrics: list[str]) -> None:
        self.target = target
        self.study = study
        self.study_dir = study_dir  # a local Path, or a StoragePath in a bucket
        self.instance = instance
        self.metrics = list(metrics)
        self.secrets: list[str] = []  # strings never to show in a message

    def check(self) -> None:
        """Before anything runs: a target that cannot work is a GansweepError (exit 2)."""

    def start(self, tid: str, config: dict[str, Any] | None) -> int:
        raise NotImplementedError

    def log(self, tid: str, records: list[dict[str, Any]]) -> int:
        raise NotImplementedError

    def end(self, tid: str, final: dict[str, Any]) -> int:
        raise NotImplementedError

    def close(self) -> int:
        """End the runs still open (the driver stops with trials running)."""
        return 0

    def ended(self) -> set[str] | None:
        """Trial ids whose runs an earlier driver of this study ended; None when the target cannot tell."""
        return None

    def backfill(self, study_dir: Any, stored: set[str]) -> int:
        """Log the stored trials whose runs no driver ended: a driver killed (``kill -9``, a lost node)
        while its thread still had them queued, or a study run without ``--log-to`` before. From the
        store: its rows' configs and evaluations (the losses a real trial reported are not stored)."""
        import json

        from gansweep.store import read_evals, read_trials

        ended = self.ended()
        missing = stored - ended if ended is not None else set()
        if not missing:
            return 0
        trials, evals = read_trials(study_dir), read_evals(study_dir)
        by_trial = {tid: group for tid, group in evals.groupby("trial_id")} if not evals.empty else {}
        n = 0
        for row in trials[trials.trial_id.isin(missing)].to_dict("records"):
            tid = row["trial_id"]
            config = json.loads(row["config"]) if isinstance(row.get("config"), str) else row.get("config")
            self.start(tid, config if isinstance(config, dict) else None)
            group = by_trial.get(tid)
            if group is not None:
                n += self.log(tid, [_stored_record(r) for r in group.to_dict("records")])
            self.end(tid, {"status": str(row["status"]), "score": row.get("score"), "best_step": _int(row.get("best_step")),
                           "steps": _int(row.get("steps"))})
        return n


def _no_link(path: Path) -> None:
    """A study directory may come from someone else: never write through a link planted in it."""
    from gansweep.storage import UnsafePathError

    for p in (path.parent, path):
        if p.is_symlink():
            raise UnsafePathError(f"{p}: a symbolic link; gansweep never writes through one (remove it)")


@contextlib.contextmanager
def _environ(**values: str) -> Iterator[None]:
    """Set environment variables the user has not set, for the duration (the main thread, before
    Ray or any logging thread starts)."""
    added = [k for k in values if k not in os.environ]
    for k in added:
        os.environ[k] = values[k]
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


class MLflowBackend(Backend):
    """One MLflow run per trial in the experiment named as the study (``MLFLOW_EXPERIMENT_NAME``
    overrides), on the server or store of the URI given, else ``MLFLOW_TRACKING_URI``, else the
    SQLite store ``<study>/mlflow.db`` (``mlflow ui --backend-store-uri sqlite:///<study>/mlflow.db``)."""

    name = "mlflow"
    label = "MLflow"
    module = "mlflow"
    takes_uri = True
    syntax = "mlflow, mlflow:URI"
    configured_by = "MLflow"

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.uri, self.own_store = self._uri()
        self.secrets = secrets_of(self.uri)
        self._client: Any = None
        self._experiment_id: str | None = None
        self._runs: dict[str, str] = {}  # trial → run id
        self._last: dict[str, int] = {}  # trial → last step the run holds

    def _uri(self) -> tuple[str, bool]:
        if self.target.uri:
            return self.target.uri, False
        if os.environ.get("MLFLOW_TRACKING_URI", "").strip():
            return os.environ["MLFLOW_TRACKING_URI"].strip(), False
        if not isinstance(self.study_dir, Path):
            raise GansweepError("--log-to mlflow: a study in a bucket has no local MLflow store; give the tracking "
                                "server: --log-to mlflow:URI (or set MLFLOW_TRACKING_URI)")
        return f"sqlite:///{Path(os.path.abspath(self.study_dir)) / 'mlflow.db'}", True

    @property
    def shown(self) -> str:
        return f"mlflow:{redact(self.uri)}"

    @property
    def client(self) -> Any:
        if self._client is None:
            if self.own_store:
                _no_link(Path(self.uri.removeprefix("sqlite:///")))
            os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # the run's URL holds the URI's credentials
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.uri)
        return self._client

    def _experiment(self) -> str:
        if self._experiment_id is None:
            from mlflow.environment_variables import MLFLOW_EXPERIMENT_NAME

            name = MLFLOW_EXPERIMENT_NAME.get() or self.study
            found = self.client.get_experiment_by_name(name)
            if found is not None and found.lifecycle_stage != "active":
                raise GansweepError(f"MLflow experiment {name!r} is deleted; restore it (mlflow experiments restore) "
                                    "or set MLFLOW_EXPERIMENT_NAME")
            self._experiment_id = found.experiment_id if found is not None else self.client.create_experiment(name)
        return self._experiment_id

    def check(self) -> None:
        if self.own_store:
            _no_link(Path(self.uri.removeprefix("sqlite:///")))
            return  # created in the study directory once it exists
        try:
            # a server that does not answer: refused in seconds, not after MLflow's minutes of retries
            with _environ(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="15"):
                self._experiment()
        except GansweepError as exc:
            raise GansweepError(f"--log-to {self.shown}: {scrub(str(exc), self.secrets)}") from None
        except Exception as exc:  # noqa: BLE001  whatever MLflow raises for a URI it cannot use
            text = scrub(f"{exc}", self.secrets).strip().splitlines()
            raise GansweepError(f"--log-to {self.shown}: not a usable MLflow tracking URI or server "
                                f"({text[0][:300] if text else type(exc).__name__})") from None
        finally:
            self._client = None  # the logging thread makes its own (MLflow's clients are not shared)
        if self.target.uri and secrets_of(self.target.uri):  # after the check: a refusal stays one line
            log.warning("--log-to mlflow: credentials on the command line can be read by other users of this "
                        "machine (ps) and of the Ray cluster (its job list shows the driver's command line); "
                        "prefer MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)")

    def _run(self, tid: str, config: dict[str, Any] | None) -> str:
        run_id = self._runs.get(tid)
        if run_id is None:
            self.start(tid, config)
            run_id = self._runs[tid]
        return run_id

    def start(self, tid: str, config: dict[str, Any] | None) -> int:
        from mlflow.entities import Param

        if tid in self._runs:  # Tune starts a trial again after a failure: same run
            return 0
        key = run_key(self.instance, tid)
        found = self.client.search_runs([self._experiment()], filter_string=f"tags.`{KEY_TAG}` = '{key}'",
                                        max_results=1)
        if found:  # a restarted driver: continue the run an earlier one opened
            run = found[0]
            self._runs[tid] = run.info.run_id
            self._last[tid] = int(run.data.tags.get(STEP_TAG, "-1"))
            if run.info.status != "RUNNING":
                self.client.update_run(run.info.run_id, status="RUNNING")
            return 0
        run = self.client.create_run(self._experiment(), run_name=tid,
                                     tags={KEY_TAG: key, INSTANCE_TAG: run_key(self.instance, ""),
                                           "gansweep.study": self.study, "gansweep.trial_id": tid, STATUS_TAG: "running"})
        self._runs[tid], self._last[tid] = run.info.run_id, -1
        params = [Param(k, str(v)) for k, v in trial_params(config).items()]
        for i in range(0, len(params), 100):
            self.client.log_batch(run.info.run_id, params=params[i:i + 100])
        return 0

    def log(self, tid: str, records: list[dict[str, Any]]) -> int:
        from mlflow.entities import Metric, RunTag

        run_id = self._run(tid, None)
        now = int(time.time() * 1000)
        metrics, last, n = [], self._last.get(tid, -1), 0
        for step, scalars in evaluation_steps(records, self.metrics, last):
            metrics += [Metric(k, v, now, step) for k, v in scalars.items()]
            last, n = max(last, step), n + 1
        for i in range(0, len(metrics), BATCH):
            tags = [RunTag(STEP_TAG, str(last))] if i + BATCH >= len(metrics) else []
            self.client.log_batch(run_id, metrics=metrics[i:i + BATCH], tags=tags)
        self._last[tid] = last
        return n

    def end(self, tid: str, final: dict[str, Any]) -> int:
        from mlflow.entities import Metric, RunTag

        run_id = self._run(tid, None)
        status = final.get("status") or "failed"
        score, best = _finite(final.get("score")), final.get("best_step")
        metrics = [Metric("score", score, int(time.time() * 1000), best)] if score is not None and isinstance(best, int) else []
        self.client.log_batch(run_id, metrics=metrics, tags=[RunTag(STATUS_TAG, str(status))])
        self.client.set_terminated(run_id, "FAILED" if status == "failed" else "FINISHED")
        self._runs.pop(tid, None)
        return 0

    def ended(self) -> set[str]:
        out: set[str] = set()
        token = None
        while True:
            page = self.client.search_runs([self._experiment()], max_results=1000, page_token=token,
                                           filter_string=f"tags.`{INSTANCE_TAG}` = '{run_key(self.instance, '')}'")
            out |= {r.data.tags.get("gansweep.trial_id", "") for r in page if r.info.status in ("FINISHED", "FAILED")}
            token = page.token
            if not token:
                return out

    def close(self) -> int:
        from mlflow.entities import RunTag

        for tid, run_id in list(self._runs.items()):  # the driver stops with this trial running
            self.client.log_batch(run_id, tags=[RunTag(STATUS_TAG, "interrupted")])
            self.client.set_terminated(run_id, "KILLED")
            self._runs.pop(tid)
        return 0


class WandbBackend(Backend):
    """One W&B run per trial, in the project named as the study (``WANDB_PROJECT`` overrides), group
    = study; its local files go where W&B puts them (``WANDB_DIR``, else ``./wandb``)."""

    name = "wandb"
    label = "W&B"
    module = "wandb"
    takes_uri = False
    syntax = "wandb"
    configured_by = ("W&B reads its own settings: WANDB_API_KEY or 'wandb login', WANDB_PROJECT, WANDB_ENTITY, "
                     "WANDB_BASE_URL, WANDB_MODE, WANDB_DIR")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        key = os.environ.get("WANDB_API_KEY")
        self.secrets = [key] if key else []  # W&B reads it; it is only kept out of messages here
        self._runs: dict[str, Any] = {}

    def check(self) -> None:
        mode = os.environ.get("WANDB_MODE", "").strip().lower()
        if mode in ("offline", "disabled", "dryrun"):
            return
        try:
            from wandb.sdk.lib.wbauth.authenticate import authenticate_session
        except ImportError:  # another W&B version: its first run says what is missing
            return
        host = os.environ.get("WANDB_BASE_URL", "").strip() or "https://api.wandb.ai"
        try:
            auth = authenticate_session(host=host, source="gansweep", prompt=False, update_session=False)
        except Exception as exc:  # noqa: BLE001  an API key of the wrong form, a token file missing
            raise GansweepError(f"--log-to wandb: {scrub(str(exc), self.secrets).splitlines()[0][:300]}") from None
        if auth is None:
            raise GansweepError("--log-to wandb: no W&B credentials; run 'wandb login' or set WANDB_API_KEY, "
                                "or log offline with WANDB_MODE=offline (and 'wandb sync' later)")

    def start(self, tid: str, config: dict[str, Any] | None) -> int:
        import wandb

        if tid in self._runs:
            return 0
        settings = wandb.Settings(x_disable_meta=True, x_disable_stats=True, console="off", save_code=False,
                                  disable_git=True, silent=True, x_save_requirements=False)
        self._runs[tid] = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "").strip() or self.study, group=self.study, name=tid,
            id=run_key(self.instance, tid), config=trial_params(config), resume="allow", reinit="create_new",
            settings=settings)  # files where W&B puts them (WANDB_DIR, else ./wandb): never in the study
        # directory, which may hold no link, and W&B links wandb/latest-run
        return 0

    def _run(self, tid: str) -> Any:
        if tid not in self._runs:
            self.start(tid, None)
        return self._runs[tid]

    def log(self, tid: str, records: list[dict[str, Any]]) -> int:
        run = self._run(tid)
        n = 0
        for step, scalars in evaluation_steps(records, self.metrics, run.step - 1):  # a resumed run's steps: once
            run.log(scalars, step=step)
            n += 1
        return n

    def end(self, tid: str, final: dict[str, Any]) -> int:
        run = self._run(tid)
        status = final.get("status") or "failed"
        summary = {"status": status, "score": _finite(final.get("score")), "best_step": final.get("best_step"),
                   "steps": final.get("steps")}
        run.summary.update({k: v for k, v in summary.items() if v is not None})
        run.finish(exit_code=1 if status == "failed" else 0)
        self._runs.pop(tid, None)
        return 0

    def close(self) -> int:
        for tid, run in list(self._runs.items()):
            run.summary.update({"status": "interrupted"})
            run.finish(exit_code=1)
            self._runs.pop(tid)
        return 0


BACKENDS: dict[str, type[Backend]] = {b.name: b for b in (MLflowBackend, WandbBackend)}
