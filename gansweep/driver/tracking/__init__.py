"""Opt-in logging of a running study to MLflow or W&B: ``--log-to mlflow[:URI]``, ``--log-to wandb``.

One tracking run per trial, named by its trial id and grouped by study; each metric, loss and
diagnostic of every evaluation at its generator step (named as in TensorBoard: ``metrics/fd``,
``losses/…``, ``diagnostics/…``); the trial's cell and searched hyperparameters as params (named
as the store's columns: ``dataset``, ``hp_lr``, …); its score and status when it ends.

Why not Ray Tune's ``MLflowLoggerCallback`` / ``WandbLoggerCallback`` (Ray 2.60)? Both log each
result at Tune's ``training_iteration``, not the generator step, and only its flattened last
values: a dry-run trial reports its whole history once, a real one every evaluation with its
history again. They log the whole trial config, call the tracking server on Tune's controller
thread (a server that stops answering stalls or fails the study: their errors propagate), and a
restarted driver opens a second run per trial. The W&B one also starts two Ray actors per trial
and hands ``WANDB_API_KEY`` to them in a runtime environment, which Ray keeps in its GCS; and a
``tracking_token`` given to the MLflow one is put into the driver's environment. Here instead:

- the driver's controller thread only queues what a trial reported (microseconds); each target
  has one thread of its own that talks to its server, so a slow or dead server costs the study
  nothing. Its first failure is logged once (credentials removed) and that target stops logging
  for the rest of this driver run; training and storing go on.
- a restarted driver (``gansweep resume``) reopens the same run of each trial (MLflow: found by a
  tag; W&B: a run id derived from the study and the trial) and skips the steps it already holds.
- nothing secret is stored: the callback pickled into Tune's state holds no URI (it comes back
  inert, the driver builds a fresh one), credentials in a URI are replaced by ``***`` in every
  message, W&B is started without its system metadata (command line, environment), console
  capture or code saving, and gansweep never handles the W&B API key (W&B reads it itself).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gansweep.driver.tracking.backends import BACKENDS
from gansweep.driver.tracking.targets import Target, redact
from gansweep.errors import GansweepError

if TYPE_CHECKING:
    from gansweep.driver.tracking.callback import TrackingCallback

EXTRA = "tracking"
"""The pip extra that installs the tracking clients: ``pip install 'gansweep[tracking]'``."""


def parse_targets(values: Iterable[str] | None, option: str = "--log-to") -> list[Target]:
    """``--log-to`` values as targets; a bad one, or a target whose client is not installed, is one
    line (exit code 2). Nothing is contacted here (see :func:`open_tracking`)."""
    targets: list[Target] = []
    for value in values or ():
        kind, sep, uri = value.partition(":")
        backend = BACKENDS.get(kind)
        if backend is None:
            raise GansweepError(f"{option} {value!r}: not a tracking target; choose from "
                                f"{', '.join(b.syntax for b in BACKENDS.values())}")
        if sep and not backend.takes_uri:
            raise GansweepError(f"{option} {redact(value)!r}: {kind} takes no URI ({backend.syntax}; "
                                f"{backend.configured_by})")
        if sep and not uri.strip():
            raise GansweepError(f"{option} {value!r}: empty URI; give {kind}:URI, or {kind} alone")
        target = Target(kind, uri.strip() if sep else None)
        if any(t.kind == kind for t in targets):
            raise GansweepError(f"{option}: {kind} given twice; give each tracking target once")
        if importlib.util.find_spec(backend.module) is None:
            raise GansweepError(f"{option} {kind}: the {backend.module} package is not installed; install "
                                f"it with: pip install 'gansweep[{EXTRA}]'")
        targets.append(target)
    return targets


def open_tracking(values: Iterable[str] | None, study: str, study_dir: Any, instance: str,
                  metrics: list[str]) -> TrackingCallback | None:
    """The callback that logs this study to its ``--log-to`` targets, each checked first (its server
    answers, it takes the credentials there are): refused in one line, before anything runs."""
    targets = parse_targets(values)
    if not targets:
        return None
    from gansweep.driver.tracking.callback import TrackingCallback

    backends = [BACKENDS[t.kind](t, study, study_dir, instance, metrics) for t in targets]
    for backend in backends:
        backend.check()
    return TrackingCallback(backends)
