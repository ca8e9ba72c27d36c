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

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

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

SPEED_OPTIONS: Mapping[str, Any] = MappingProxyType({
    "check_every": CHECK_EVERY,
    "adam": "fused",
    "cudnn_benchmark": True,
    "tf32": True,
    "device_data_gb": 2.0,
    "compile": False,
    "compile_mode": "default",
    "compile_backend": "inductor",
})
"""Defaults of the trainer's speed-up options (:mod:`gansweep.gan.speed`)."""

TRAINING_OPTIONS: Mapping[str, Any] = MappingProxyType({
    "ema_decay": 0.0,  # 0: no EMA generator
    "ema_start": 0,  # generator steps before the average starts (BigGAN: 20k)
    "truncation": None,  # |z| threshold for sampling; None: no truncation
    "orth_reg": 0.0,  # weight of BigGAN's orthogonal regularisation of G
    **SPEED_OPTIONS,
})
"""Options every architecture accepts; the trainer reads them from ``G.options``."""

Rule = tuple[Callable[[Any], bool], str]
TRAINING_RULES: Mapping[str, Rule] = MappingProxyType({
    "ema_decay": (lambda x: 0.0 <= x < 1.0, "in [0, 1)"),
    "ema_start": (lambda x: x >= 0, ">= 0"),
    "truncation": (lambda x: x is None or (isinstance(x, (int, float)) and x > 0), "None or a number > 0"),
    "orth_reg": (lambda x: x >= 0, ">= 0"),
    "check_every": (lambda x: x >= 1, ">= 1"),
    "adam": (lambda x: x in ADAM_IMPLS, f"one of {', '.join(ADAM_IMPLS)}"),
    "device_data_gb": (lambda x: x >= 0, ">= 0"),
    "compile_mode": (lambda x: x in COMPILE_MODES, f"one of {', '.join(COMPILE_MODES)}"),
    "compile_backend": (lambda x: bool(x), "a torch.compile backend name"),
})
"""Range rules of the training options, checked with their types by :func:`resolve_options`."""


# -- the components ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ArchSpec:
    """An architecture: the kind of data it trains on, its options with their defaults and the
    range rules of its own options (checked with :data:`TRAINING_RULES`)."""

    name: str
    kind: str  # IMAGE or POINTS (gansweep.data.specs)
    options: Mapping[str, Any] = field(default_factory=lambda: TRAINING_OPTIONS)
    dry_run: float = 0.0  # effect on the dry-run trial's score (gansweep.trial.synthetic)
    rules: Mapping[str, Rule] = field(default_factory=dict)


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


_RESNET = {**TRAINING_OPTIONS, "conditional": False}
_BIGGAN = {
    **TRAINING_OPTIONS,
    "ema_decay": 0.9999,
    "ema_start": 20_000,
    "orth_reg": 1e-4,
    "conditional": True,
    "skip_z": True,
    "shared_embedding": True,
    "shared_dim": 128,
    "attention_resolution": None,
    "g_sn": True,
}

INITS = ("default", "normal", "xavier")
"""Weight initialisations of the ``init`` option (:data:`gansweep.gan.archs.base.INITIALIZERS`):
torch's own, N(0, 0.02²) with zero biases (DCGAN, PacGAN), Xavier-uniform."""

MLP_G_NORMS = ("none", "bn")
"""Feature normalizations of the ``mlp`` generator's hidden layers (``g_norm``): PacGAN's generator
uses batch norm, the unrolled-GAN setups none."""

_MLP = {
    **TRAINING_OPTIONS,
    "depth": 3,  # hidden layers of D (and of G unless g_depth)
    "g_depth": None,  # hidden layers of G; None: depth
    "g_width": None,  # units of G's hidden layers; None: training.width
    "g_norm": "none",  # one of MLP_G_NORMS
    "maxout": 0,  # D's activation: 0 LeakyReLU(0.2), k >= 2 maxout with k pieces (Goodfellow et al., 2013)
    "init": "default",  # one of INITS
}


def _none_or_positive_int(x: Any) -> bool:
    return x is None or (isinstance(x, int) and not isinstance(x, bool) and x >= 1)


_MLP_RULES: Mapping[str, Rule] = MappingProxyType({
    "depth": (lambda x: x >= 1, ">= 1"),
    "g_depth": (_none_or_positive_int, "None or an integer >= 1"),
    "g_width": (_none_or_positive_int, "None or an integer >= 1"),
    "g_norm": (lambda x: x in MLP_G_NORMS, f"one of {', '.join(MLP_G_NORMS)}"),
    "maxout": (lambda x: x == 0 or x >= 2, "0 (LeakyReLU) or a number of pieces >= 2"),
    "init": (lambda x: x in INITS, f"one of {', '.join(INITS)}"),
})

ARCH_SPECS: Registry[ArchSpec] = Registry("architecture")
for _a in (
    ArchSpec("mlp", POINTS, MappingProxyType(_MLP), rules=_MLP_RULES),
    ArchSpec("dcgan", IMAGE),
    ArchSpec("sndcgan", IMAGE, dry_run=-2.0),
    ArchSpec("resnet_cifar", IMAGE, MappingProxyType(_RESNET), dry_run=-4.0),
    ArchSpec("resnet19", IMAGE, MappingProxyType(_RESNET), dry_run=-5.0),
    ArchSpec("biggan", IMAGE, MappingProxyType(_BIGGAN), dry_run=-7.0),
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
    """The architecture's defaults updated with ``given``; unknown keys and wrongly typed values are
    refused. Called when a study is validated (no GPU spent on a typo), when a trial's resolved
    configuration is stored, and when a model is built."""
    defaults = ARCH_SPECS[arch].options
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise GansweepError(
            f"architecture {arch!r}: unknown option(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(defaults))}"
        )
    out = dict(defaults)
    for key, value in given.items():
        default = defaults[key]
        if default is not None and not _same_kind(value, default):
            raise GansweepError(
                f"architecture {arch!r}: option {key!r} must be {type(default).__name__}, got {value!r}"
            )
        out[key] = value
    for key, (ok, rule) in {**TRAINING_RULES, **ARCH_SPECS[arch].rules}.items():
        if key in out and not ok(out[key]):
            raise GansweepError(f"architecture {arch!r}: option {key!r} must be {rule}, got {out[key]!r}")
    return out


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, type(default))
