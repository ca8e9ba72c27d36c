"""The facts about each GAN component a study may name, importable without torch.

The study is checked (``gansweep validate``, ``status``, the plan) against these tables, and the
torch registries of :mod:`gansweep.gan` are keyed by the same names (a test keeps both equal), so
a new loss, penalty, normalization or architecture is one spec here plus its implementation:
nothing else lists it. What lives here is what code without torch needs: names, the data an
architecture trains on, its options and their defaults and rules, a penalty's default weight and
whether it differentiates through the discriminator's input gradient (twice the cost per step),
and each choice's effect on the dry-run trial's score (spectral norm and gradient penalties help,
as the paper found).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from gansweep.data.specs import DATA_SPECS, IMAGE, POINTS
from gansweep.errors import GansweepError
from gansweep.registry import Registry


@dataclass(frozen=True)
class HyperSpec:
    """A hyperparameter a search space may name: the bounds that make it meaningful, whether it
    takes integers, the value a trial gets when its search does not set it (None: see ``paper``
    and :func:`gansweep.study.plan.resolve_hps`), and whether it is one of the paper's
    hyperparameters (stored as a column ``hp_<name>`` in every study; the others only when some
    entry's space names them)."""

    name: str
    low: float
    high: float
    integer: bool = False
    default: float | None = None
    paper: bool = False
    open_high: str | None = None  # why ``high`` itself is refused (a range is sampled half-open)


HP_SPECS: Mapping[str, HyperSpec] = MappingProxyType({h.name: h for h in (  # in the order of tables and columns
    HyperSpec("lr", 0.0, 1.0, default=2e-4, paper=True),
    HyperSpec("lr_g", 0.0, 1.0),  # TTUR: the generator's own rate; None: lr
    HyperSpec("beta1", 0.0, 1.0, default=0.5, paper=True, open_high="Adam refuses a beta of 1"),
    HyperSpec("beta2", 0.0, 1.0, default=0.999, paper=True, open_high="Adam refuses a beta of 1"),
    HyperSpec("n_disc", 1, 100, integer=True, default=1, paper=True),
    HyperSpec("penalty_weight", 0.0, 1e6, paper=True),  # default: the cell's penalty's (PenaltySpec)
    HyperSpec("pack", 1, 64, integer=True, default=1),  # PacGAN's packing (GANConfig.pack)
)})

DEFAULT_HPS: Mapping[str, float] = MappingProxyType(
    {n: h.default for n, h in HP_SPECS.items() if h.paper and h.default is not None})
"""Adam and discriminator steps of a trial whose search does not set them (the paper's defaults)."""

PRIORS = ("normal", "uniform")
"""Distributions of the generator's latent z (``training.prior``)."""

# -- training options every architecture accepts ------------------------------------------------

CHECK_EVERY = 50
"""Default generator steps between divergence checks (each one is a host sync)."""

ADAM_IMPLS: Mapping[str, Mapping[str, bool]] = MappingProxyType({
    "fused": {"fused": True},
    "foreach": {"foreach": True},
    "loop": {"foreach": False},
})
"""``adam`` option → the implementation keywords of ``torch.optim.Adam``."""

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")

class TrainingOptions(BaseModel):
    """Options every architecture accepts (``training.options``); the trainer reads them from
    ``G.options``. Strict types (an integer passes for a float; a boolean is no number) and each
    field's rule, quoted by its error (``description``), checked by :func:`resolve_options`."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    ema_decay: float = Field(0.0, ge=0.0, lt=1.0, description="in [0, 1)")  # 0: no EMA generator
    ema_start: int = Field(0, ge=0, description=">= 0")  # generator steps before the average starts (BigGAN: 20k)
    truncation: float | None = Field(None, gt=0, description="None or a number > 0")  # |z| threshold; None: none
    orth_reg: float = Field(0.0, ge=0, description=">= 0")  # weight of BigGAN's orthogonal regularisation of G
    # the trainer's speed-ups (gansweep.gan.speed)
    check_every: int = Field(CHECK_EVERY, ge=1, description=">= 1")
    adam: Literal[tuple(ADAM_IMPLS)] = Field("fused", description=f"one of {', '.join(ADAM_IMPLS)}")
    cudnn_benchmark: bool = True
    tf32: bool = True
    device_data_gb: float = Field(2.0, ge=0, description=">= 0")
    compile: bool = False
    compile_mode: Literal[COMPILE_MODES] = Field("default", description=f"one of {', '.join(COMPILE_MODES)}")
    compile_backend: str = Field("inductor", min_length=1, description="a torch.compile backend name")


SPEED_KEYS = ("check_every", "adam", "cudnn_benchmark", "tf32", "device_data_gb", "compile", "compile_mode",
              "compile_backend")
SPEED_OPTIONS: Mapping[str, Any] = MappingProxyType({k: TrainingOptions.model_fields[k].default for k in SPEED_KEYS})
"""Defaults of the trainer's speed-up options (:mod:`gansweep.gan.speed`)."""


# -- the components ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ArchSpec:
    """An architecture: the kind of data it trains on and the model of its options (their types,
    defaults and rules)."""

    name: str
    kind: str  # IMAGE or POINTS (gansweep.data.specs)
    model: type[TrainingOptions] = TrainingOptions
    dry_run: float = 0.0  # effect on the dry-run trial's score (gansweep.trial.synthetic)

    @property
    def options(self) -> Mapping[str, Any]:
        """The options' defaults."""
        return MappingProxyType(self.model().model_dump())


@dataclass(frozen=True)
class LossSpec:
    name: str
    dry_run: float = 0.0  # effect on the dry-run trial's score (gansweep.trial.synthetic)


@dataclass(frozen=True)
class PenaltySpec:
    """A penalty: its default weight λ and whether it needs the discriminator's gradient at its
    input (a double backward: about twice the cost of a step; GP, DRAGAN, R1)."""

    name: str
    default_weight: float
    input_gradient: bool
    dry_run: float = 0.0  # effect on the dry-run trial's score (gansweep.trial.synthetic)


@dataclass(frozen=True)
class NormSpec:
    name: str
    dry_run: float = 0.0  # effect on the dry-run trial's score (gansweep.trial.synthetic)


class ResNetOptions(TrainingOptions):
    conditional: bool = False


class BigGANOptions(TrainingOptions):
    ema_decay: float = Field(0.9999, ge=0.0, lt=1.0, description="in [0, 1)")
    ema_start: int = Field(20_000, ge=0, description=">= 0")
    orth_reg: float = Field(1e-4, ge=0, description=">= 0")
    conditional: bool = True
    skip_z: bool = True
    shared_embedding: bool = True
    shared_dim: int = 128
    attention_resolution: int | None = None
    g_sn: bool = True

INITS = ("default", "normal", "xavier")
"""Weight initialisations of the ``init`` option (:data:`gansweep.gan.archs.base.INITIALIZERS`):
torch's own, N(0, 0.02²) with zero biases (DCGAN, PacGAN), Xavier-uniform."""

MLP_G_NORMS = ("none", "bn")
"""Feature normalizations of the ``mlp`` generator's hidden layers (``g_norm``): PacGAN's generator
uses batch norm, the unrolled-GAN setups none."""

def _maxout(x: int) -> int:
    if x != 0 and x < 2:
        raise ValueError("0 or >= 2")
    return x


class MLPOptions(TrainingOptions):
    depth: int = Field(3, ge=1, description=">= 1")  # hidden layers of D (and of G unless g_depth)
    g_depth: int | None = Field(None, ge=1, description="None or an integer >= 1")  # G's hidden layers; None: depth
    g_width: int | None = Field(None, ge=1, description="None or an integer >= 1")  # G's units; None: training.width
    g_norm: Literal[MLP_G_NORMS] = Field("none", description=f"one of {', '.join(MLP_G_NORMS)}")
    # D's activation: 0 LeakyReLU(0.2), k >= 2 maxout with k pieces (Goodfellow et al., 2013)
    maxout: Annotated[int, AfterValidator(_maxout)] = Field(0, description="0 (LeakyReLU) or a number of pieces >= 2")
    init: Literal[INITS] = Field("default", description=f"one of {', '.join(INITS)}")

ARCH_SPECS: Registry[ArchSpec] = Registry("architecture")
for _a in (
    ArchSpec("mlp", POINTS, MLPOptions),
    ArchSpec("dcgan", IMAGE),
    ArchSpec("sndcgan", IMAGE, dry_run=-2.0),
    ArchSpec("resnet_cifar", IMAGE, ResNetOptions, dry_run=-4.0),
    ArchSpec("resnet19", IMAGE, ResNetOptions, dry_run=-5.0),
    ArchSpec("biggan", IMAGE, BigGANOptions, dry_run=-7.0),
):
    ARCH_SPECS.add(_a.name, _a)

LOSS_SPECS: Registry[LossSpec] = Registry("loss")
for _l in (LossSpec("ns"), LossSpec("mm", 6.0), LossSpec("wgan", 3.0), LossSpec("ls", 1.0), LossSpec("hinge", -1.0)):
    LOSS_SPECS.add(_l.name, _l)

PENALTY_SPECS: Registry[PenaltySpec] = Registry("penalty")
for _p in (
    PenaltySpec("none", 0.0, input_gradient=False),
    PenaltySpec("gp", 10.0, input_gradient=True, dry_run=-8.0),
    PenaltySpec("dragan", 10.0, input_gradient=True, dry_run=-6.0),
    PenaltySpec("l2", 1.0, input_gradient=False, dry_run=-1.0),
    PenaltySpec("r1", 10.0, input_gradient=True, dry_run=-7.0),
):
    PENALTY_SPECS.add(_p.name, _p)

NORM_SPECS: Registry[NormSpec] = Registry("normalization")
for _n in (NormSpec("none"), NormSpec("bn", -3.0), NormSpec("ln", -5.0), NormSpec("sn", -12.0), NormSpec("wn", -4.0)):
    NORM_SPECS.add(_n.name, _n)


@dataclass(frozen=True)
class Axis:
    """A categorical axis of a study's grid: the specs of the names it may take and the name a
    study that leaves the axis out gets."""

    specs: Registry[Any]
    default: str


GRID_AXES: Mapping[str, Axis] = MappingProxyType({
    "dataset": Axis(DATA_SPECS, "digits"),
    "architecture": Axis(ARCH_SPECS, "dcgan"),
    "loss": Axis(LOSS_SPECS, "ns"),
    "penalty": Axis(PENALTY_SPECS, "none"),
    "normalization": Axis(NORM_SPECS, "none"),
})
"""The one list of the grid's axes, in cell-id order. The study schema's ``grid``, the plan's
cells, the store's columns and the rows written to it are made from it: a new axis is one line here
(plus its specs)."""
AXES: tuple[str, ...] = tuple(GRID_AXES)
AXIS_SPECS: Mapping[str, Registry[Any]] = MappingProxyType(
    {name: axis.specs for name, axis in GRID_AXES.items() if name != "dataset"})
"""The GAN axes (all but the data set) → the specs of the names each may take."""


def resolve_options(arch: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The architecture's defaults updated with ``given``, validated by its options model: unknown
    keys, wrongly typed values and values outside a rule are refused in one line. Called when a
    study is validated (no GPU spent on a typo), when a trial's resolved configuration is stored,
    and when a model is built. Given values are kept as given (an integer stays one)."""
    model = ARCH_SPECS[arch].model
    unknown = sorted(set(given) - set(model.model_fields))
    if unknown:
        raise GansweepError(
            f"architecture {arch!r}: unknown option(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(model.model_fields))}"
        )
    try:
        model.model_validate(dict(given))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = err["loc"][0]
        info = model.model_fields[key]
        rule = info.description if info.description and not _type_error(err, info) else type(info.default).__name__
        raise GansweepError(f"architecture {arch!r}: option {key!r} must be {rule}, got {err['input']!r}") from None
    return {**ARCH_SPECS[arch].options, **given}


def _type_error(err: Any, info: Any) -> bool:
    """A value of another type than the option's default (``must be bool``); an option whose default
    is None or a name quotes its rule whatever was wrong."""
    return err["type"].endswith("_type") and info.default is not None and not isinstance(info.default, str)
