"""Architectures by name; importing each module registers it in :data:`ARCHITECTURES`."""

from gansweep.gan.archs.base import ARCHITECTURES, TRAINING_OPTIONS, resolve_options
from gansweep.gan.archs import dcgan as _dcgan  # noqa: F401  (registers)
from gansweep.gan.archs import mlp as _mlp  # noqa: F401  (registers)

__all__ = ["ARCHITECTURES", "TRAINING_OPTIONS", "resolve_options"]
