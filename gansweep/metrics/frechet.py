"""Gaussian statistics of features and the Fréchet distance between two Gaussians.

FD = |mu1 - mu2|² + tr(S1) + tr(S2) - 2 tr((S1^½ S2 S1^½)^½). The matrix square roots come from
symmetric eigendecompositions (``eigh``) in float64, with negative eigenvalues (round-off on
near-singular covariances) clipped to zero. That is exact for symmetric positive semi-definite
inputs, never produces complex numbers, and runs on whatever device the inputs live on — unlike
``scipy.linalg.sqrtm`` of the non-symmetric product S1·S2, which is slow, host-only and unstable
when a covariance is rank-deficient (fewer samples than feature dimensions).
"""

from __future__ import annotations

import numpy as np
import torch

ArrayLike = np.ndarray | torch.Tensor


def gaussian_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and unbiased covariance (``np.cov`` convention, ``n - 1``) of ``(N, D)`` features.

    Computed in float64 on the features' device; returns ``(mu (D,), sigma (D, D))``.
    """
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"need (N >= 2, D) features, got shape {tuple(features.shape)}")
    x = features.to(torch.float64)
    mu = x.mean(dim=0)
    xc = x - mu
    sigma = xc.T @ xc / (x.shape[0] - 1)
    return mu, sigma


def _as_tensor(a: ArrayLike, device: torch.device | None) -> torch.Tensor:
    t = torch.as_tensor(a) if not isinstance(a, torch.Tensor) else a
    return t.to(device=device, dtype=torch.float64)


def _sym_sqrt(s: torch.Tensor) -> torch.Tensor:
    """Principal square root of a symmetric PSD matrix; negative round-off eigenvalues → 0."""
    w, v = torch.linalg.eigh((s + s.T) / 2)
    return (v * w.clamp_min(0).sqrt()) @ v.T


def frechet_distance(mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), as a Python float.

    Accepts numpy arrays or torch tensors (mixed is fine); the computation is float64 on the
    device of the first tensor argument (CPU for numpy), e.g. on the GPU when the statistics are
    there. 1-D inputs (scalar features) are treated as ``D = 1`` when sigmas are 0-d or 1×1.
    """
    device = next((a.device for a in (mu1, sigma1, mu2, sigma2) if isinstance(a, torch.Tensor)), None)
    m1, m2 = _as_tensor(mu1, device).reshape(-1), _as_tensor(mu2, device).reshape(-1)
    d = m1.shape[0]
    s1 = _as_tensor(sigma1, device).reshape(d, d)
    s2 = _as_tensor(sigma2, device).reshape(d, d)
    if m2.shape[0] != d:
        raise ValueError(f"means differ in size: {d} vs {m2.shape[0]}")
    root1 = _sym_sqrt(s1)
    inner = root1 @ s2 @ root1
    eig = torch.linalg.eigvalsh((inner + inner.T) / 2)
    tr_covmean = eig.clamp_min(0).sqrt().sum()
    diff = m1 - m2
    fd = diff @ diff + torch.trace(s1) + torch.trace(s2) - 2 * tr_covmean
    return float(fd)
