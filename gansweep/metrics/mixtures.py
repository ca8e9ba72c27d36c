"""Mode-collapse probes for the 2-D Gaussian mixtures (Metz et al. 2017; Srivastava et al. 2017).

A generated point is *high quality* when it lies within :data:`STD_RADIUS` standard deviations
(Euclidean distance) of some mode's centre; a mode is *covered* when at least
:data:`MODE_MIN_SAMPLES` generated points are high quality and nearest to it. ``fd`` on mixtures is
the Fréchet distance of the raw coordinates (see :mod:`gansweep.metrics.evaluator`).

``rkl`` is the reverse KL divergence KL(q ‖ u) of the histogram q of the high-quality points over
their nearest modes to the uniform u over the K modes (Srivastava et al., 2017, "VEEGAN"; PacGAN's
Table 1): 0 when every mode gets the same share, log K when one mode gets them all. Modes without
a point add nothing (q log q → 0), so it measures balance, and ``modes`` coverage. With no
high-quality point q is undefined and ``rkl`` is log K, as bad as one mode.
"""

from __future__ import annotations

import math

import numpy as np
import torch

STD_RADIUS = 3.0
MODE_MIN_SAMPLES = 1


def _nearest(points: torch.Tensor, centers: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    c = torch.as_tensor(centers, dtype=torch.float64, device=points.device)
    d = torch.cdist(points.to(torch.float64), c)
    return d.min(dim=1)


def mode_histogram(
    points: torch.Tensor, centers: np.ndarray | torch.Tensor, std: float
) -> tuple[torch.Tensor, float]:
    """``(high-quality points per mode (K,), high-quality share)`` of ``points`` (N, 2).

    Non-finite points (a diverged generator) count as low quality.
    """
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"expected (N, 2) points, got {tuple(points.shape)}")
    dist, mode = _nearest(points, centers)
    good = torch.isfinite(dist) & (dist <= STD_RADIUS * std)
    counts = torch.bincount(mode[good], minlength=len(centers))
    return counts, float(good.to(torch.float64).mean())


def mode_stats(
    points: torch.Tensor, centers: np.ndarray | torch.Tensor, std: float
) -> tuple[int, float]:
    """``(modes covered, high-quality share)`` of ``points`` (N, 2) for a mixture."""
    counts, hq = mode_histogram(points, centers, std)
    return int((counts >= MODE_MIN_SAMPLES).sum()), hq


def reverse_kl(counts: torch.Tensor) -> float:
    """KL(q ‖ uniform) of the mode histogram ``counts`` (K,); log K when it is empty."""
    k = counts.numel()
    total = counts.sum()
    if total == 0:
        return math.log(k)
    q = counts.to(torch.float64) / total
    q = q[q > 0]
    return float((q * (q * k).log()).sum().clamp_min(0.0))
