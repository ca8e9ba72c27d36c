"""A short run on ring8 per loss: the generator must learn, so a silently broken loss fails.

Modes are counted as in the mixture literature (Metz et al., 2017): a mode is covered when some
sample lies within 3 std of its centre. An untrained generator covers none (its samples sit near
the origin, the modes on a circle of radius 2); 300 steps must cover at least two. WGAN needs a
Lipschitz discriminator, so it uses SN, and hinge is SNGAN's loss; both take five discriminator
steps per generator step, as in those papers. Each setting covers at least 2 of the 8 modes (most
runs 7 or 8) at each of seeds 0-4 with 1 or 2 torch threads. With one discriminator step, SN's
discriminator learned too slowly here (WGAN + SN covered 0-3 modes, by seed and thread count):
an assertion that holds for one seed on one machine is not a test of the loss.
"""

from __future__ import annotations

import pytest
import torch

from gansweep.data import load_dataset
from gansweep.gan import GANConfig, GANTrainer

SETTINGS = {
    "ns": {},
    "mm": {},
    "hinge": {"normalization": "sn", "n_disc": 5},
    "ls": {},
    "wgan": {"normalization": "sn", "n_disc": 5},
}
STEPS = 300


@pytest.fixture(scope="module")
def ring8():
    return load_dataset("ring8")


def modes_covered(samples: torch.Tensor, centers: torch.Tensor, std: float) -> int:
    return int((torch.cdist(samples, centers) < 3 * std).any(0).sum())


@pytest.mark.slow
@pytest.mark.parametrize("loss", sorted(SETTINGS))
def test_mode_coverage_rises_above_an_untrained_generator(loss, ring8):
    centers = torch.as_tensor(ring8.info["centers"], dtype=torch.float32)
    std = ring8.info["std"]
    cfg = GANConfig(
        "mlp", loss=loss, width=128, batch_size=128, z_dim=4, lr=1e-3, beta1=0.5, beta2=0.9,
        **SETTINGS[loss],
    )
    trainer = GANTrainer(cfg, ring8, seed=0)
    before = modes_covered(trainer.sample(10_000), centers, std)
    trainer.train(STEPS)
    after = modes_covered(trainer.sample(10_000), centers, std)
    assert after >= 2 and after > before, (before, after)
