"""Regularisers of the generator's weights.

BigGAN's orthogonal regularisation (Brock et al., 2019, Sec. 3.1, Eq. 3):
R_β(W) = β ‖WWᵀ ⊙ (1 − I)‖²_F, with W a kernel reshaped to (filters, fan-in). Unlike the full
‖WWᵀ − I‖² it leaves the filter norms free and only pushes distinct filters apart, which is what
makes G amenable to the truncation trick.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def orthogonal_weights(net: nn.Module) -> list[Tensor]:
    """The conv and linear kernels of ``net`` (BigGAN excludes embeddings and norm gains)."""
    kinds = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)
    return [m.weight for m in net.modules() if isinstance(m, kinds)]


def orthogonal_penalty(weight: Tensor) -> Tensor:
    """‖WWᵀ ⊙ (1 − I)‖²_F for one kernel W reshaped to (out, in·k·k); β is applied by the caller."""
    w = weight.flatten(1)
    gram = w @ w.t()
    off = gram - torch.diag_embed(torch.diagonal(gram))
    return off.square().sum()


def orthogonal_regularization(weights: list[Tensor]) -> Tensor:
    """Σ over kernels of :func:`orthogonal_penalty` (multiply by β for Eq. 3)."""
    return torch.stack([orthogonal_penalty(w) for w in weights]).sum()
