"""Data sets by name: what a study's ``grid.dataset`` may choose.

Each loader returns a :class:`Dataset` held in memory as float tensors: the small embedded sets
train from there directly (no DataLoader, no per-step host work). Importing the defining modules
fills :data:`DATASETS`.
"""

from gansweep.data.base import DATASETS, Dataset, load_dataset
from gansweep.data import digits as _digits  # noqa: F401  (registers)
from gansweep.data import mixtures as _mixtures  # noqa: F401  (registers)

__all__ = ["DATASETS", "Dataset", "load_dataset"]
