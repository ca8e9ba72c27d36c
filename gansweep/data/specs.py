"""The facts about each data set a study may name, importable without torch.

:data:`DATA_SPECS` is the one place that says which data sets exist, which are 2-D point mixtures
and which ship with gansweep (their default primary metric needs no download: ``fd`` for digits,
``mmd`` for the mixtures, see :func:`gansweep.metrics.specs.default_primary`). The
plan, the metric defaults and the cost model read it; the loaders in :mod:`gansweep.data` are
looked up by the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

from gansweep.registry import Registry

IMAGE = "image"
POINTS = "points"


@dataclass(frozen=True)
class DataSpec:
    """A data set: its kind (``image`` or ``points``), whether gansweep ships it, and for images
    their channels and side at ``training.resolution: null`` (the cost model and the loaders read
    it); a real data set also says how many images it holds out for evaluation and what to put in
    the data root."""

    name: str
    kind: str
    embedded: bool
    side: int | None = None
    channels: int = 3
    test_size: int | None = None
    fetch_hint: str = ""


DATA_SPECS: Registry[DataSpec] = Registry("dataset")
for _spec in (
    DataSpec("digits", IMAGE, embedded=True, side=16, channels=1),  # scikit-learn's 8 px, upscaled
    DataSpec("ring8", POINTS, embedded=True),
    DataSpec("grid25", POINTS, embedded=True),
    DataSpec("cifar10", IMAGE, embedded=False, side=32, test_size=10_000,
             fetch_hint="torchvision's CIFAR10 files (cifar-10-batches-py/), or set GANSWEEP_DOWNLOAD=1 on a machine "
                        "with internet"),
    DataSpec("celeba_hq_128", IMAGE, embedded=False, side=128, test_size=3_000,
             fetch_hint="the 30,000 CelebA-HQ images (any size; a folder of PNG/JPEG) or an npz with x=uint8 images"),
    DataSpec("lsun_bedroom", IMAGE, embedded=False, side=128, test_size=10_000,
             fetch_hint="LSUN bedroom_train_lmdb (data.mdb), a folder of its images, or an npz with x=uint8 images"),
):
    DATA_SPECS.add(_spec.name, _spec)

PATH_PREFIXES = ("folder", "npz")
"""``<prefix>:<path>`` names a data set by its files (see :mod:`gansweep.data.real`)."""

EMBEDDED_DATASETS = frozenset(name for name, spec in DATA_SPECS.items() if spec.embedded)
POINT_DATASETS = frozenset(name for name, spec in DATA_SPECS.items() if spec.kind == POINTS)


def dataset_kind(dataset: str) -> str:
    """``points`` (2-D mixtures) or ``image``: what a data set's metrics and architectures must suit."""
    return POINTS if dataset in POINT_DATASETS else IMAGE
