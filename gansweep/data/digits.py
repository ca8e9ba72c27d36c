"""scikit-learn's handwritten digits: real images that ship with a package (no download).

1,797 grey 8×8 images, upscaled bilinearly (16×16 by default) and scaled to [-1, 1]; a fixed
stratified split keeps 297 images for evaluation.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from gansweep.data.base import DATASETS, Dataset
from gansweep.data.specs import DATA_SPECS

TEST_SIZE = 297
SPLIT_SEED = 0


def digits_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The fixed split as ``(x_train, y_train, x_test, y_test)``, x in [0, 16] of shape (N, 8, 8)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x, y = bunch.images.astype(np.float32), bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=TEST_SIZE, random_state=SPLIT_SEED, stratify=y
    )
    return x_tr, y_tr, x_te, y_te


def to_images(x: np.ndarray, resolution: int) -> torch.Tensor:
    """(N, 8, 8) values in [0, 16] → (N, 1, r, r) float32 in [-1, 1]."""
    t = torch.from_numpy(x).unsqueeze(1) / 8.0 - 1.0
    if resolution != 8:
        t = F.interpolate(t, size=(resolution, resolution), mode="bilinear", align_corners=False)
    return t.clamp_(-1.0, 1.0).contiguous()


@DATASETS.register("digits")
def load_digits(resolution: int | None = None, root: str | None = None) -> Dataset:
    res = resolution or DATA_SPECS["digits"].side
    x_tr, y_tr, x_te, y_te = digits_arrays()
    return Dataset(
        name="digits",
        train=to_images(x_tr, res),
        test=to_images(x_te, res),
        train_labels=torch.from_numpy(y_tr),
        test_labels=torch.from_numpy(y_te),
        num_classes=10,
    )
