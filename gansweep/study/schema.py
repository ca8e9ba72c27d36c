"""The study file as typed, validated configuration (pydantic, unknown keys refused).

The grid's axes and the hyperparameters come from the specs (:mod:`gansweep.gan.specs`); whether a
name is implemented is checked against the component registries when the plan is built
(:mod:`gansweep.study.plan`), so the schema and the registries never list the same thing twice.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, Union, get_args

from pydantic import (BaseModel, ConfigDict, Discriminator, Field, StrictInt, Tag, create_model, field_validator,
                      model_validator)

from gansweep.gan.specs import AXES, GRID_AXES, HP_SPECS, PRIORS

# Names become directory and file names: fully anchored (``fullmatch``, so no trailing newline) and short
# enough for every file system once a trial id is appended.
NAME_RE = re.compile(r"[a-z0-9_][a-z0-9_-]{0,63}")  # no leading "-": a CLI would read it as an option
SEARCH_NAME_RE = re.compile(r"[a-z0-9_]{1,64}")
# Bounds that keep every value inside what torch, numpy and Ray accept (validate is the one gate).
MAX_STEPS = 10_000_000
MAX_SEED = 2**32 - 1  # numpy's default_rng takes non-negative seeds; the plan adds trial offsets
MAX_CPU = 1024.0
MAX_GPU = 64.0
MIN_FRACTION = 0.01  # Ray rounds fractional resources to 1e-4; a smaller share is a mistake

HYPERPARAMETERS: dict[str, tuple[float, float, bool]] = {n: (h.low, h.high, h.integer) for n, h in HP_SPECS.items()}
"""Hyperparameters a search space may name → (lowest allowed, highest allowed, integer): a view of
:data:`gansweep.gan.specs.HP_SPECS`."""
PAPER_HPS = tuple(n for n, h in HP_SPECS.items() if h.paper)


class Strict(BaseModel):
    """Unknown keys refused, and no coercion: ``trials: true``, ``steps: yes`` or ``lr: "0.1"`` are not
    numbers, ``log: 1`` is not a boolean, ``steps: 2.0`` is not an integer (pydantic's strict mode;
    an integer still passes where a float is wanted)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Range(Strict):
    """A continuous or integer range; ``log: true`` samples log-uniformly."""

    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _check(self) -> Range:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if self.low >= self.high:
            raise ValueError(f"low < high must hold, but got low={self.low:g}, high={self.high:g}")
        if self.log and self.low <= 0:
            raise ValueError(f"log: true needs low > 0, but got low={self.low:g}")
        return self


class Choice(Strict):
    """A categorical (or small integer) dimension."""

    choices: list[float] = Field(min_length=1)

    @field_validator("choices")
    @classmethod
    def _unique(cls, v: list[float]) -> list[float]:
        if len(set(v)) != len(v):
            raise ValueError(f"choices must be distinct, but got {v}")
        return v


def _dimension_kind(value: Any) -> str:
    """Tag of a dimension, from raw input (a dict) or a built model (when serialising)."""
    if isinstance(value, dict):
        return "choice" if "choices" in value else "range"
    return "choice" if isinstance(value, Choice) else "range"


Dimension = Annotated[
    Union[Annotated[Choice, Tag("choice")], Annotated[Range, Tag("range")]],
    Discriminator(_dimension_kind),
]
Space = dict[str, Dimension]


def _check_space(space: Space) -> Space:
    if not space:
        raise ValueError("space must name at least one hyperparameter")
    for name, dim in space.items():
        if name not in HYPERPARAMETERS:
            import difflib

            hint = difflib.get_close_matches(name, HYPERPARAMETERS, n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise ValueError(f"unknown hyperparameter {name!r}{did}; choose from {', '.join(HYPERPARAMETERS)}")
        lo, hi, integer = HYPERPARAMETERS[name]
        values = dim.choices if isinstance(dim, Choice) else [dim.low, dim.high]
        for v in values:
            if not lo <= v <= hi:
                raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}], but got {v:g}")
            why = HP_SPECS[name].open_high
            if isinstance(dim, Choice) and why and v == hi:
                raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}) ({why}), but got {v:g}")
            if integer and v != int(v):
                raise ValueError(f"{name} takes integers, but got {v:g}")
    return space


