"""``--log-to wandb``: one W&B run per trial."""

from __future__ import annotations

import os
from typing import Any

from gansweep.driver.tracking.base import Backend, finite, evaluation_steps, trial_params
from gansweep.driver.tracking.targets import run_key, scrub
from gansweep.errors import GansweepError
from gansweep.status import Status


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
        status = str(final.get("status") or Status.FAILED)  # a plain string: W&B writes an enum's name
        summary = {"status": status, "score": finite(final.get("score")), "best_step": final.get("best_step"),
                   "steps": final.get("steps")}
        run.summary.update({k: v for k, v in summary.items() if v is not None})
        run.finish(exit_code=1 if status == Status.FAILED else 0)
        self._runs.pop(tid, None)
        return 0

    def close(self) -> int:
        for tid, run in list(self._runs.items()):
            run.summary.update({"status": "interrupted"})
            run.finish(exit_code=1)
            self._runs.pop(tid)
        return 0
