"""A short run on ring8 per loss: the generator must learn, so a silently broken loss fails.

Modes are counted as in the mixture literature (Metz et al., 2017): a mode is covered when some
sample lies within 3 std of its centre. An untrained generator covers none (its samples sit near
the origin, the modes on a circle of radius 2); 300 steps must cover at least two. WGAN needs a
Lipschitz discriminator and LS learns faster with one, so those two use SN.
"""

from __future__ import annotations

import pytest
import torch

from gansweep.data import load_dataset
from gansweep.gan import GANConfig, GANTrainer

NORM = {"ns": "none", "mm": "none", "hinge": "none", "ls": "sn", "wgan": "sn"}
STEPS = 300


@pytest.fixture(scope="module")
def ring8():
    return load_dataset("ring8")


def modes_covered(samples: torch.Tensor, centers: torch.Tensor, std: float) -> int:
    return int((torch.cdist(samples, centers) < 3 * std).any(0).sum())


@pytest.mark.slow
@pytest.mark.parametrize("loss", sorted(NORM))
def test_mode_coverage_rises_above_an_untrained_generator(loss, ring8):
    centers = torch.as_tensor(ring8.info["centers"], dtype=torch.float32)
    std = ring8.info["std"]
    cfg = GANConfig(
        "mlp", loss=loss, normalization=NORM[loss], width=128, batch_size=128, z_dim=4,
        lr=1e-3, beta1=0.5, beta2=0.9,
    )
    trainer = GANTrainer(cfg, ring8, seed=0)
    before = modes_covered(trainer.sample(10_000), centers, std)
    trainer.train(STEPS)
    after = modes_covered(trainer.sample(10_000), centers, std)
    assert after >= 2 and after > before, (before, after)
