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
    """A data set: its kind (``image`` or ``points``) and whether gansweep ships it."""

    name: str
    kind: str
    embedded: bool


DATA_SPECS: Registry[DataSpec] = Registry("dataset")
for _spec in (
    DataSpec("digits", IMAGE, embedded=True),
    DataSpec("ring8", POINTS, embedded=True),
    DataSpec("grid25", POINTS, embedded=True),
    DataSpec("cifar10", IMAGE, embedded=False),
    DataSpec("celeba_hq_128", IMAGE, embedded=False),
    DataSpec("lsun_bedroom", IMAGE, embedded=False),
):
    DATA_SPECS.add(_spec.name, _spec)

PATH_PREFIXES = ("folder", "npz")
"""``<prefix>:<path>`` names a data set by its files (see :mod:`gansweep.data.real`)."""

EMBEDDED_DATASETS = frozenset(name for name, spec in DATA_SPECS.items() if spec.embedded)
POINT_DATASETS = frozenset(name for name, spec in DATA_SPECS.items() if spec.kind == POINTS)


def dataset_kind(dataset: str) -> str:
    """``points`` (2-D mixtures) or ``image``: what a data set's metrics and architectures must suit."""
    return POINTS if dataset in POINT_DATASETS else IMAGE
