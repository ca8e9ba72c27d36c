"""Every loss × penalty × normalization × architecture builds and trains a step (compare_gan's
``modular_gan_test``), and every image architecture builds at 16, 32, 64 and 128.

The full product is 750 trainings. By default it runs in full for ``mlp`` and ``dcgan`` and, for
the deeper architectures, over every penalty × normalization pair with the loss chosen by a Latin
square, so every pair of choices (loss–penalty, loss–normalization, penalty–normalization) meets
on every architecture; a loss only reads the discriminator's logits, so what the square leaves
out adds nothing an architecture could break. ``GANSWEEP_FULL_MATRIX=1`` runs all 750.
"""

from __future__ import annotations

import math
import os

import pytest
import torch

from gansweep.gan import ARCHITECTURES, LOSSES, NORMS, PENALTIES, GANConfig, GANTrainer
from .helpers import SMOKE_RES, TINY, images, points

IMAGE_ARCHS = [a for a in ARCHITECTURES.names() if SMOKE_RES[a] is not None]


def test_every_architecture_has_a_smoke_resolution():
    assert set(SMOKE_RES) == set(ARCHITECTURES.names())


FULL = os.environ.get("GANSWEEP_FULL_MATRIX") == "1"
FULL_PRODUCT_ARCHS = ("mlp", "dcgan")


def combinations() -> list[tuple[str, str, str, str]]:
    losses, penalties, norms = LOSSES.names(), PENALTIES.names(), NORMS.names()
    out = []
    for arch in ARCHITECTURES.names():
        for i, penalty in enumerate(penalties):
            for j, norm in enumerate(norms):
                if FULL or arch in FULL_PRODUCT_ARCHS:
                    out += [(arch, loss, penalty, norm) for loss in losses]
                else:
                    out.append((arch, losses[(i + j) % len(losses)], penalty, norm))
    return out


def test_the_latin_square_meets_every_pair():
    combos = combinations()
    for arch in ARCHITECTURES.names():
        mine = [c[1:] for c in combos if c[0] == arch]
        for a, b in ((0, 1), (0, 2), (1, 2)):
            pairs = {(c[a], c[b]) for c in mine}
            names = [LOSSES.names(), PENALTIES.names(), NORMS.names()]
            assert len(pairs) == len(names[a]) * len(names[b])


@pytest.mark.parametrize("arch,loss,penalty,norm", combinations())
def test_every_combination_trains(arch, loss, penalty, norm):
    res = SMOKE_RES[arch]
    data = points() if res is None else images(res, classes=3)
    cfg = GANConfig(arch, loss=loss, penalty=penalty, normalization=norm, **TINY)
    trainer = GANTrainer(cfg, data)
    before = [p.detach().clone() for p in trainer.D.parameters()]
    out = trainer.train(1)
    assert trainer.step == 1
    assert set(out) == {"d_loss", "g_loss", "penalty"}
    assert all(math.isfinite(v) for v in out.values())
    assert (out["penalty"] == 0.0) == (penalty == "none")
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.D.parameters()))


@pytest.mark.parametrize("arch", IMAGE_ARCHS)
@pytest.mark.parametrize("res", [16, 32, 64])
def test_image_architectures_train_at_each_resolution(arch, res):
    cfg = GANConfig(arch, normalization="sn", **TINY)
    trainer = GANTrainer(cfg, images(res, channels=3, n=8))
    trainer.train(1)
    x = trainer.sample(3)
    assert x.shape == (3, 3, res, res)
    assert x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("arch", IMAGE_ARCHS)
def test_image_architectures_build_at_128(arch):
    cfg = GANConfig(arch, normalization="sn", width=1, z_dim=8)
    g, d = ARCHITECTURES[arch](cfg, (3, 128, 128), 0, NORMS["sn"])
    with torch.no_grad():
        x = g(torch.randn(2, 8))
        assert x.shape == (2, 3, 128, 128)
        assert d(x).shape == (2,)
