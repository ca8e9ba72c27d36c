"""Small generated data sets (PIL folders, npz files): nothing here downloads anything."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gansweep.data.real  # noqa: F401  (registers the real data sets until gansweep.data imports it)
from cluster_helpers import random_images, write_folder


@pytest.fixture(autouse=True)
def _no_data_env(monkeypatch):
    """Tests set the data root explicitly; the developer's environment must not leak in."""
    for var in ("GANSWEEP_DATA", "GANSWEEP_DOWNLOAD", "GANSWEEP_DATA_MAX_GB"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """30 RGB noise images of mixed sizes (36×48 and 40×40)."""
    folder = tmp_path / "imgs"
    write_folder(folder, random_images(15, 36, 48, seed=1))
    more = random_images(15, 40, 40, seed=2)
    from PIL import Image

    for i, a in enumerate(more):
        Image.fromarray(a).save(folder / f"sq_{i:03d}.jpg", quality=95)
    return folder


@pytest.fixture
def npz_file(tmp_path) -> Path:
    """40 RGB 12×12 images, NHWC, with labels 0..3."""
    path = tmp_path / "set.npz"
    np.savez(path, x=random_images(40, 12, 12, seed=3), y=np.arange(40) % 4)
    return path


@pytest.fixture()
def _inception_weights(inception_weights):
    """Opt-in (``usefixtures``) for tests that build a real run's plan of the FID studies in-process;
    tests of the CLI as a user runs it get no weights variable."""
    return inception_weights
