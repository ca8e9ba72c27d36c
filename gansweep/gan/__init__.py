"""The GAN model zoo: losses, penalties, normalizations and architectures by name, and a trainer.

Every choice a study file can make is a registry entry; :class:`GANTrainer` trains one
:class:`GANConfig` on an in-memory :class:`~gansweep.data.Dataset`.
"""

from gansweep.gan.archs import ARCHITECTURES
from gansweep.gan.config import GANConfig
from gansweep.gan.losses import LOSSES, Loss
from gansweep.gan.norms import NORMS, Norm
from gansweep.gan.penalties import PENALTIES
from gansweep.gan.trainer import Diverged, GANTrainer

__all__ = [
    "ARCHITECTURES",
    "LOSSES",
    "NORMS",
    "PENALTIES",
    "Diverged",
    "GANConfig",
    "GANTrainer",
    "Loss",
    "Norm",
]
