"""MS-SSIM (Wang et al. 2003) and the sample-diversity score the GAN Landscape paper used.

Diversity = mean MS-SSIM between random pairs of *generated* samples (Odena et al. 2017): a
collapsed generator scores near 1; lower is more diverse. Images in [-1, 1] are mapped to [0, 1]
(data range 1, i.e. 0–255 with range 255 as in compare_gan).

Small images: the standard 5 scales with an 11×11 window need 176 px. Like compare_gan's
``multiscale_ssim`` the Gaussian window is cut to the image at each scale (size min(11, side),
σ = 1.5·size/11); unlike it, scales stop while the side is still ≥ :data:`MIN_SIDE` px (16×16 →
3 scales 16, 8, 4; 32×32 → 4; ≥ 64 → 5), and the exponents are the first ones of
:data:`WEIGHTS` renormalised to sum to 1. Negative contrast-structure terms are clipped to 0.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gansweep.metrics.checks import EvalOptions

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW = 11
SIGMA = 1.5
MIN_SIDE = 4
K1, K2 = 0.01, 0.03
PAIRS = EvalOptions.msssim_pairs


def levels_for(side: int) -> int:
    """Number of scales used for images whose smaller side is ``side``."""
    levels = 0
    while levels < len(WEIGHTS) and side >= MIN_SIDE:
        levels += 1
        side //= 2
    return max(levels, 1)


def _window(size: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    sigma = SIGMA * size / WINDOW
    r = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


def _blur(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ssim_cs(x: torch.Tensor, y: torch.Tensor, data_range: float) -> tuple[torch.Tensor, torch.Tensor]:
    size = min(WINDOW, x.shape[-1], x.shape[-2])
    g = _window(size, x.device, x.dtype)
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mx, my = _blur(x, g), _blur(y, g)
    sxx = _blur(x * x, g) - mx * mx
    syy = _blur(y * y, g) - my * my
    sxy = _blur(x * y, g) - mx * my
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    ssim = (2 * mx * my + c1) / (mx * mx + my * my + c1) * cs
    return ssim.flatten(1).mean(1), cs.flatten(1).mean(1)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """MS-SSIM of each pair of images ``x[i], y[i]`` (``(N, C, H, W)``), shape ``(N,)``."""
    if x.shape != y.shape or x.ndim != 4:
        raise ValueError(f"need two (N, C, H, W) batches of one shape, got {tuple(x.shape)}, {tuple(y.shape)}")
    x, y = x.to(torch.float64), y.to(torch.float64)
    levels = levels_for(min(x.shape[-2:]))
    w = torch.tensor(WEIGHTS[:levels], dtype=torch.float64, device=x.device)
    w = w / w.sum()
    out = torch.ones(len(x), dtype=torch.float64, device=x.device)
    for level in range(levels):
        ssim, cs = _ssim_cs(x, y, data_range)
        if level == levels - 1:
            out = out * ssim.clamp_min(0) ** w[level]
        else:
            out = out * cs.clamp_min(0) ** w[level]
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return out


def mean_pairwise_msssim(
    images: torch.Tensor, pairs: int = PAIRS, generator: torch.Generator | None = None, block: int = 500
) -> float:
    """Mean MS-SSIM over ``pairs`` disjoint random pairs of ``images`` in [-1, 1].

    At most ``len(images) // 2`` pairs; the pairing is a permutation drawn from ``generator``
    (a CPU ``torch.Generator``).
    """
    n = len(images)
    pairs = min(pairs, n // 2)
    if pairs < 1:
        raise ValueError(f"msssim needs at least 2 samples, got {n}")
    perm = torch.randperm(n, generator=generator)[: 2 * pairs].to(images.device)
    x = (images.clamp(-1, 1) + 1) / 2
    a, b = x[perm[:pairs]], x[perm[pairs:]]
    scores = torch.cat([ms_ssim(a[i : i + block], b[i : i + block]) for i in range(0, pairs, block)])
    return float(scores.mean())
