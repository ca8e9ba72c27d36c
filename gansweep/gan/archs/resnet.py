"""Residual G and D shared by ``resnet_cifar``, ``resnet19`` and ``biggan``, and the first two.

``resnet_cifar``: SNGAN's CIFAR ResNet (Miyato et al., 2018, Table 4; compare_gan
``resnet_cifar.py``). G: Linear → 4×4×4w → up-blocks (4w) to the resolution → BN → ReLU → conv3 →
tanh. D: down-blocks (2w) to 8×8, then two blocks at 8×8, ReLU, mean pool, linear.

``resnet19``: the GAN Landscape's 128×128 ResNet (Kurach et al., 2019, Table 5; compare_gan
``resnet5.py``). G: Linear → 4×4×8w → five blocks with channels 8w, 8w, 4w, 4w, 2w, w (the first
log2(res/4) upsample) → BN → ReLU → conv3 → tanh. D: six blocks with channels w, 2w, 4w, 4w, 8w,
8w (the first log2(res/2) downsample, all six at 128), ReLU, mean pool, linear.

With the option ``conditional`` (and a labelled data set) G uses class-conditional batch norm and
D a projection (Miyato & Koyama, 2018).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gansweep.errors import GansweepError
from gansweep.gan.archs.base import Projection, d_channels, image_architecture, init_xavier
from gansweep.gan.archs.layers import DBlock, GBlock, SelfAttention, Wrap, identity
from gansweep.gan.norms import Norm

GBlockSpec = tuple[int, int, bool]
"""(in channels, out channels, upsample) of one generator block."""
DBlockSpec = tuple[int, int, bool]
"""(in channels, out channels, downsample) of one discriminator block."""


class ResGenerator(nn.Module):
    """Linear seed at 4×4, residual up-blocks, BN → ReLU → conv3 → tanh.

    Conditioning of each block's batch norms: the label, as a one-hot vector (per-layer class
    embeddings) or through a shared embedding of ``shared_dim`` (BigGAN), concatenated with the
    block's chunk of z when ``skip_z`` (BigGAN's hierarchical latent: z is split into one chunk for
    the seed and one per block).
    """

    def __init__(
        self,
        z_dim: int,
        out_channels: int,
        blocks: Sequence[GBlockSpec],
        num_classes: int = 0,
        shared_dim: int = 0,
        skip_z: bool = False,
        attention_after: int | None = None,
        wrap: Wrap = identity,
    ) -> None:
        super().__init__()
        self.z_dim, self.num_classes, self.skip_z = z_dim, num_classes, skip_z
        n = len(blocks)
        if skip_z and z_dim < n + 1:
            raise GansweepError(f"skip_z splits z into {n + 1} chunks; z_dim={z_dim} is too small")
        chunks = [len(c) for c in torch.arange(z_dim).tensor_split(n + 1)] if skip_z else [z_dim] + [0] * n
        self.embed = nn.Embedding(num_classes, shared_dim) if (num_classes and shared_dim) else None
        label_dim = (shared_dim or num_classes) if num_classes else 0
        self.base = blocks[0][0]
        self.fc = wrap(nn.Linear(chunks[0], self.base * 16))
        self.blocks = nn.ModuleList(
            GBlock(cin, cout, label_dim + chunks[i + 1], up, wrap) for i, (cin, cout, up) in enumerate(blocks)
        )
        self.attention_after = attention_after
        self.attention = SelfAttention(blocks[attention_after][1], wrap) if attention_after is not None else None
        last = blocks[-1][1]
        self.bn = nn.BatchNorm2d(last)
        self.out = wrap(nn.Conv2d(last, out_channels, 3, padding=1))

    def _labels(self, labels: Tensor | None, dtype: torch.dtype) -> Tensor | None:
        if not self.num_classes:
            return None
        if labels is None:
            raise ValueError("a conditional generator needs labels")
        if self.embed is not None:
            return self.embed(labels)
        return F.one_hot(labels, self.num_classes).to(dtype)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        y = self._labels(labels, z.dtype)
        n = len(self.blocks)
        if self.skip_z:
            z0, *zs = z.tensor_split(n + 1, dim=1)
            conds = [zi if y is None else torch.cat([y, zi], 1) for zi in zs]
        else:
            z0, conds = z, [y] * n
        h = self.fc(z0).view(z.shape[0], self.base, 4, 4)
        for i, block in enumerate(self.blocks):
            h = block(h, conds[i])
            if i == self.attention_after:
                h = self.attention(h)
        return torch.tanh(self.out(F.relu(self.bn(h))))


class ResDiscriminator(nn.Module):
    """Residual down-blocks (the first an optimized block), ReLU, global pool, projection head."""

    def __init__(
        self,
        blocks: Sequence[DBlockSpec],
        norm: Norm,
        num_classes: int = 0,
        pool: str = "mean",
        attention_after: int | None = None,
    ) -> None:
        super().__init__()
        self.num_classes, self.pool = num_classes, pool
        self.blocks = nn.ModuleList(
            DBlock(cin, cout, down, norm, first=i == 0) for i, (cin, cout, down) in enumerate(blocks)
        )
        self.attention_after = attention_after
        self.attention = (
            SelfAttention(blocks[attention_after][1], norm.layer) if attention_after is not None else None
        )
        last = blocks[-1][1]
        self.act = norm.act(last, nn.ReLU())
        self.head = Projection(last, num_classes, norm)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        h = x
        for i, block in enumerate(self.blocks):
            h = block(h)
            if i == self.attention_after:
                h = self.attention(h)
        h = self.act(h)
        h = h.sum((2, 3)) if self.pool == "sum" else h.mean((2, 3))
        return self.head(h, labels if self.num_classes else None)


def doublings(resolution: int, start: int) -> int:
    return int(math.log2(resolution // start))


def conditioning(arch: str, options: dict, num_classes: int, user_options) -> int:
    """The number of classes G and D condition on: 0 unless the option and the data allow it."""
    if options["conditional"] and not num_classes and user_options.get("conditional"):
        raise GansweepError(f"architecture {arch!r}: conditional=True needs a data set with class labels")
    return num_classes if options["conditional"] else 0


@image_architecture("resnet_cifar", multiple=16, init=init_xavier)
def build_resnet_cifar(cfg, channels: int, res: int, num_classes: int, norm: Norm,
                       options) -> tuple[nn.Module, nn.Module]:
    _power_of_two("resnet_cifar", res)
    classes = conditioning("resnet_cifar", options, num_classes, cfg.options)
    gw, dw = 4 * cfg.width, 2 * cfg.width
    g = ResGenerator(cfg.z_dim, channels, [(gw, gw, True)] * doublings(res, 4), num_classes=classes)
    downs = doublings(res, 8)
    d_blocks = [(d_channels(cfg, channels) if i == 0 else dw, dw, i < downs) for i in range(downs + 2)]
    d = ResDiscriminator(d_blocks, norm, num_classes=classes, pool="mean")
    return g, d


@image_architecture("resnet19", multiple=16, init=init_xavier)
def build_resnet19(cfg, channels: int, res: int, num_classes: int, norm: Norm,
                   options) -> tuple[nn.Module, nn.Module]:
    _power_of_two("resnet19", res)
    classes = conditioning("resnet19", options, num_classes, cfg.options)
    w = cfg.width
    g_mult, d_mult = (8, 8, 4, 4, 2, 1), (1, 1, 2, 4, 4, 8, 8)
    ups, downs = doublings(res, 4), doublings(res, 2)
    g_blocks = [(g_mult[i] * w, g_mult[i + 1] * w, i < ups) for i in range(5)]
    d_blocks = [(d_channels(cfg, channels) if i == 0 else d_mult[i] * w, d_mult[i + 1] * w, i < downs)
                for i in range(6)]
    g = ResGenerator(cfg.z_dim, channels, g_blocks, num_classes=classes)
    d = ResDiscriminator(d_blocks, norm, num_classes=classes, pool="mean")
    return g, d


def _power_of_two(arch: str, res: int) -> None:
    if res & (res - 1):
        raise GansweepError(f"architecture {arch!r} needs a power-of-two resolution, got {res}")
