"""Inception Score and Kernel Inception Distance from features, as torch-fidelity computes them.

Both draw their random permutations / subsets from ``numpy.random.RandomState(rng_seed)`` in
torch-fidelity's order (default seed :data:`RNG_SEED` = 2020), so the same features give the
same numbers; the arithmetic runs in float64 on the features' device, batched over subsets.
"""

from __future__ import annotations

import numpy as np
import torch

from gansweep.metrics.checks import EvalOptions

RNG_SEED = 2020
IS_SPLITS = EvalOptions.is_splits
KID_SUBSETS = EvalOptions.kid_subsets
KID_SUBSET_SIZE = EvalOptions.kid_subset_size
KID_DEGREE = 3
KID_COEF0 = 1.0


def inception_score(
    logits: torch.Tensor, splits: int = IS_SPLITS, shuffle: bool = True, rng_seed: int = RNG_SEED
) -> tuple[float, float]:
    """``(mean, std)`` over ``splits`` of exp(E_x KL(p(y|x) || p(y))) from unnormalised logits."""
    n = logits.shape[0]
    if not 1 <= splits <= n:
        raise ValueError(f"is splits must be in 1..{n} (the sample count), got {splits}")
    if shuffle:
        perm = torch.from_numpy(np.random.RandomState(rng_seed).permutation(n)).to(logits.device)
        logits = logits[perm]
    logits = logits.to(torch.float64)
    log_p = logits.log_softmax(dim=1)
    p = log_p.exp()
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        p_c, log_p_c = p[lo:hi], log_p[lo:hi]
        log_q = p_c.mean(dim=0, keepdim=True).log()
        kl = torch.where(p_c > 0, p_c * (log_p_c - log_q), 0.0)  # 0·log 0 = 0 (torch-fidelity: NaN)
        scores.append(kl.sum(dim=1).mean().exp())
    s = torch.stack(scores).cpu().numpy()
    return float(np.mean(s)), float(np.std(s))


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = KID_DEGREE,
                      gamma: float | None = None, coef0: float = KID_COEF0) -> torch.Tensor:
    """k(x, y) = (gamma <x, y> + coef0)^degree, gamma = 1/D by default; batched over leading dims."""
    gamma = 1.0 / x.shape[-1] if gamma is None else gamma
    return (x @ y.transpose(-1, -2) * gamma + coef0) ** degree


def mmd2_unbiased(k_xx: torch.Tensor, k_xy: torch.Tensor, k_yy: torch.Tensor) -> torch.Tensor:
    """Unbiased MMD² estimate from (…, m, m) kernel matrices (diagonals of K_XX, K_YY dropped)."""
    m = k_xx.shape[-1]
    diag = lambda k: k.diagonal(dim1=-2, dim2=-1).sum(-1)  # noqa: E731
    kt_xx = k_xx.sum((-1, -2)) - diag(k_xx)
    kt_yy = k_yy.sum((-1, -2)) - diag(k_yy)
    return (kt_xx + kt_yy) / (m * (m - 1)) - 2 * k_xy.sum((-1, -2)) / (m * m)


def kid_subset_indices(n1: int, n2: int, subsets: int, size: int, rng_seed: int = RNG_SEED
                       ) -> tuple[np.ndarray, np.ndarray]:
    """torch-fidelity's subsets: for each, ``size`` of input 1 then of input 2, without replacement."""
    rng = np.random.RandomState(rng_seed)
    i1, i2 = np.empty((subsets, size), np.int64), np.empty((subsets, size), np.int64)
    for s in range(subsets):
        i1[s] = rng.choice(n1, size, replace=False)
        i2[s] = rng.choice(n2, size, replace=False)
    return i1, i2


def kernel_inception_distance(
    features_1: torch.Tensor,
    features_2: torch.Tensor,
    subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    rng_seed: int = RNG_SEED,
    chunk: int = 10,
) -> tuple[float, float]:
    """``(mean, std)`` of the unbiased polynomial-kernel MMD² over random subsets.

    ``features_1`` are the generated samples and ``features_2`` the real ones (torch-fidelity's
    input1 / input2); ``subset_size`` must not exceed either count. ``chunk`` subsets are computed
    at once on the device.
    """
    n1, n2 = len(features_1), len(features_2)
    if subset_size > min(n1, n2):
        raise ValueError(f"kid subset size {subset_size} exceeds the sample counts ({n1}, {n2})")
    i1, i2 = kid_subset_indices(n1, n2, subsets, subset_size, rng_seed)
    dev = features_1.device
    i1, i2 = torch.from_numpy(i1).to(dev), torch.from_numpy(i2).to(dev)
    f1, f2 = features_1.to(torch.float64), features_2.to(dev, torch.float64)
    out = []
    for s in range(0, subsets, chunk):
        x, y = f1[i1[s : s + chunk]], f2[i2[s : s + chunk]]
        out.append(mmd2_unbiased(polynomial_kernel(x, x), polynomial_kernel(x, y), polynomial_kernel(y, y)))
    mmds = torch.cat(out).cpu().numpy()
    return float(np.mean(mmds)), float(np.std(mmds))
