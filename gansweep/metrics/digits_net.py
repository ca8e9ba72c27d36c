"""The digits classifier whose features define ``fd`` on the embedded ``digits`` data set.

Inception-v3 features mean little for 16×16 grey digits, and its weights need a download; so
gansweep trains its own small classifier, deterministically, in seconds on the CPU, and measures
the Fréchet distance in its 64-d penultimate layer (the "domain network" FD of e.g. Lucic et al.
and the GAN Landscape paper's MNIST-style experiments).

How it is made (:data:`RECIPE`, all of it hashed into the cache key):

- data: the fixed digits split of :func:`gansweep.data.digits.digits_arrays` (1,500 train,
  297 test images), scaled to [-1, 1] and upscaled bilinearly to the requested resolution exactly
  as the ``digits`` data set is (:func:`gansweep.data.digits.to_images`);
- network (:class:`DigitsNet`): conv3×3(1→16)–ReLU–maxpool2 – conv3×3(16→32)–ReLU–maxpool2 –
  adaptive-avg-pool to 4×4 – linear(512→64)–ReLU (the feature layer) – linear(64→10);
- training: PyTorch default initialisation under ``torch.manual_seed(RECIPE['seed'])`` (inside
  ``torch.random.fork_rng``, so the caller's RNG is untouched), Adam(lr 3e-3), batch 64, 10 epochs,
  shuffled with a ``torch.Generator`` seeded with the same seed; light augmentation of ±1 pixel
  random shifts at 16×16 (scaled with the resolution), float32, on the CPU;
- the weights and the test accuracy are saved to ``<cache_dir>/digits_classifier/`` under a name
  keyed by resolution and the recipe hash, and loaded with ``torch.load(weights_only=True)``.

The test accuracy is about 0.98 at 16×16; tests require > 0.9.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from gansweep.metrics.cache import atomic_save, cache_key, resolve_cache_dir

log = logging.getLogger(__name__)

FEATURE_DIM = 64

RECIPE = {
    "version": 1,
    "arch": "conv16-conv32-avg4-fc64-fc10",
    "seed": 0,
    "epochs": 10,
    "batch_size": 64,
    "lr": 3e-3,
    "optimizer": "adam",
    "shift_px_at_16": 1,
    "split": "sklearn-digits/test297/seed0",
}


class DigitsNet(nn.Module):
    """Small CNN on (N, 1, r, r) images in [-1, 1]; :meth:`features` gives the 64-d layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * 4 * 4, FEATURE_DIM)
        self.fc2 = nn.Linear(FEATURE_DIM, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.adaptive_avg_pool2d(x, 4).flatten(1)
        return F.relu(self.fc1(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.features(x))


def _shift(x: torch.Tensor, max_px: int, gen: torch.Generator) -> torch.Tensor:
    """Random integer translations by up to ``max_px`` pixels, background (-1) filled."""
    if max_px <= 0:
        return x
    n, _, h, w = x.shape
    pad = F.pad(x, (max_px,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * max_px + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * max_px + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, 1, h, w + 2 * max_px)
    out = pad.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, 1, h, w)
    return out.gather(3, cols)


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train_digits_classifier(resolution: int) -> tuple[DigitsNet, float]:
    """Train :class:`DigitsNet` by :data:`RECIPE` on the CPU; returns ``(model, test_accuracy)``."""
    from gansweep.data.digits import digits_arrays, to_images

    x_tr, y_tr, x_te, y_te = digits_arrays()
    xtr, xte = to_images(x_tr, resolution), to_images(x_te, resolution)
    ytr, yte = torch.from_numpy(y_tr), torch.from_numpy(y_te)
    max_px = round(RECIPE["shift_px_at_16"] * resolution / 16)
    t0 = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RECIPE["seed"])
        model = DigitsNet()
    gen = torch.Generator().manual_seed(RECIPE["seed"])
    opt = torch.optim.Adam(model.parameters(), lr=RECIPE["lr"])
    bs = RECIPE["batch_size"]
    model.train()
    for _ in range(RECIPE["epochs"]):
        order = torch.randperm(len(xtr), generator=gen)
        for i in range(0, len(order), bs):
            idx = order[i : i + bs]
            loss = F.cross_entropy(model(_shift(xtr[idx], max_px, gen)), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    model.eval().requires_grad_(False)
    acc = accuracy(model, xte, yte)
    log.info("digits classifier %dx%d: test accuracy %.4f (%.1fs)", resolution, resolution, acc,
             time.perf_counter() - t0)
    return model, acc


def classifier_path(resolution: int, cache_dir: str | Path | None = None) -> Path:
    key = cache_key(kind="digits-classifier", resolution=resolution, recipe=RECIPE)
    return resolve_cache_dir(cache_dir) / "digits_classifier" / f"r{resolution}-{key}.pt"


def digits_classifier(resolution: int, cache_dir: str | Path | None = None) -> tuple[DigitsNet, float]:
    """The classifier for ``resolution``×``resolution`` digits and its test accuracy.

    Trained once by :data:`RECIPE` (see the module docstring) and cached in ``cache_dir``
    (default ``$GANSWEEP_CACHE`` or ``~/.cache/gansweep``); the model is on the CPU, in eval mode,
    without gradients.
    """
    path = classifier_path(resolution, cache_dir)
    if path.exists():
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            model = DigitsNet()
            model.load_state_dict(blob["state_dict"])
            return model.eval().requires_grad_(False), float(blob["test_accuracy"])
        except Exception as exc:
            log.warning("digits classifier %s unreadable (%s); retraining", path, exc)
    model, acc = train_digits_classifier(resolution)
    atomic_save({"state_dict": model.state_dict(), "test_accuracy": acc, "recipe": dict(RECIPE)}, path)
    return model, acc
