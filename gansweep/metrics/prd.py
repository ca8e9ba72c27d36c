"""Improved precision and recall (Kynkäänniemi et al., NeurIPS 2019) from features.

Each set's manifold is the union of balls around its samples with radius the distance to the
k-th nearest other sample (k = 3). Precision: share of generated samples inside the real
manifold; recall: share of real samples inside the generated manifold. Same convention as
torch-fidelity's ``prc`` (radius = (k+1)-th smallest distance including the sample itself; a
point on a ball's boundary is inside). Distances are computed in row blocks on the device.
"""

from __future__ import annotations

import torch

from gansweep.metrics.checks import EvalOptions

NEIGHBORHOOD = EvalOptions.prc_neighborhood


def knn_radii(x: torch.Tensor, k: int = NEIGHBORHOOD, block: int = 4096) -> torch.Tensor:
    """Distance from each row of ``x`` to its k-th nearest other row."""
    if len(x) <= k:
        raise ValueError(f"need more than k={k} samples for k-NN radii, got {len(x)}")
    return torch.cat([torch.cdist(b, x).kthvalue(k + 1, dim=1).values for b in x.split(block)])


def _covered(queries: torch.Tensor, centers: torch.Tensor, radii: torch.Tensor, block: int) -> torch.Tensor:
    return torch.cat([(torch.cdist(b, centers) <= radii).any(dim=1) for b in queries.split(block)])


def precision_recall(
    generated: torch.Tensor, real: torch.Tensor, k: int = NEIGHBORHOOD, block: int = 4096
) -> tuple[float, float]:
    """``(precision, recall)`` of ``generated`` against ``real`` features, both ``(N, D)``."""
    gen = generated.to(torch.float32)
    ref = real.to(gen.device, torch.float32)
    precision = _covered(gen, ref, knn_radii(ref, k, block), block).to(torch.float64).mean()
    recall = _covered(ref, gen, knn_radii(gen, k, block), block).to(torch.float64).mean()
    return float(precision), float(recall)
