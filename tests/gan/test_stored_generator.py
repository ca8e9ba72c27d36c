"""Each trial's best generator: written atomically, rebuilt exactly, refused in one line when unusable."""

from __future__ import annotations

import pytest
import torch

from gansweep.errors import GansweepError
from gansweep.gan import GANConfig, GANTrainer
from gansweep.store.generators import generator_path, load_generator, save_generator, snapshot
from .helpers import TINY, images, points

BIGGAN = {"ema_decay": 0.9, "ema_start": 2, "shared_dim": 4, "truncation": 0.8}


@pytest.mark.parametrize("arch,norm,options,prior", [
    ("mlp", "none", {}, "normal"),
    ("dcgan", "sn", {}, "uniform"),
    ("sndcgan", "bn", {}, "normal"),
    ("biggan", "sn", BIGGAN, "normal"),  # EMA copy, truncation, class labels, SN inside G
])
def test_stored_generator_draws_the_samples_that_were_scored(tmp_path, arch, norm, options, prior):
    cfg = GANConfig(arch, normalization=norm, options=options, prior=prior, **TINY)
    data = points() if arch == "mlp" else images(16, classes=3 if arch == "biggan" else 0)
    t = GANTrainer(cfg, data, seed=3)
    t.train(4)
    stream = t.eval_rng.get_state()
    scored = t.sample(10, batch_size=4)  # what an evaluation at this step would see
    snap = snapshot(t, 1.25, "fd", stream)
    t.train(3)  # training goes on: the snapshot must not move with it
    save_generator(tmp_path, "cell-random-0001", snap)

    g = load_generator(tmp_path, "cell-random-0001")
    assert (g.step, g.score, g.metric, g.config) == (4, 1.25, "fd", cfg)
    assert g.shape == tuple(data.train.shape[1:])
    assert not g.generator.training
    assert torch.equal(g.sampler.sample(10, batch_size=4), scored)
    g.rewind()
    assert torch.equal(g.sampler.sample(10, batch_size=4), scored)
    assert [p.name for p in (tmp_path / "generators").iterdir()] == ["cell-random-0001.pt"]  # no temporaries


def test_missing_damaged_and_foreign_files_are_one_line_errors(tmp_path):
    with pytest.raises(GansweepError, match="no stored generator for trial x-random-0000"):
        load_generator(tmp_path, "x-random-0000")
    path = generator_path(tmp_path, "x-random-0000")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00not a torch file")
    with pytest.raises(GansweepError, match="not a readable gansweep generator") as info:
        load_generator(tmp_path, "x-random-0000")
    assert "\n" not in str(info.value)
    torch.save({"format": 99}, path)
    with pytest.raises(GansweepError, match="format 99"):
        load_generator(tmp_path, "x-random-0000")


def test_a_file_that_would_run_code_is_refused(tmp_path):
    path = generator_path(tmp_path, "x-random-0000")
    path.parent.mkdir(parents=True)
    torch.save({"format": 1, "payload": GANConfig("mlp")}, path)  # a pickled object, not plain data
    with pytest.raises(GansweepError, match="not a readable gansweep generator"):
        load_generator(tmp_path, "x-random-0000")


def test_a_retried_trial_keeps_the_best_generator_from_its_checkpoint(tmp_path, monkeypatch):
    """Attempt 1 evaluates at steps 10 and 20 and dies reporting step 20; attempt 2 continues from
    the step-10 checkpoint. The best evaluation (made step 10) happened before the crash: the kept
    generator must come from the checkpoint, and still draw exactly what was scored."""
    import shutil

    from ray import tune

    from gansweep.data import load_dataset
    from gansweep.metrics import Evaluator
    from gansweep.trial import worker
    from gansweep.trial.settings import TrialSettings

    settings = TrialSettings(steps=30, eval_every=10, batch_size=32, z_dim=4, width=16, resolution=None,
                             prior="normal", options={}, primary={"ring8": "fd"}, extra=[], samples=300,
                             inception_weights=None, cache_dir=str(tmp_path / "cache"), gpu=0, cpu=1,
                             timeout=None, study_dir=str(tmp_path))
    config = {"trial_id": "ring8.mlp.ns.none.none-random-0000", "dataset": "ring8", "architecture": "mlp",
              "loss": "ns", "penalty": "none", "normalization": "none", "seed": 5, "hp": {"lr": 1e-3}}
    scored = Evaluator.__call__

    def later_is_worse(self, trainer):  # make step 10 the best evaluation, whatever training does
        values = scored(self, trainer)
        return {**values, "fd": values["fd"] + (100.0 if trainer.step > 10 else 0.0)}

    monkeypatch.setattr(Evaluator, "__call__", later_is_worse)
    reports, saved, attempt = [], tmp_path / "ckpt", [1]

    class Crash(Exception):
        pass

    def report(result, checkpoint_dir=None):
        reports.append(result)
        if attempt == [1] and len(reports) == 2:
            raise Crash
        if checkpoint_dir and not saved.exists():
            shutil.copytree(checkpoint_dir, saved)

    monkeypatch.setattr(worker, "_report", report)
    monkeypatch.setattr(tune, "get_checkpoint", lambda: None)
    with pytest.raises(Crash):
        worker._run_real(config, settings)
    assert not (tmp_path / "generators").exists()  # written only when the trial ends
    monkeypatch.setattr(tune, "get_checkpoint", lambda: tune.Checkpoint.from_directory(str(saved)))
    reports.clear()
    attempt[0] = 2
    worker._run_real(config, settings)
    final = reports[-1]
    assert final["status"] == "completed" and [h["step"] for h in final["evals"]] == [10, 20, 30]
    g = load_generator(tmp_path, config["trial_id"])
    assert (g.step, g.score) == (10, final["score"]) == (10, final["evals"][0]["fd"])
    evaluator = Evaluator(load_dataset("ring8"), ["fd"], 300, cache_dir=settings.cache_dir, seed=5)
    assert scored(evaluator, g.sampler)["fd"] == final["score"]
