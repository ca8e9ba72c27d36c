"""Architectures by name; importing each module registers it in :data:`ARCHITECTURES` (its facts
and options are its spec, :data:`gansweep.gan.specs.ARCH_SPECS`)."""

from gansweep.gan.archs.base import ARCHITECTURES
from gansweep.gan.archs import biggan as _biggan  # noqa: F401  (registers)
from gansweep.gan.archs import dcgan as _dcgan  # noqa: F401  (registers)
from gansweep.gan.archs import mlp as _mlp  # noqa: F401  (registers)
from gansweep.gan.archs import resnet as _resnet  # noqa: F401  (registers)
from gansweep.gan.archs import sndcgan as _sndcgan  # noqa: F401  (registers)

__all__ = ["ARCHITECTURES"]
