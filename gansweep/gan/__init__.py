"""The GAN model zoo: losses, penalties, normalizations and architectures by name, and a trainer.

Every choice a study file can make is a registry entry; :class:`GANTrainer` trains one
:class:`GANConfig` on an in-memory :class:`~gansweep.data.Dataset`. The facts about each name live
in the torch-free :mod:`gansweep.gan.specs`; the torch parts are imported on first use of a name
below (PEP 562), so checking a study against the specs costs no torch import.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ARCHITECTURES": "gansweep.gan.archs",
    "GANConfig": "gansweep.gan.config",
    "LOSSES": "gansweep.gan.losses",
    "Loss": "gansweep.gan.losses",
    "NORMS": "gansweep.gan.norms",
    "Norm": "gansweep.gan.norms",
    "PENALTIES": "gansweep.gan.penalties",
    "Diverged": "gansweep.gan.trainer",
    "GANTrainer": "gansweep.gan.trainer",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
