"""The 2-D Gaussian mixtures as numpy arrays, importable without torch: the loaders of
:mod:`gansweep.data.mixtures` and the pictures of ``gansweep samples`` draw the same points."""

from __future__ import annotations

import math

import numpy as np

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


MIXTURES = {"ring8": (ring_centers, 0.02), "grid25": (grid_centers, 0.05)}
"""Each mixture: its mode centres and the std of every mode."""


def mixture_split(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The fixed ``train`` (seed 1) or ``test`` (seed 2) points of a mixture and their modes."""
    centers, std = MIXTURES[name][0](), MIXTURES[name][1]
    n, seed = (TRAIN_SIZE, 1) if split == "train" else (TEST_SIZE, 2)
    return sample_mixture(centers, std, n, seed)
