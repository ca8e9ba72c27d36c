"""Tiny synthetic data and configurations shared by the GAN tests."""

from __future__ import annotations

import torch
from torch import nn

from gansweep.data import Dataset

TINY = dict(width=2, batch_size=4, z_dim=8, penalty_weight=1.0)
"""The smallest settings every architecture accepts."""

SMOKE_RES = {"mlp": None, "dcgan": 16, "sndcgan": 16, "resnet_cifar": 16, "resnet19": 16, "biggan": 16}
"""Resolution each architecture is smoke-tested at (None: 2-D points)."""


def images(resolution: int, channels: int = 1, n: int = 16, classes: int = 0, seed: int = 0) -> Dataset:
    """Uniform noise images in [-1, 1] (with random labels when ``classes``)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, channels, resolution, resolution, generator=g) * 2 - 1
    y = torch.randint(max(classes, 1), (n,), generator=g)
    return Dataset("synthetic", x, x, y if classes else None, y if classes else None, num_classes=classes)


def points(n: int = 64, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    return Dataset("points", x, x)


class TinyD(nn.Module):
    """A smooth (tanh) discriminator on flat inputs, for checks against finite differences."""

    def __init__(self, dim: int, hidden: int = 5, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.Tanh(), nn.Linear(hidden, 1)).double()

    def forward(self, x, labels=None):
        return self.net(x.flatten(1)).squeeze(1)
