"""A trial whose node was lost is retried without spending ``failure.max_failures`` (NodeLossCallback).

The study-level test is test_cluster.py (a node removed mid-study); here the rule itself, on the
error text as Tune writes it from Ray's own exceptions.
"""

from __future__ import annotations

import pytest

from gansweep.driver.callbacks import NODE_LOSS_RETRIES, NodeLossCallback


class _Trial:
    """What NodeLossCallback reads of a Tune trial: its id, config, failure count and error file,
    to which Tune appends ``Failure # n (occurred at …)`` and ``str(exception)``."""

    def __init__(self, tmp_path):
        from ray.tune.trainable.metadata import _TrainingRunMetadata

        self.trial_id, self.config = "abc_00001", {"trial_id": "digits.dcgan.ns.none.none-random-0003"}
        self.run_metadata = _TrainingRunMetadata()
        self.error_file = str(tmp_path / "error.txt")

    def fail(self, exc: Exception, callback: NodeLossCallback) -> None:
        """What Tune does when an attempt fails and the trial may still recover."""
        self.run_metadata.num_failures += 1
        with open(self.error_file, "a") as f:
            f.write(f"Failure # {self.run_metadata.num_failures} (occurred at 2026-11-24_10-00-00)\n{exc}\n")
        callback.on_trial_recover(iteration=0, trials=[self], trial=self)


def _died(message: str) -> Exception:
    from ray.core.generated.common_pb2 import ActorDiedErrorContext
    from ray.exceptions import ActorDiedError

    return ActorDiedError(ActorDiedErrorContext(actor_id=b"\x02" * 16, class_name="ImplicitFunc",
                                                error_message=message))


def _unavailable() -> Exception:
    from ray.exceptions import ActorUnavailableError

    return ActorUnavailableError("The actor is temporarily unavailable: RpcError: RPC error: recvmsg:Connection "
                                 "reset by peer rpc_code: 14", b"\x01" * 16)


def test_a_lost_node_does_not_spend_the_retries_of_its_trials(tmp_path):
    cb, trial = NodeLossCallback(), _Trial(tmp_path)
    for _ in range(3):  # six losses in a row: max_failures=3 would have stored it failed
        trial.fail(_unavailable(), cb)
        trial.fail(_died("The actor died because its node has died. Node Id: 4f2c"), cb)
        assert trial.run_metadata.num_failures == 0
    for _ in range(NODE_LOSS_RETRIES):  # bounded: a node that keeps failing does not retry it for ever
        trial.fail(_unavailable(), cb)
    assert cb.forgiven[trial.trial_id] == NODE_LOSS_RETRIES
    assert trial.run_metadata.num_failures == 6


@pytest.mark.parametrize("exc", [
    RuntimeError("trial digits.dcgan.ns.none.none-random-0003 ran past training.timeout=2 s"),
    "worker",  # the time limit's SIGKILL of a worker stuck outside Python
])
def test_a_trial_that_failed_by_itself_spends_a_retry(tmp_path, exc):
    if exc == "worker":
        exc = _died("The actor is dead because its worker process has died. Worker exit type: SYSTEM_ERROR")
    cb, trial = NodeLossCallback(), _Trial(tmp_path)
    trial.fail(_unavailable(), cb)
    trial.fail(exc, cb)
    assert trial.run_metadata.num_failures == 1 and cb.forgiven[trial.trial_id] == 1
