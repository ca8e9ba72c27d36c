"""The in-memory data set every trial trains from, and the registry of loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from gansweep.data.specs import DATA_SPECS
from gansweep.registry import Registry


@dataclass(frozen=True)
class Dataset:
    """A data set split into train and held-out test parts.

    Images are ``(N, C, H, W)`` float32 in [-1, 1]; 2-D points are ``(N, 2)`` in their own
    coordinates. ``info`` carries what metrics need beyond samples (mixture centres and std).
    """

    name: str
    train: torch.Tensor
    test: torch.Tensor
    train_labels: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None
    num_classes: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "points" if self.train.ndim == 2 else "image"

    @property
    def channels(self) -> int:
        return 0 if self.kind == "points" else int(self.train.shape[1])

    @property
    def resolution(self) -> int:
        return 0 if self.kind == "points" else int(self.train.shape[-1])


Loader = Callable[..., Dataset]
"""``loader(resolution: int | None, root: str | None) -> Dataset``; deterministic."""

DATASETS: Registry[Loader] = Registry("dataset", specs=DATA_SPECS)
PATH_LOADERS: Registry[Loader] = Registry("data set path prefix")
"""Loaders for ``<prefix>:<path>`` names (:data:`gansweep.data.specs.PATH_PREFIXES`), called as
``PATH_LOADERS[prefix](name, resolution, root)``; :mod:`gansweep.data.real` fills it."""


def load_dataset(name: str, resolution: int | None = None, root: str | None = None) -> Dataset:
    """Load a registered data set by name, or ``folder:<path>`` / ``npz:<path>``
    (``resolution=None``: its native size; ``root``: the data root)."""
    prefix, colon, _ = name.partition(":")
    if colon and prefix in PATH_LOADERS:
        return PATH_LOADERS[prefix](name, resolution=resolution, root=root)
    return DATASETS[name](resolution=resolution, root=root)
