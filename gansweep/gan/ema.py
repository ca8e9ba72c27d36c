"""An exponential moving average of the generator, the copy BigGAN evaluates.

θ_EMA ← d·θ_EMA + (1 − d)·θ after each generator step (Brock et al., 2019, Sec. 4; Yazıcı et
al., 2019). Before ``start`` steps the copy simply follows the generator. Buffers (batch-norm
running statistics) are copied, so the averaged weights are evaluated with the generator's
current statistics.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """The averaged copy of a module, updated in place with one fused op per step."""

    def __init__(self, module: nn.Module, decay: float, start: int = 0) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay, self.start = decay, start
        self.module = copy.deepcopy(module).requires_grad_(False)
        self.source = module
        self._src = list(module.parameters())
        self._dst = list(self.module.parameters())

    @torch.no_grad()
    def update(self, step: int) -> None:
        """Average after generator step ``step`` (1-based); copy while ``step <= start``."""
        weight = 1.0 if step <= self.start else 1.0 - self.decay
        torch._foreach_lerp_(self._dst, self._src, weight)
        for d, s in zip(self.module.buffers(), self.source.buffers()):
            d.copy_(s)
