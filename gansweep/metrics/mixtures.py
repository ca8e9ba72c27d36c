"""Mode-collapse probes for the 2-D Gaussian mixtures (Metz et al. 2017; Srivastava et al. 2017).

A generated point is *high quality* when it lies within :data:`STD_RADIUS` standard deviations
(Euclidean distance) of some mode's centre; a mode is *covered* when at least
:data:`MODE_MIN_SAMPLES` generated points are high quality and nearest to it. ``fd`` on mixtures is
the Fréchet distance of the raw coordinates (see :mod:`gansweep.metrics.evaluator`).
"""

from __future__ import annotations

import numpy as np
import torch

STD_RADIUS = 3.0
MODE_MIN_SAMPLES = 1


def _nearest(points: torch.Tensor, centers: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    c = torch.as_tensor(centers, dtype=torch.float64, device=points.device)
    d = torch.cdist(points.to(torch.float64), c)
    return d.min(dim=1)


def mode_stats(
    points: torch.Tensor, centers: np.ndarray | torch.Tensor, std: float
) -> tuple[int, float]:
    """``(modes covered, high-quality share)`` of ``points`` (N, 2) for a mixture.

    Non-finite points (a diverged generator) count as low quality.
    """
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"expected (N, 2) points, got {tuple(points.shape)}")
    dist, mode = _nearest(points, centers)
    good = torch.isfinite(dist) & (dist <= STD_RADIUS * std)
    counts = torch.bincount(mode[good], minlength=len(centers))
    covered = int((counts >= MODE_MIN_SAMPLES).sum())
    hq = float(good.to(torch.float64).mean())
    return covered, hq
