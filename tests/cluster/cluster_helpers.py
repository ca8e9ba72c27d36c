"""Generators for small test data sets (imported by the cluster tests and their conftest)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def random_images(n: int, h: int, w: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """uint8 (n, h, w, C) noise; (n, h, w) for one channel."""
    rng = np.random.default_rng(seed)
    shape = (n, h, w, channels) if channels > 1 else (n, h, w)
    return rng.integers(0, 256, shape, dtype=np.uint8)


def write_folder(folder: Path, images: np.ndarray, suffix: str = ".png", nested: bool = True) -> list[Path]:
    """One file per image; every third one in a subfolder (loaders search recursively)."""
    from PIL import Image

    paths = []
    for i, a in enumerate(images):
        sub = folder / f"part{i % 3}" if nested and i % 3 == 0 else folder
        sub.mkdir(parents=True, exist_ok=True)
        p = sub / f"img_{i:04d}{suffix}"
        Image.fromarray(a).save(p)
        paths.append(p)
    return paths
