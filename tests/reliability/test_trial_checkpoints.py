"""A real trial and its checkpoints: retried from one, from one that is gone, after it had ended.

The trial function runs in-process with ``tune.report`` and ``tune.get_checkpoint`` replaced, so
each crash lands exactly where the test wants it; the generator, data and metrics are real.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ray import tune

from gansweep.data import load_dataset
from gansweep.metrics import Evaluator
from gansweep.store.generators import load_generator
from gansweep.trial import worker
from gansweep.study.schema import Data, Metrics, Resources, Training
from gansweep.trial.settings import TrialContext

CONFIG = {"trial_id": "ring8.mlp.ns.none.none-random-0000", "dataset": "ring8", "architecture": "mlp",
          "loss": "ns", "penalty": "none", "normalization": "none", "seed": 5, "hp": {"lr": 1e-3}}


class Crash(Exception):
    pass


def settings(tmp_path: Path) -> TrialContext:
    return TrialContext(Training(steps=30, eval_every=10, batch_size=32, z_dim=4, width=16),
                        Metrics(primary="fd", samples=300), Data(), Resources(),
                        cache_dir=str(tmp_path / "cache"), study_dir=str(tmp_path))


class Tune:
    """``tune.report`` that keeps each report's checkpoint (a copy) and can crash at the n-th report."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.dir, self.reports, self.checkpoints, self.crash_at = tmp_path / "tune", [], [], None
        monkeypatch.setattr(worker, "_report", self.report)
        self.resume_from(None, monkeypatch)

    def report(self, result: dict, checkpoint_dir: str | None = None) -> None:
        self.reports.append(result)
        if checkpoint_dir:
            kept = self.dir / f"checkpoint_{len(self.checkpoints):03d}"
            shutil.copytree(checkpoint_dir, kept)
            self.checkpoints.append(kept)
        if self.crash_at == len(self.reports):
            raise Crash

    def resume_from(self, path: Path | None, monkeypatch: pytest.MonkeyPatch) -> None:
        ckpt = None if path is None else tune.Checkpoint.from_directory(str(path))
        monkeypatch.setattr(tune, "get_checkpoint", lambda: ckpt)

    def run(self, tmp_path: Path, crash_at: int | None = None) -> dict:
        self.reports.clear()
        self.crash_at = crash_at
        worker._run_real(dict(CONFIG), settings(tmp_path))
        return self.reports[-1]


def test_a_retried_trial_keeps_the_best_generator_from_its_checkpoint(tmp_path, monkeypatch):
    """Attempt 1 evaluates at steps 10 and 20 and dies reporting step 20; attempt 2 continues from
    the step-10 checkpoint. The best evaluation (made step 10) happened before the crash: the kept
    generator must come from the checkpoint, and still draw exactly what was scored."""
    scored = Evaluator.__call__

    def later_is_worse(self, trainer):  # make step 10 the best evaluation, whatever training does
        values = scored(self, trainer)
        return {**values, "fd": values["fd"] + (100.0 if trainer.step > 10 else 0.0)}

    monkeypatch.setattr(Evaluator, "__call__", later_is_worse)
    t = Tune(tmp_path, monkeypatch)
    with pytest.raises(Crash):
        t.run(tmp_path, crash_at=2)
    assert not (tmp_path / "generators").exists()  # written only when the trial ends
    t.resume_from(t.checkpoints[0], monkeypatch)
    final = t.run(tmp_path)
    assert final["status"] == "completed" and [h["step"] for h in final["evals"]] == [10, 20, 30]
    g = load_generator(tmp_path, CONFIG["trial_id"])
    assert (g.step, g.score) == (10, final["score"]) == (10, final["evals"][0]["fd"])
    evaluator = Evaluator(load_dataset("ring8"), ["fd"], 300, cache_dir=str(tmp_path / "cache"), seed=5)
    assert scored(evaluator, g.sampler)["fd"] == final["score"]


def test_an_ended_trial_leaves_a_checkpoint_without_weights(tmp_path, monkeypatch):
    t = Tune(tmp_path, monkeypatch)
    final = t.run(tmp_path)
    last = t.checkpoints[-1]
    assert sorted(p.name for p in last.iterdir()) == ["final.json"]  # Tune drops the 3 x (G + D) before it
    assert json.loads((last / "final.json").read_text()) == json.loads(json.dumps(final))

    # Tune restarts the trial from that checkpoint (a snapshot older than its end): no training,
    # the same final result again
    from gansweep.gan import GANTrainer

    monkeypatch.setattr(GANTrainer, "train", lambda *a: pytest.fail("an ended trial trained again"))
    t.resume_from(last, monkeypatch)
    again = t.run(tmp_path)
    assert json.loads(json.dumps(again)) == json.loads(json.dumps(final))


@pytest.mark.parametrize("damage", ["truncated", "emptied"])
def test_an_unreadable_checkpoint_costs_time_not_the_trial(tmp_path, monkeypatch, caplog, damage):
    """A damaged trial.pt (a node lost mid-write, another gansweep version): start again, same result."""
    t = Tune(tmp_path, monkeypatch)
    whole = t.run(tmp_path)
    with pytest.raises(Crash):
        t.run(tmp_path / "b", crash_at=2)
    state = t.checkpoints[-2] / worker.STATE_FILE  # the checkpoint of step 10
    if damage == "truncated":
        state.write_bytes(state.read_bytes()[:1000])
    else:
        state.unlink()
    t.resume_from(t.checkpoints[-2], monkeypatch)
    again = t.run(tmp_path / "b")
    assert "cannot be read" in caplog.text and "starting it again from step 0" in caplog.text
    assert again["status"] == "completed"
    assert [h["fd"] for h in again["evals"]] == [h["fd"] for h in whole["evals"]]  # seeded: the same trial


def test_a_checkpoint_without_the_best_generator_keeps_none_rather_than_a_wrong_one(tmp_path, monkeypatch, caplog):
    """A checkpoint written before trials kept generators: the best evaluation (step 10) is in the
    history but its generator is not; keeping a later one would contradict the stored score."""
    import torch

    scored = Evaluator.__call__
    monkeypatch.setattr(Evaluator, "__call__", lambda self, trainer: {
        **(v := scored(self, trainer)), "fd": v["fd"] + (100.0 if trainer.step > 10 else 0.0)})
    t = Tune(tmp_path, monkeypatch)
    with pytest.raises(Crash):
        t.run(tmp_path, crash_at=2)
    state_file = t.checkpoints[0] / worker.STATE_FILE
    state = torch.load(state_file, weights_only=True)
    del state["best"]
    torch.save(state, state_file)
    t.resume_from(t.checkpoints[0], monkeypatch)
    final = t.run(tmp_path)
    assert final["status"] == "completed" and final["score"] == final["evals"][0]["fd"]
    assert not (tmp_path / "generators").exists()
    assert "was not checkpointed; keeping none" in caplog.text