class AshaStopping(Strict):
    """Asynchronous successive halving within the entry's cell (Ray Tune's ``ASHAScheduler``).

    Rungs at ``grace_steps × reduction^k`` generator steps; at each rung a trial goes on only if its
    score is in the best ``1/reduction`` of the cell's trials that reached that rung before it.
    """

    kind: Literal["asha"]
    grace_steps: int | None = Field(None, gt=0, description="first rung; None: the first evaluation")
    reduction: float = Field(3.0, gt=1.0, le=100.0)


class MedianStopping(Strict):
    """Tune's ``MedianStoppingRule`` within the entry's cell: stop a trial whose best score is worse
    than the median of the other trials' mean scores over the same steps."""

    kind: Literal["median"]
    grace_steps: int | None = Field(None, gt=0, description="no stopping before; None: the first evaluation")
    min_samples: int = Field(3, ge=1, le=10_000, description="trials that must have reached a step first")


class NoStopping(Strict):
    kind: Literal["none"]


Stopping = Annotated[Union[AshaStopping, MedianStopping, NoStopping], Field(discriminator="kind")]
STOPPING_KINDS = tuple(get_args(m.model_fields["kind"].annotation)[0] for m in get_args(get_args(Stopping)[0]))
"""The ``stopping.kind`` names (``none`` stops nothing)."""


def _check_resource(value: float, name: str, high: float) -> float:
    """Ray takes a fraction of one unit or a whole number of units."""
    if value == 0:
        return value
    if not (MIN_FRACTION <= value <= high):
        raise ValueError(f"{name} must be 0 or lie in [{MIN_FRACTION:g}, {high:g}], but got {value:g}")
    if value > 1 and value != int(value):
        raise ValueError(f"{name} above 1 must be a whole number (Ray's rule), but got {value:g}")
    return value


class Table1(Strict):
    """The paper's fixed settings (Kurach et al., Table 1)."""

    strategy: Literal["table1"]
    name: str | None = None
    stopping: Stopping | None = None


class RandomSearch(Strict):
    strategy: Literal["random"]
    name: str | None = None
    stopping: Stopping | None = None
    trials: int = Field(gt=0)
    space: Space

    _space = field_validator("space")(_check_space)


class GPSearch(Strict):
    """Gaussian-process bandit in synchronous rounds (the paper: 12 rounds of 10)."""

    strategy: Literal["gp"]
    name: str | None = None
    stopping: Stopping | None = None
    rounds: int = Field(12, gt=0)
    per_round: int = Field(10, gt=0)
    acquisition: Literal["gp_hedge", "EI", "LCB", "PI"] = "EI"
    space: Space

    _space = field_validator("space")(_check_space)

    @property
    def trials(self) -> int:
        return self.rounds * self.per_round


class OptunaSearch(Strict):
    strategy: Literal["optuna"]
    name: str | None = None
    stopping: Stopping | None = None
    trials: int = Field(gt=0)
    per_round: int = Field(10, gt=0)
    sampler: Literal["tpe", "gp"] = "tpe"
    space: Space

    _space = field_validator("space")(_check_space)


SearchEntry = Annotated[Union[Table1, RandomSearch, GPSearch, OptunaSearch], Field(discriminator="strategy")]
STRATEGY_MODELS: dict[str, type[Strict]] = {
    get_args(model.model_fields["strategy"].annotation)[0]: model
    for model in get_args(get_args(SearchEntry)[0])
}
"""Each strategy name (its ``strategy`` literal) → the model of its ``search`` entry."""


class _GridAxes(Strict):
    """Categorical axes; the cells of the study are their product minus ``exclude``."""

    @field_validator("*")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError(f"values must be distinct, but got {v}")
        return v


Grid = create_model(
    "Grid", __base__=_GridAxes, __doc__=_GridAxes.__doc__,
    **{name: (list[str], Field(default_factory=lambda d=axis.default: [d], min_length=1))
       for name, axis in GRID_AXES.items()})
"""The ``grid`` section, one field per axis of :data:`gansweep.gan.specs.GRID_AXES` (its default when left out)."""


class Training(Strict):
    steps: int = Field(2000, gt=0, le=MAX_STEPS, description="generator steps per trial")
    batch_size: int = Field(64, gt=0, le=65_536)
    z_dim: int = Field(64, gt=0, le=65_536)
    eval_every: int = Field(500, gt=0, le=MAX_STEPS)
    width: int = Field(64, gt=0, le=65_536, description="base channel width of the architecture")
    resolution: int | None = Field(None, gt=0, le=4096, description="image size; None: the data set's own")
    prior: Literal[PRIORS] = PRIORS[0]
    timeout: float | None = Field(None, gt=0, le=365 * 86400.0, description="seconds a trial may run before it is stopped")
    options: dict[str, Any] = Field(default_factory=dict, description="architecture options (biggan: ...)")


