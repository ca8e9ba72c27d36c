"""Feature spaces: a network (or none) that maps samples to feature vectors, with a cache identity.

Every space takes a batch *on the evaluator's device* as gansweep produces it — images
``(N, C, H, W)`` float in [-1, 1] or points ``(N, 2)`` — and returns ``{layer: (N, D) float32}``
on the same device. ``key`` names the extractor and a hash of its weights, so cached reference
statistics change when the weights do.

- :class:`InceptionSpace`: torch-fidelity's ``inception-v3-compat`` (pool3 ``2048`` and
  ``logits_unbiased``). Images are converted to uint8 the way torchvision's ``save_image`` writes
  PNGs (``floor((x + 1) * 127.5 + 0.5)``, i.e. round half up), so our numbers equal torch-fidelity
  run on the saved samples; grey images are repeated to three channels as PIL's ``convert('RGB')``
  does.
- :class:`DigitsSpace`: the 64-d layer of gansweep's digits classifier
  (:mod:`gansweep.metrics.digits_net`).
- :class:`PointsSpace`: the raw 2-D coordinates of the mixtures.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import torch

from gansweep.metrics import inception as inc
from gansweep.metrics.cache import file_digest
from gansweep.metrics.digits_net import classifier_path, digits_classifier

RAW = "raw"
DIGITS_LAYER = "fc1"


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] → uint8 [0, 255] (clamped; round half up, as ``torchvision.utils.save_image``)."""
    return ((x.clamp(-1.0, 1.0) + 1.0) * 127.5 + 0.5).floor_().to(torch.uint8)


class FeatureSpace:
    """Base: ``space(batch) -> {layer: features}``; ``key`` identifies extractor and weights."""

    key: str
    layers: tuple[str, ...]

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError


class PointsSpace(FeatureSpace):
    key = "raw-points"
    layers = (RAW,)

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {RAW: x.reshape(len(x), -1).to(torch.float32)}


class DigitsSpace(FeatureSpace):
    layers = (DIGITS_LAYER,)

    def __init__(self, resolution: int, device: str | torch.device, cache_dir: str | Path | None) -> None:
        model, self.test_accuracy = digits_classifier(resolution, cache_dir)
        self.net = model.to(device)
        digest = file_digest(classifier_path(resolution, cache_dir))[:16]
        self.key = f"digits-cnn/r{resolution}/float32/{digest}"

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {DIGITS_LAYER: self.net.features(x.clamp(-1.0, 1.0).to(torch.float32))}


class InceptionSpace(FeatureSpace):
    layers = (inc.POOL3, inc.LOGITS)

    def __init__(
        self, weights: str | os.PathLike, device: str | torch.device, cache_dir: str | Path | None = None
    ) -> None:
        import torch_fidelity

        self.net = inc.load_inception(weights, device)
        digest = inc.weights_digest(weights, cache_dir)[:16]
        self.key = f"{inc.FEATURE_EXTRACTOR_NAME}/tf{torch_fidelity.__version__}/float32/{digest}"

    def __call__(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        u8 = to_uint8(x)
        if u8.shape[1] == 1:
            u8 = u8.expand(-1, 3, -1, -1)
        return dict(zip(self.layers, self.net(u8.contiguous())))


def extract(space: FeatureSpace, batches: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Features of all ``batches``, concatenated on their device (no host round trips)."""
    parts: dict[str, list[torch.Tensor]] = {layer: [] for layer in space.layers}
    with torch.no_grad():
        for batch in batches:
            for layer, feats in space(batch).items():
                parts[layer].append(feats)
    return {layer: torch.cat(p) for layer, p in parts.items()}


def batched(x: torch.Tensor, batch_size: int, device: str | torch.device) -> Iterable[torch.Tensor]:
    """Slices of ``x`` moved to ``device`` one batch at a time."""
    for i in range(0, len(x), batch_size):
        yield x[i : i + batch_size].to(device, non_blocking=True)
