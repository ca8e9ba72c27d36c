"""Every loss × penalty × normalization × architecture builds and trains two steps."""

from __future__ import annotations

import math

import pytest
import torch

from gansweep.data import Dataset
from gansweep.gan import ARCHITECTURES, LOSSES, NORMS, PENALTIES, GANConfig, GANTrainer

TINY = dict(width=4, batch_size=4, z_dim=8, penalty_weight=1.0)
SMOKE_RES = {"mlp": None, "dcgan": 16}
"""Resolution each architecture is smoke-tested at (None: 2-D points)."""


def images(resolution: int, channels: int = 1, n: int = 16, classes: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(n, channels, resolution, resolution, generator=g) * 2 - 1
    y = torch.randint(max(classes, 1), (n,), generator=g)
    return Dataset("synthetic", x, x, y, y, num_classes=classes)


def data_for(arch: str, ring8) -> Dataset:
    res = SMOKE_RES[arch]
    return ring8 if res is None else images(res)


@pytest.mark.parametrize("arch", ARCHITECTURES.names())
@pytest.mark.parametrize("loss", LOSSES.names())
@pytest.mark.parametrize("penalty", PENALTIES.names())
@pytest.mark.parametrize("norm", NORMS.names())
def test_every_combination_trains(arch, loss, penalty, norm, ring8):
    cfg = GANConfig(arch, loss=loss, penalty=penalty, normalization=norm, **TINY)
    trainer = GANTrainer(cfg, data_for(arch, ring8))
    out = trainer.train(2)
    assert trainer.step == 2
    assert set(out) == {"d_loss", "g_loss", "penalty"}
    assert all(math.isfinite(v) for v in out.values())
    if penalty == "none":
        assert out["penalty"] == 0.0


@pytest.mark.parametrize("res", [16, 32, 64])
def test_dcgan_resolutions(res):
    cfg = GANConfig("dcgan", normalization="sn", **TINY)
    trainer = GANTrainer(cfg, images(res, channels=3))
    trainer.train(1)
    x = trainer.sample(3)
    assert x.shape == (3, 3, res, res)
    assert x.min() >= -1 and x.max() <= 1
