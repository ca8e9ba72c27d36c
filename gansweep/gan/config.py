"""The resolved configuration of one GAN: what a trial trains, checked when it is made."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.dataclasses import dataclass

from gansweep.errors import GansweepError
from gansweep.gan.specs import GRID_AXES, HP_SPECS, PRIORS

Count = Annotated[int, Field(ge=1, description="an integer >= 1")]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False, description="> 0")]
Beta = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False, description="in [0, 1)")]


@dataclass(frozen=True, config=ConfigDict(strict=True, arbitrary_types_allowed=True))
class GANConfig:
    """One GAN of a study: the cell's choices plus the searched hyperparameters.

    Names are checked against the registries and numbers against their rules (pydantic, strict
    types) when it is made, so a bad value fails before any training in one line with the field,
    the value and what is allowed. ``options`` are architecture-specific and are checked by the
    architecture when it is built.
    ``pack`` is PacGAN's packing (Lin et al., 2018), which every architecture takes: the
    discriminator scores ``pack`` samples at once, concatenated along their first axis (channels,
    or the coordinates of points); ``batch_size`` counts its inputs, so a step draws
    ``batch_size * pack`` real and as many generated samples. 1: no packing.
    """

    architecture: str
    loss: str = GRID_AXES["loss"].default
    penalty: str = GRID_AXES["penalty"].default
    normalization: str = GRID_AXES["normalization"].default
    lr: Positive = HP_SPECS["lr"].default
    lr_g: Annotated[float | None, Field(description="> 0 or None")] = None
    beta1: Beta = HP_SPECS["beta1"].default
    beta2: Beta = HP_SPECS["beta2"].default
    n_disc: Count = int(HP_SPECS["n_disc"].default)
    penalty_weight: Annotated[float, Field(ge=0, allow_inf_nan=False, description=">= 0")] = 0.0
    z_dim: Count = 64
    batch_size: Count = 64
    prior: Annotated[Literal[PRIORS], Field(description=f"one of {', '.join(PRIORS)}")] = PRIORS[0]
    width: Count = 64
    pack: Count = int(HP_SPECS["pack"].default)
    options: Annotated[Mapping[str, Any], Field(description="a mapping")] = Field(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _one_line(cls, values: Any, handler: Any) -> Any:
        """A refused value as :class:`GansweepError` in one line: field, what is allowed, the value."""
        try:
            return handler(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = err["loc"][0] if err["loc"] else "config"
            field = cls.__pydantic_fields__.get(name)
            rule = next((m.description for m in (field.metadata if field else ()) if getattr(m, "description", None)),
                        None) or (field.description if field else None) or err["msg"]
            raise GansweepError(f"GAN config: {name} must be {rule}, got {err.get('input')!r}") from None

    @field_validator("architecture", "loss", "penalty", "normalization")
    @classmethod
    def _registered(cls, value: str, info: Any) -> str:
        from gansweep import gan

        registry = {"architecture": gan.ARCHITECTURES, "loss": gan.LOSSES, "penalty": gan.PENALTIES,
                    "normalization": gan.NORMS}[info.field_name]
        if value not in registry:
            raise GansweepError(registry.unknown_message(value))
        return value

    @field_validator("lr_g")
    @classmethod
    def _lr_g(cls, value: float | None) -> float | None:
        if value is not None and not (0 < value < float("inf")):
            raise ValueError("> 0 or None")
        return value

    @property
    def generator_lr(self) -> float:
        """TTUR (Heusel et al., 2017): the generator's own rate, ``lr`` when not set."""
        return self.lr if self.lr_g is None else self.lr_g
