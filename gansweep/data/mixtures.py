"""2-D Gaussian mixtures, the standard mode-collapse probes (Metz et al.; Srivastava et al.).

``ring8``: 8 modes on a circle of radius 2, std 0.02. ``grid25``: a 5×5 grid with spacing 2,
std 0.05. Samples are drawn with a fixed seed, so every trial sees the same data.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gansweep.data.base import DATASETS, Dataset

TRAIN_SIZE = 50_000
TEST_SIZE = 10_000


def ring_centers(k: int = 8, radius: float = 2.0) -> np.ndarray:
    angles = 2 * math.pi * np.arange(k) / k
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def grid_centers(side: int = 5, spacing: float = 2.0) -> np.ndarray:
    ticks = (np.arange(side) - (side - 1) / 2) * spacing
    return np.array([(a, b) for a in ticks for b in ticks], dtype=np.float64)


def sample_mixture(centers: np.ndarray, std: float, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from the equal-weight mixture and the index of the mode of each."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(len(centers), size=n)
    return centers[labels] + std * rng.standard_normal((n, 2)), labels


def _mixture(name: str, centers: np.ndarray, std: float) -> Dataset:
    x_tr, y_tr = sample_mixture(centers, std, TRAIN_SIZE, seed=1)
    x_te, y_te = sample_mixture(centers, std, TEST_SIZE, seed=2)
    return Dataset(
        name=name,
        train=torch.as_tensor(x_tr, dtype=torch.float32),
        test=torch.as_tensor(x_te, dtype=torch.float32),
        train_labels=torch.as_tensor(y_tr),
        test_labels=torch.as_tensor(y_te),
        info={"centers": centers, "std": std},
    )


@DATASETS.register("ring8")
def load_ring8(resolution: int | None = None, root: str | None = None) -> Dataset:
    return _mixture("ring8", ring_centers(), 0.02)


@DATASETS.register("grid25")
def load_grid25(resolution: int | None = None, root: str | None = None) -> Dataset:
    return _mixture("grid25", grid_centers(), 0.05)
