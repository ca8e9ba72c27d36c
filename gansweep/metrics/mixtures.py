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

``mmd`` (:class:`KernelMMD`), the mixtures' default primary, is the maximum mean discrepancy
between the generated and the real points under Gaussian kernels :data:`KERNEL_WIDTHS` mode stds
wide: a two-sample distance that is small only when the samples are sharp (quality, from the
scale ``hq`` uses up) *and* spread over the modes in the data's proportions (coverage). FD, a
fit of one Gaussian, scores a single blob with the data's mean and covariance as well as perfect
samples; see docs/METRICS.md for the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

STD_RADIUS = 3.0
MODE_MIN_SAMPLES = 1
KERNEL_WIDTHS = (3.0, 10.0, 30.0)
"""``mmd``'s Gaussian kernels, in mode stds: the radius within which a sample is high quality (3),
a mode's neighbourhood (10), and the scale between modes (30: 0.6 on ring8, whose neighbouring
modes are 1.5 apart; 1.5 on grid25, spaced 2). The narrow kernel rewards sharpness, the wide ones
keep the score informative for samples far from every mode (an untrained generator, a blob)."""
_CHUNK = 64


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


def kernel_sums(x: torch.Tensor, y: torch.Tensor, widths: Sequence[float]) -> list[float]:
    """Per width w: ``Σ_ij exp(-|x_i - y_j|² / 2w²)`` over all pairs of ``x`` (N, 2) and ``y`` (M, 2).

    Float64, in blocks of :data:`_CHUNK` rows so that memory stays small at 10,000 points; every
    width reuses a block's distances.
    """
    x, y = x.to(torch.float64), y.to(torch.float64)
    scales = [-0.5 / (w * w) for w in widths]
    totals = [0.0] * len(widths)
    buf = torch.empty(min(_CHUNK, len(x)), len(y), dtype=torch.float64, device=x.device)
    for start in range(0, len(x), _CHUNK):
        d2 = torch.cdist(x[start:start + _CHUNK], y).square_()
        b = buf[: len(d2)]
        for j, scale in enumerate(scales):
            totals[j] += float(torch.mul(d2, scale, out=b).exp_().sum())
    return totals


class KernelMMD:
    """Maximum mean discrepancy to a fixed reference set under the average of Gaussian kernels of
    the given ``widths`` (a characteristic kernel, so MMD is a metric between distributions).

    ``MMD² = mean k(x, x') + mean k(y, y') - 2 mean k(x, y)`` over all pairs, the self-pairs
    included (the V-statistic, Gretton et al. 2012): never negative, so the score is a distance
    (its square root) that log-scaled figures can show; perfect samples score about
    ``sqrt(2 / N)`` at N samples each, not 0. Deterministic: no random projections or features.
    The reference's own term is computed once. Cost O(N·M): 0.2 CPU s at 2,000 points each,
    7 s at 10,000 (one core of a loaded machine).
    """

    def __init__(self, reference: torch.Tensor, widths: Sequence[float]) -> None:
        if reference.ndim != 2 or reference.shape[1] != 2 or len(reference) < 1:
            raise ValueError(f"expected (N, 2) reference points, got {tuple(reference.shape)}")
        self.widths = tuple(float(w) for w in widths)
        if not self.widths or not all(w > 0 for w in self.widths):
            raise ValueError(f"kernel widths must be positive, got {widths!r}")
        self.reference = reference.to(torch.float64)
        self._yy = sum(kernel_sums(self.reference, self.reference, self.widths)) / len(reference) ** 2

    def __call__(self, points: torch.Tensor) -> float:
        """The MMD of ``points`` (N, 2) to the reference; NaN when a point is not finite."""
        if points.ndim != 2 or points.shape[1] != 2 or len(points) < 1:
            raise ValueError(f"expected (N, 2) points, got {tuple(points.shape)}")
        if not bool(torch.isfinite(points).all()):
            return float("nan")
        x = points.to(device=self.reference.device, dtype=torch.float64)
        n, m = len(x), len(self.reference)
        xx = sum(kernel_sums(x, x, self.widths)) / n**2
        xy = sum(kernel_sums(x, self.reference, self.widths)) / (n * m)
        return max((xx + self._yy - 2 * xy) / len(self.widths), 0.0) ** 0.5


def mixture_mmd(points: torch.Tensor, reference: torch.Tensor, std: float) -> float:
    """``mmd`` of ``points`` to ``reference`` for a mixture whose modes have std ``std``: kernels
    :data:`KERNEL_WIDTHS` mode stds wide."""
    return KernelMMD(reference, [w * std for w in KERNEL_WIDTHS])(points)
