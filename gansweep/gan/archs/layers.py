"""Building blocks of the residual architectures (resnet_cifar, resnet19, biggan).

Generator blocks are conditioned through :class:`CondBatchNorm`; discriminator blocks take the
study's :class:`~gansweep.gan.norms.Norm`. ``wrap`` is a layer wrapper for the generator (identity,
or spectral norm in BigGAN's generator).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gansweep.gan.norms import Norm

Wrap = Callable[[nn.Module], nn.Module]


def identity(module: nn.Module) -> nn.Module:
    return module


class CondBatchNorm(nn.Module):
    """BN(x)·(1 + γ(c)) + β(c) with γ, β linear in the condition c (de Vries et al., 2017).

    BigGAN (Brock et al., 2019, Sec. 3) feeds c = [shared class embedding, chunk of z]; with no
    condition (``cond_dim`` 0) this is batch norm with a learned per-channel affine map.
    """

    def __init__(self, channels: int, cond_dim: int, wrap: Wrap = identity) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=cond_dim == 0)
        self.gain = wrap(nn.Linear(cond_dim, channels, bias=False)) if cond_dim else None
        self.bias = wrap(nn.Linear(cond_dim, channels, bias=False)) if cond_dim else None

    def forward(self, x: Tensor, cond: Tensor | None) -> Tensor:
        h = self.bn(x)
        if self.gain is None:
            return h
        gain = 1.0 + self.gain(cond)
        return h * gain[:, :, None, None] + self.bias(cond)[:, :, None, None]


class GBlock(nn.Module):
    """Pre-activation up-block: BN → ReLU → up×2 → conv3 → BN → ReLU → conv3, plus up → conv1.

    As in SNGAN (Miyato et al., 2018) and BigGAN (nearest-neighbour upsampling); the 1×1 shortcut
    is learned only when the block changes channels or resolution.
    """

    def __init__(self, cin: int, cout: int, cond_dim: int, up: bool, wrap: Wrap = identity) -> None:
        super().__init__()
        self.up = up
        self.bn1 = CondBatchNorm(cin, cond_dim, wrap)
        self.conv1 = wrap(nn.Conv2d(cin, cout, 3, padding=1))
        self.bn2 = CondBatchNorm(cout, cond_dim, wrap)
        self.conv2 = wrap(nn.Conv2d(cout, cout, 3, padding=1))
        self.shortcut = wrap(nn.Conv2d(cin, cout, 1)) if (cin != cout or up) else None

    def _up(self, x: Tensor) -> Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest") if self.up else x

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        h = self.conv1(self._up(F.relu(self.bn1(x, cond))))
        h = self.conv2(F.relu(self.bn2(h, cond)))
        sc = self._up(x)
        if self.shortcut is not None:
            sc = self.shortcut(sc)
        return h + sc


class DBlock(nn.Module):
    """Pre-activation down-block: norm → act → conv3 → norm → act → conv3 → avgpool, plus conv1 → pool.

    The first block of a discriminator (``first``) skips the activation of its input image and
    pools before its shortcut convolution (SNGAN's "optimized block").
    """

    def __init__(self, cin: int, cout: int, down: bool, norm: Norm, first: bool = False) -> None:
        super().__init__()
        self.down, self.first = down, first
        self.pre = nn.Identity() if first else nn.Sequential(norm.feature(cin), norm.act(cin, nn.ReLU()))
        self.conv1 = norm.layer(nn.Conv2d(cin, cout, 3, padding=1))
        self.mid = nn.Sequential(norm.feature(cout), norm.act(cout, nn.ReLU()))
        self.conv2 = norm.layer(nn.Conv2d(cout, cout, 3, padding=1))
        self.shortcut = norm.layer(nn.Conv2d(cin, cout, 1)) if (cin != cout or down) else None

    def _down(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, 2) if self.down else x

    def forward(self, x: Tensor) -> Tensor:
        h = self._down(self.conv2(self.mid(self.conv1(self.pre(x)))))
        if self.shortcut is None:
            return h + x
        sc = self.shortcut(self._down(x)) if self.first else self._down(self.shortcut(x))
        return h + sc


class SelfAttention(nn.Module):
    """x + γ·o, o = v·softmax(qᵀk): SAGAN's non-local block (Zhang et al., 2019), used by BigGAN.

    q = θ(x) (C/8 channels); k = maxpool(φ(x)) (C/8), v = maxpool(g(x)) (C/2); o is projected back
    to C channels by a 1×1 conv; γ starts at 0 so the block starts as the identity.
    """

    def __init__(self, channels: int, wrap: Wrap = identity) -> None:
        super().__init__()
        c8, c2 = max(channels // 8, 1), max(channels // 2, 1)
        self.theta = wrap(nn.Conv2d(channels, c8, 1, bias=False))
        self.phi = wrap(nn.Conv2d(channels, c8, 1, bias=False))
        self.g = wrap(nn.Conv2d(channels, c2, 1, bias=False))
        self.o = wrap(nn.Conv2d(c2, channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        q = self.theta(x).flatten(2)  # (n, c8, hw)
        k = F.max_pool2d(self.phi(x), 2).flatten(2)  # (n, c8, hw/4)
        v = F.max_pool2d(self.g(x), 2).flatten(2)  # (n, c2, hw/4)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (n, hw, hw/4)
        o = (v @ attn.transpose(1, 2)).view(n, -1, h, w)
        return x + self.gamma * self.o(o)
