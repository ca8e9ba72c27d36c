"""Test-set reconstruction error (Xiang & Li 2017), a mode-dropping probe without Inception.

For each of the first ``images`` test samples x, find z* = argmin_z ||G(z) − x||² by RMSprop
from a latent drawn by the trainer (``trainer.draw_z``), then report the mean over samples of
the per-sample mean squared error ||G(z*) − x||² / dim(x). A generator that dropped the modes a
test sample belongs to cannot reconstruct it. All latents are optimised together: the loss is a
sum over samples, so with a per-coordinate optimiser each latent follows its own trajectory.

The generator is deep-copied first (gradients off, same train/eval mode as the trainer left it),
so batch-norm running statistics of the trained model are never touched. Unconditional
generators only.
"""

from __future__ import annotations

import copy

import torch

from gansweep.metrics.checks import EvalOptions

STEPS = EvalOptions.recon_steps
LR = EvalOptions.recon_lr
IMAGES = EvalOptions.recon_images


def reconstruction_error(
    generator: torch.nn.Module, targets: torch.Tensor, z0: torch.Tensor, steps: int = STEPS, lr: float = LR
) -> float:
    """Mean per-sample MSE between ``targets`` and their best reconstructions from ``z0``."""
    if len(z0) != len(targets):
        raise ValueError(f"{len(z0)} latents for {len(targets)} targets")
    gen = copy.deepcopy(generator).requires_grad_(False)
    z = z0.detach().clone().requires_grad_(True)
    opt = torch.optim.RMSprop([z], lr=lr)
    with torch.enable_grad():
        for _ in range(steps):
            err = (gen(z) - targets).pow(2).flatten(1).mean(1)
            opt.zero_grad(set_to_none=True)
            err.sum().backward()
            opt.step()
    with torch.no_grad():
        err = (gen(z) - targets).pow(2).flatten(1).mean(1)
    return float(err.to(torch.float64).mean())
