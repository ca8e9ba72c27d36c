"""``--log-to mlflow[:URI]``: one MLflow run per trial."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from gansweep.driver.tracking.base import Backend, env_defaults, evaluation_steps, finite, refuse_link, trial_params
from gansweep.driver.tracking.targets import redact, run_key, scrub, secrets_of
from gansweep.errors import GansweepError
from gansweep.status import Status

log = logging.getLogger(__name__)
KEY_TAG = "gansweep.key"  # the run's key (run_key): how a restarted driver finds it
INSTANCE_TAG = "gansweep.instance"  # the study's (run_key(instance, "")): how resume lists its runs
STEP_TAG = "gansweep.step"  # the last evaluation step logged: a restarted driver skips up to it
STATUS_TAG = "gansweep.status"
BATCH = 1000  # MLflow's limit of metrics per log_batch


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
                refuse_link(Path(self.uri.removeprefix("sqlite:///")))
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
            refuse_link(Path(self.uri.removeprefix("sqlite:///")))
            return  # created in the study directory once it exists
        try:
            # a server that does not answer: refused in seconds, not after MLflow's minutes of retries
            with env_defaults(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="15"):
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
                                           "gansweep.study": self.study, "gansweep.trial_id": tid, STATUS_TAG: Status.RUNNING.value})
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
        status = final.get("status") or Status.FAILED
        score, best = finite(final.get("score")), final.get("best_step")
        metrics = [Metric("score", score, int(time.time() * 1000), best)] if score is not None and isinstance(best, int) else []
        self.client.log_batch(run_id, metrics=metrics, tags=[RunTag(STATUS_TAG, str(status))])
        self.client.set_terminated(run_id, "FAILED" if status == Status.FAILED else "FINISHED")
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
