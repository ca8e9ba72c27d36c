"""2-D Gaussian mixtures, the standard mode-collapse probes (Metz et al.; Srivastava et al.).

``ring8``: 8 modes on a circle of radius 2, std 0.02. ``grid25``: a 5×5 grid with spacing 2,
std 0.05. Samples are drawn with a fixed seed, so every trial sees the same data.
"""

from __future__ import annotations

import torch

from gansweep.data.base import DATASETS, Dataset
from gansweep.data.points import MIXTURES, mixture_split, sample_mixture  # noqa: F401  (sample_mixture: API)


def _mixture(name: str) -> Dataset:
    centers, std = MIXTURES[name][0](), MIXTURES[name][1]
    x_tr, y_tr = mixture_split(name, "train")
    x_te, y_te = mixture_split(name, "test")
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
    return _mixture("ring8")


@DATASETS.register("grid25")
def load_grid25(resolution: int | None = None, root: str | None = None) -> Dataset:
    return _mixture("grid25")
