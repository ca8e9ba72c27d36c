"""The resolved configuration of one GAN: what a trial trains, checked when it is made."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gansweep.errors import GansweepError
from gansweep.gan.specs import GRID_AXES, HP_SPECS, PRIORS


@dataclass(frozen=True)
class GANConfig:
    """One GAN of a study: the cell's choices plus the searched hyperparameters.

    Names are checked against the registries and numbers against their ranges at construction,
    so a bad value fails before any training with the field, the value and what is allowed.
    ``options`` are architecture-specific and are checked by the architecture when it is built.
    ``pack`` is PacGAN's packing (Lin et al., 2018), which every architecture takes: the
    discriminator scores ``pack`` samples at once, concatenated along their first axis (channels,
    or the coordinates of points); ``batch_size`` counts its inputs, so a step draws
    ``batch_size * pack`` real and as many generated samples. 1: no packing.
    """

    architecture: str
    loss: str = GRID_AXES["loss"].default
    penalty: str = GRID_AXES["penalty"].default
    normalization: str = GRID_AXES["normalization"].default
    lr: float = HP_SPECS["lr"].default
    lr_g: float | None = None
    beta1: float = HP_SPECS["beta1"].default
    beta2: float = HP_SPECS["beta2"].default
    n_disc: int = int(HP_SPECS["n_disc"].default)
    penalty_weight: float = 0.0
    z_dim: int = 64
    batch_size: int = 64
    prior: str = PRIORS[0]
    width: int = 64
    pack: int = int(HP_SPECS["pack"].default)
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from gansweep.gan.archs import ARCHITECTURES
        from gansweep.gan.losses import LOSSES
        from gansweep.gan.norms import NORMS
        from gansweep.gan.penalties import PENALTIES

        for registry, value in (
            (ARCHITECTURES, self.architecture),
            (LOSSES, self.loss),
            (PENALTIES, self.penalty),
            (NORMS, self.normalization),
        ):
            if value not in registry:
                raise GansweepError(registry.unknown_message(value))
        _check("lr", self.lr, self.lr > 0, "> 0")
        if self.lr_g is not None:
            _check("lr_g", self.lr_g, self.lr_g > 0, "> 0 or None")
        _check("beta1", self.beta1, 0 <= self.beta1 < 1, "in [0, 1)")
        _check("beta2", self.beta2, 0 <= self.beta2 < 1, "in [0, 1)")
        _check("penalty_weight", self.penalty_weight, self.penalty_weight >= 0, ">= 0")
        for name in ("n_disc", "z_dim", "batch_size", "width", "pack"):
            value = getattr(self, name)
            _check(name, value, isinstance(value, int) and value >= 1, "an integer >= 1")
        _check("prior", self.prior, self.prior in PRIORS, f"one of {', '.join(PRIORS)}")
        if not isinstance(self.options, Mapping):
            raise GansweepError(f"options must be a mapping, got {self.options!r}")

    @property
    def generator_lr(self) -> float:
        """TTUR (Heusel et al., 2017): the generator's own rate, ``lr`` when not set."""
        return self.lr if self.lr_g is None else self.lr_g


def _check(name: str, value: Any, ok: bool, rule: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        ok = False
    if not ok:
        raise GansweepError(f"GAN config: {name} must be {rule}, got {value!r}")
