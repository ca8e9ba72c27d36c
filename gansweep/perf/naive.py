"""The naive eager baseline: a GAN training loop as a PyTorch tutorial writes it.

Issue 9 measures gansweep against what one would write without thinking about a GPU, so this
loop deliberately keeps the usual habits: ``torch.nn.utils.spectral_norm`` (a power iteration
and a renormalisation in every forward), ``torch.optim.Adam`` with its default implementation,
separate discriminator forwards for the real and the generated batch, the generated batch reused
for the generator step (so that step also computes discriminator gradients it throws away), and
``.item()`` on both losses every step, as a loop that logs them does. The networks are gansweep's
own architectures, so the comparison is about the loop and not the model; losses and penalties
are the same pure functions the trainer uses.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from gansweep.data import Dataset
from gansweep.gan.archs import ARCHITECTURES
from gansweep.gan.config import GANConfig
from gansweep.gan.losses import LOSSES
from gansweep.gan.norms import NORMS
from gansweep.gan.penalties import PENALTIES


def torch_spectral_norm(net: nn.Module) -> None:
    """Wrap every conv and linear layer of ``net`` in ``torch.nn.utils.spectral_norm``."""
    for m in list(net.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.utils.spectral_norm(m)


TORCH_NORMS: dict[str, tuple[str, Callable[[nn.Module], None]]] = {"sn": ("none", torch_spectral_norm)}
"""Normalizations the baseline takes from torch instead of gansweep: name → (gansweep norm the
model is built with, what is applied to the built discriminator). Others are gansweep's own."""


def _leave(net: nn.Module) -> None:
    """The discriminator as built."""


class NaiveLoop:
    """Trains ``cfg`` (unconditional, one D step per G step) on ``data`` the naive way."""

    def __init__(self, cfg: GANConfig, data: Dataset, device: str | torch.device = "cpu", seed: int = 0) -> None:
        self.cfg, self.device = cfg, torch.device(device)
        built_norm, wrap = TORCH_NORMS.get(cfg.normalization, (cfg.normalization, _leave))
        shape = tuple(int(s) for s in data.train.shape[1:])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            g, d = ARCHITECTURES[cfg.architecture](cfg, shape, 0, NORMS[built_norm])
            wrap(d)
        self.G, self.D = g.to(self.device), d.to(self.device)
        self.x = data.train.to(self.device, torch.float32)
        self.loss, self.penalty = LOSSES[cfg.loss], PENALTIES[cfg.penalty]
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.generator_lr, betas=(cfg.beta1, cfg.beta2))
        self.rng = torch.Generator(self.device).manual_seed(seed)
        self.losses: list[tuple[float, float]] = []

    def step(self) -> None:
        """One discriminator and one generator step; both losses read back to the host."""
        b = self.cfg.batch_size
        real = self.x[torch.randint(self.x.shape[0], (b,), generator=self.rng, device=self.device)]
        fake = self.G(torch.randn(b, self.cfg.z_dim, generator=self.rng, device=self.device))

        self.opt_d.zero_grad()
        d_loss = self.loss.d(self.D(real), self.D(fake.detach()))
        pen = self.penalty(self.D, real, fake, None, self.cfg.penalty_weight, generator=self.rng)
        (d_loss + pen).backward()
        self.opt_d.step()

        self.opt_g.zero_grad()
        g_loss = self.loss.g(self.D(fake))
        g_loss.backward()
        self.opt_g.step()
        self.losses.append((d_loss.item(), g_loss.item()))

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()
