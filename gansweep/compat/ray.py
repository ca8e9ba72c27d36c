"""Ray Tune internals gansweep reaches: the local tuner behind ``tune.Tuner``.

Checked against ray 2.60.x: ``Tuner._local_tuner`` holds the ``TuneConfig`` (``_tune_config``,
whose ``search_alg`` is our searcher wrapped by Tune) and the ``RunConfig`` (``get_run_config()``,
which a restored Tuner brings back from its pickle).
"""

from __future__ import annotations

from typing import Any

TESTED = ("2.60", "2.61")
"""Installed ray must satisfy ``TESTED[0] <= version < TESTED[1]``."""
INTERNALS = ("Tuner._local_tuner", "TunerInternal._tune_config", "TunerInternal.get_run_config",
             "Trial.run_metadata.num_failures", "ray._private.state.state.actor_table")


def search_alg(tuner: Any) -> Any:
    """The outermost search algorithm of ``tuner`` (None where the tuner has none)."""
    config = getattr(getattr(tuner, "_local_tuner", None), "_tune_config", None)
    return getattr(config, "search_alg", None)


def run_config(tuner: Any) -> Any:
    """The ``RunConfig`` a (restored) ``tuner`` will run with; mutable in place."""
    return tuner._local_tuner.get_run_config()


def forgive_failure(trial: Any) -> None:
    """Take the last failure off ``trial``'s count, which Tune compares with ``max_failures``.

    Tune counts every failed attempt, a node lost under the trial included (only an autoscaler's
    preemption is exempt); called when a recovery has already been scheduled.
    """
    _add_failures(trial, -1)


def unforgive_failure(trial: Any) -> None:
    """Count again a failure :func:`forgive_failure` took off."""
    _add_failures(trial, 1)


def _add_failures(trial: Any, n: int) -> None:
    meta = trial.run_metadata
    meta.num_failures = max(0, meta.num_failures + n)
    meta.invalidate_cache()


def actor_death_reason(actor_id: str) -> str | None:
    """Why Ray says the actor died (``"NODE_DIED"``, ``"WORKER_DIED"``, …); None while it is alive
    to Ray or Ray does not know it (asked of the GCS: works without Ray's dashboard)."""
    from ray._private.state import state
    from ray.core.generated.common_pb2 import ActorDiedErrorContext

    try:
        info = state.actor_table(actor_id)
    except Exception:  # a malformed id, the GCS out of reach: no answer yet
        return None
    cause = (info or {}).get("DeathCause")
    if not info or info.get("State") != "DEAD" or cause is None:
        return None
    if not cause.HasField("actor_died_error_context"):
        return "UNSPECIFIED"
    return ActorDiedErrorContext.Reason.Name(cause.actor_died_error_context.reason)