class Data(Strict):
    """Where real data sets are read from on every node (``gansweep.data.real``)."""

    root: str | None = Field(None, description="data root; None: $GANSWEEP_DATA on each node")

    @field_validator("root")
    @classmethod
    def _absolute(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("/", "~")):
            raise ValueError(f"root must be an absolute path (trials run on other machines), but got {v!r}")
        return v


class Metrics(Strict):
    primary: str | None = None
    samples: int = Field(10_000, ge=2, le=10_000_000, description="a covariance needs two samples")
    extra: list[str] = Field(default_factory=list)
    inception_weights: str | None = None
    options: dict[str, Any] = Field(default_factory=dict, description="evaluator options (is_splits, ...)")


class Resources(Strict):
    gpu: float = Field(0.0, ge=0)
    cpu: float = Field(1.0, gt=0)

    @field_validator("gpu")
    @classmethod
    def _gpu(cls, v: float) -> float:
        return _check_resource(v, "gpu", MAX_GPU)

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, v: float) -> float:
        return _check_resource(v, "cpu", MAX_CPU)


class Failure(Strict):
    max_failures: int = Field(2, ge=0, le=1000)


MAX_CONFIRM = 1000  # configurations per cell, or seeds per configuration: beyond it, a typo


class Confirm(Strict):
    """The confirmation stage (docs/CONFIRM.md): per cell and search entry, the ``top`` configurations
    of the search trained again with ``seeds`` new training seeds each, to the search's training
    length, and scored once on a fresh evaluation of ``samples`` samples (None: the study's
    ``metrics.samples``). Integers are strict: ``top: "3"`` or ``2.5`` is refused, not coerced."""

    top: StrictInt = Field(3, ge=1, le=MAX_CONFIRM, description="configurations confirmed per cell and entry")
    seeds: StrictInt = Field(5, ge=1, le=MAX_CONFIRM, description="new training seeds per configuration")
    samples: StrictInt | None = Field(None, ge=2, le=10_000_000, description="samples of the fresh evaluation")


class Study(Strict):
    name: str
    description: str = Field("", max_length=10_000)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    output: str = "runs"
    grid: Grid = Field(default_factory=Grid)
    data: Data = Field(default_factory=Data)
    exclude: list[dict[str, str | list[str]]] = Field(default_factory=list)
    training: Training = Field(default_factory=Training)
    metrics: Metrics = Field(default_factory=Metrics)
    search: list[SearchEntry] = Field(min_length=1)
    resources: Resources = Field(default_factory=Resources)
    failure: Failure = Field(default_factory=Failure)
    confirm: Confirm | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME_RE.fullmatch(v):
            raise ValueError(f"name must match [a-z0-9_-]{{1,64}}, not starting with '-' (no '/', '.' or spaces), "
                             f"but got {v!r}")
        return v

    @field_validator("output")
    @classmethod
    def _output(cls, v: str) -> str:
        if v.startswith("~"):
            raise ValueError(f"output is used as written, without expanding '~'; give an absolute path, but got {v!r}")
        if not v or len(v) > 1024 or any(ord(c) < 32 or ord(c) == 127 for c in v):
            raise ValueError("output must be a non-empty path of at most 1024 characters without NUL or other control "
                             f"characters (a newline, a tab), but got {v!r}")
        scheme, sep, rest = v.partition("://")
        if sep and (scheme not in ("s3", "gs", "gcs") or not rest.strip("/")):
            raise ValueError(f"output must be a directory, s3://bucket/prefix or gs://bucket/prefix, but got {v!r}")
        return v

    @field_validator("exclude")
    @classmethod
    def _exclude(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for rule in v:
            if not rule:
                raise ValueError("an exclude rule must name at least one axis")
            bad = set(rule) - set(AXES)
            if bad:
                raise ValueError(f"exclude names unknown axis {sorted(bad)[0]!r}; choose from {', '.join(AXES)}")
        return v

    @model_validator(mode="after")
    def _names_unique(self) -> Study:
        seen: set[str] = set()
        for entry in self.search:
            label = entry.name or entry.strategy
            if not SEARCH_NAME_RE.fullmatch(label):
                raise ValueError(f"search name must match [a-z0-9_]{{1,64}}, but got {label!r}")
            if label in seen:
                raise ValueError(f"two search entries are named {label!r}; give one a distinct 'name'")
            seen.add(label)
        return self
