"""Data sets by name: what a study's ``grid.dataset`` may choose (and ``folder:``/``npz:`` paths).

Each loader returns a :class:`Dataset` held in memory as float tensors: the small embedded sets
train from there directly (no DataLoader, no per-step host work). Importing the defining modules
fills :data:`DATASETS`.
"""

from gansweep.data.base import DATASETS, Dataset, load_dataset
from gansweep.data import digits as _digits  # noqa: F401  (registers)
from gansweep.data import mixtures as _mixtures  # noqa: F401  (registers)
from gansweep.data import real as _real  # noqa: F401  (registers cifar10, celeba_hq_128, lsun_bedroom)

__all__ = ["DATASETS", "Dataset", "load_dataset"]
