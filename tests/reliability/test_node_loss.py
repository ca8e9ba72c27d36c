"""A trial whose node was lost is retried without spending ``failure.max_failures`` (NodeLossCallback).

The study-level test is test_cluster.py (a node removed mid-study); here the rule itself, on the
error text as Tune writes it from Ray's own exceptions, and Ray's record of why an actor died.
"""

from __future__ import annotations

import os

import pytest

from gansweep.compat.ray import actor_death_reason
from gansweep.driver import callbacks
from gansweep.driver.callbacks import NODE_LOSS_RETRIES, NodeLossCallback

ACTOR = "ec0c2fcc2e300ff689e4060601000000"


class _Trial:
    """What NodeLossCallback reads of a Tune trial: its id, config, failure count and error file,
    to which Tune appends ``Failure # n (occurred at …)`` and ``str(exception)``."""

    def __init__(self, tmp_path, failures: int = 0):
        from ray.tune.trainable.metadata import _TrainingRunMetadata

        self.trial_id, self.config = "abc_00001", {"trial_id": "digits.dcgan.ns.none.none-random-0003"}
        self.run_metadata = _TrainingRunMetadata()
        self.run_metadata.num_failures = failures
        self.error_file = str(tmp_path / "error.txt")

    def fail(self, exc: Exception, callback: NodeLossCallback, counted: bool = True) -> None:
        """What Tune does when an attempt fails and the trial may still recover (Trial.handle_error,
        then the callbacks); ``counted=False``: a preempted node, which Tune does not count."""
        self.run_metadata.num_failures += counted
        with open(self.error_file, "a") as f:
            f.write(f"Failure # {self.run_metadata.num_failures} (occurred at 2026-11-24_10-00-00)\n{exc}\n")
        callback.on_trial_recover(iteration=0, trials=[self], trial=self)

    def start(self, callback: NodeLossCallback) -> None:
        callback.on_trial_start(iteration=0, trials=[self], trial=self)


def _died(message: str) -> Exception:
    from ray.core.generated.common_pb2 import ActorDiedErrorContext
    from ray.exceptions import ActorDiedError

    return ActorDiedError(ActorDiedErrorContext(actor_id=b"\x02" * 16, class_name="ImplicitFunc",
                                                error_message=message))


def _node_died() -> Exception:
    return _died("The actor died because its node has died. Node Id: 4f2c")


def _unavailable() -> Exception:
    from ray.exceptions import ActorUnavailableError

    return ActorUnavailableError("The actor is temporarily unavailable: RpcError: RPC error: recvmsg:Connection "
                                 "reset by peer rpc_code: 14", bytes.fromhex(ACTOR))


@pytest.fixture
def ray_says(monkeypatch):
    """Ray's record of why the actor died, as the test sets it (None: alive, or not known yet)."""
    said: dict[str, str | None] = {}
    monkeypatch.setattr("gansweep.compat.ray.actor_death_reason", lambda actor: said.get(actor))
    monkeypatch.setattr(callbacks, "RECHECK_S", 0.0)
    return said


def _step(cb: NodeLossCallback, trial: _Trial) -> None:
    cb.on_step_begin(iteration=0, trials=[trial])


def test_a_lost_node_does_not_spend_the_retries_of_its_trials(tmp_path, ray_says):
    cb, trial = NodeLossCallback(), _Trial(tmp_path)
    trial.start(cb)
    ray_says[ACTOR] = "NODE_DIED"
    for _ in range(3):  # six losses in a row: max_failures=3 would have stored it failed
        trial.fail(_unavailable(), cb)
        trial.fail(_node_died(), cb)
        _step(cb, trial)
        assert trial.run_metadata.num_failures == 0
    for _ in range(NODE_LOSS_RETRIES):  # bounded: a node that keeps failing does not retry it for ever
        trial.fail(_node_died(), cb)
    assert cb.forgiven[trial.trial_id] == NODE_LOSS_RETRIES
    assert trial.run_metadata.num_failures == 6


@pytest.mark.parametrize("exc", [
    RuntimeError("trial digits.dcgan.ns.none.none-random-0003 ran past training.timeout=2 s"),
    "worker",  # the time limit's SIGKILL of a worker stuck outside Python, as Ray words it when it knows
])
def test_a_trial_that_failed_by_itself_spends_a_retry(tmp_path, exc, ray_says):
    if exc == "worker":
        exc = _died("The actor is dead because its worker process has died. Worker exit type: SYSTEM_ERROR")
    cb, trial = NodeLossCallback(), _Trial(tmp_path)
    trial.fail(_node_died(), cb)
    trial.fail(exc, cb)
    assert trial.run_metadata.num_failures == 1 and cb.forgiven[trial.trial_id] == 1


@pytest.mark.parametrize("reason", ["WORKER_DIED", "UNSPECIFIED"])
def test_unavailable_is_forgiven_only_until_ray_says_the_node_did_not_die(tmp_path, ray_says, reason):
    """Before Ray knows why, a SIGKILLed worker reads 'temporarily unavailable' too (reviewer's
    finding): forgiven for now, counted again once Ray records a cause that is not its node."""
    cb, trial = NodeLossCallback(), _Trial(tmp_path, failures=1)
    trial.start(cb)
    trial.fail(_unavailable(), cb)
    assert trial.run_metadata.num_failures == 1
    _step(cb, trial)  # Ray does not know yet
    assert trial.run_metadata.num_failures == 1 and cb.pending
    ray_says[ACTOR] = reason
    _step(cb, trial)
    assert trial.run_metadata.num_failures == 2 and not cb.pending
    _step(cb, trial)
    assert trial.run_metadata.num_failures == 2  # counted once


def test_a_failure_tune_did_not_count_is_not_forgiven(tmp_path, ray_says):
    """An autoscaler's preemption is not counted by Tune: taking it off would forgive an earlier,
    real failure (reviewer's finding)."""
    cb, trial = NodeLossCallback(), _Trial(tmp_path, failures=2)
    trial.start(cb)
    trial.fail(_node_died(), cb, counted=False)
    assert trial.run_metadata.num_failures == 2 and not cb.forgiven


def test_ray_records_why_an_actor_died(ray_head):
    """actor_death_reason asks the GCS (no dashboard): None while alive, WORKER_DIED once killed."""
    import time

    import ray

    @ray.remote(num_cpus=0)
    class Pid:
        def pid(self) -> int:
            return os.getpid()

    actor = Pid.remote()
    pid = ray.get(actor.pid.remote())
    actor_id = actor._actor_id.hex()
    assert actor_death_reason(actor_id) is None
    os.kill(pid, 9)
    deadline = time.monotonic() + 30
    while actor_death_reason(actor_id) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert actor_death_reason(actor_id) == "WORKER_DIED"
    assert actor_death_reason("00" * 16) is None
