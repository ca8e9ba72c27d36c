"""Drawing from a generator the way a trial evaluates it: the prior, the truncation trick, labels.

One object does it for the trainer (its evaluation stream) and for a generator loaded back from a
study (:mod:`gansweep.store.generators`), so samples looked at after a study come from the same
distribution, and with the same random stream, as the samples that were scored.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

MAX_TRUNCATION_ROUNDS = 100


class Sampler:
    """Latents, labels and samples of ``generator``; the evaluation stream is ``rng``.

    ``prior`` is ``normal`` or ``uniform`` (on [−1, 1]); ``truncation`` (BigGAN's τ) redraws every
    latent coordinate beyond ±τ; ``num_classes`` > 0 makes the generator class-conditional.
    """

    def __init__(self, generator: nn.Module, z_dim: int, prior: str, device: torch.device,
                 rng: torch.Generator, num_classes: int = 0, truncation: float | None = None) -> None:
        self.generator, self.z_dim, self.prior_name = generator, z_dim, prior
        self.device, self.rng = device, rng
        self.num_classes, self.truncation = num_classes, truncation

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    def prior(self, n: int, rng: torch.Generator) -> Tensor:
        if self.prior_name == "uniform":
            return torch.rand(n, self.z_dim, generator=rng, device=self.device) * 2.0 - 1.0
        return torch.randn(n, self.z_dim, generator=rng, device=self.device)

    def labels(self, n: int, rng: torch.Generator) -> Tensor | None:
        if not self.num_classes:
            return None
        return torch.randint(self.num_classes, (n,), generator=rng, device=self.device)

    def draw_z(self, n: int) -> Tensor:
        """``n`` latent vectors from the prior, from the evaluation stream."""
        return self.prior(n, self.rng)

    def _truncated_z(self, n: int) -> Tensor:
        z = self.draw_z(n)
        return z if self.truncation is None else resample_truncated(z, self.truncation, self.draw_z)

    @torch.no_grad()
    def sample(self, n: int, batch_size: int = 500) -> Tensor:
        """``n`` samples from the generator in eval mode (truncated latents if configured)."""
        g = self.generator
        was_training = g.training
        g.eval()
        try:
            out = []
            for start in range(0, n, batch_size):
                m = min(batch_size, n - start)
                out.append(g(self._truncated_z(m), self.labels(m, self.rng)))
            return torch.cat(out) if out else torch.empty(0, device=self.device)
        finally:
            g.train(was_training)


def resample_truncated(z: Tensor, threshold: float, draw: Callable[[int], Tensor]) -> Tensor:
    """The truncation trick (Brock et al., 2019, Sec. 3.1): every |zᵢ| > threshold is redrawn from
    the prior until none is; values already inside are kept.

    Resampling rather than clipping keeps the distribution the truncated prior. After
    ``MAX_TRUNCATION_ROUNDS`` rounds (a threshold far in the tail) the rest is clipped.
    """
    for _ in range(MAX_TRUNCATION_ROUNDS):
        out = z.abs() > threshold
        if not bool(out.any()):
            return z
        z = torch.where(out, draw(z.shape[0]), z)
    return z.clamp(-threshold, threshold)
