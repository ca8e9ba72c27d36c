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
    save_generator(tmp_path, "digits.dcgan.ns.none.none-random-0001", snap)

    g = load_generator(tmp_path, "digits.dcgan.ns.none.none-random-0001")
    assert (g.step, g.score, g.metric, g.config) == (4, 1.25, "fd", cfg)
    assert g.shape == tuple(data.train.shape[1:])
    assert not g.generator.training
    assert torch.equal(g.sampler.sample(10, batch_size=4), scored)
    g.rewind()
    assert torch.equal(g.sampler.sample(10, batch_size=4), scored)
    assert [p.name for p in (tmp_path / "generators").iterdir()] == ["digits.dcgan.ns.none.none-random-0001.pt"]  # no temporaries


def test_missing_damaged_and_foreign_files_are_one_line_errors(tmp_path):
    with pytest.raises(GansweepError, match="no stored generator for trial digits.dcgan.ns.none.none-random-0000"):
        load_generator(tmp_path, "digits.dcgan.ns.none.none-random-0000")
    path = generator_path(tmp_path, "digits.dcgan.ns.none.none-random-0000")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00not a torch file")
    with pytest.raises(GansweepError, match="not a readable gansweep generator") as info:
        load_generator(tmp_path, "digits.dcgan.ns.none.none-random-0000")
    assert "\n" not in str(info.value)
    torch.save({"format": 99}, path)
    with pytest.raises(GansweepError, match="format 99"):
        load_generator(tmp_path, "digits.dcgan.ns.none.none-random-0000")


def test_a_file_that_would_run_code_is_refused(tmp_path):
    path = generator_path(tmp_path, "digits.dcgan.ns.none.none-random-0000")
    path.parent.mkdir(parents=True)
    torch.save({"format": 1, "payload": GANConfig("mlp")}, path)  # a pickled object, not plain data
    with pytest.raises(GansweepError, match="not a readable gansweep generator"):
        load_generator(tmp_path, "digits.dcgan.ns.none.none-random-0000")



@pytest.mark.parametrize("options,classes", [(BIGGAN, 3), ({"truncation": 0.8}, 0), ({"shared_dim": 4}, 3)])
def test_any_number_of_samples_is_what_the_evaluation_drew(tmp_path, options, classes):
    """An evaluation draws ``batch_size`` samples per call, and labels and truncated latents come
    from the stream per call: the first n samples are the scored ones only if drawn by the same calls."""
    cfg = GANConfig("biggan", normalization="sn", options=options, **TINY)
    t = GANTrainer(cfg, images(16, classes=classes), seed=3)
    t.train(2)
    stream = t.eval_rng.get_state()
    scored = torch.cat([t.sample(m) for m in (20, 20, 10)])  # an evaluation of 50 samples, 20 at a time
    save_generator(tmp_path, "digits.dcgan.ns.none.none-random-0001", snapshot(t, 1.0, "fd", stream, draws=(50, 20)))
    g = load_generator(tmp_path, "digits.dcgan.ns.none.none-random-0001")
    for n in (1, 7, 20, 33, 50):
        assert torch.equal(g.sample(n), scored[:n]), n
    assert torch.equal(g.sample(64)[:50], scored) and len(g.sample(64)) == 64
