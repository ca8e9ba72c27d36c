"""Expanding a validated study into its plan: cells × search entries × trial indices.

This is also where names are checked against what gansweep implements (the registries), with
errors that name the file and the field, so an unimplemented choice is refused before anything
runs instead of crashing inside a trial.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from dataclasses import dataclass, field, make_dataclass
from typing import Any

from gansweep.data.specs import PATH_PREFIXES, POINTS, dataset_kind
from gansweep.errors import GansweepError, StudyError
from gansweep.gan.specs import ARCH_SPECS, AXES, DEFAULT_HPS, GRID_AXES, PENALTY_SPECS, resolve_options
from gansweep.metrics.checks import EvalOptions, check_metrics
from gansweep.metrics.specs import KEY_IS, KEY_PRECISION, KEY_RECALL, METRICS, default_primary
from gansweep.study.schema import HYPERPARAMETERS, PAPER_HPS, Choice, Range, SearchEntry, Study, Table1
from gansweep.study.stopping import check_stopping

OPTIONAL_HPS = tuple(name for name in HYPERPARAMETERS if name not in PAPER_HPS)
"""Hyperparameters stored as a column (``hp_<name>``) only when some entry's space names them."""


MAX_PART = 64
TRIAL_ID = re.compile(r"[a-z0-9_]{1,64}(?:\.[a-z0-9_]{1,64}){4}-[a-z0-9_]{1,64}-[0-9]{4,8}")
"""The grammar of every trial id a plan makes (``<cell>-<label>-NNNN``): what may become a file name."""
_UNSAFE = re.compile(r"[^a-z0-9_]")
HASH_CHARS = 10  # 40 bits of sha256: a clash among one axis's names is refused by the plan, not merged


def is_trial_id(value: object) -> bool:
    """True when ``value`` is a trial id of the plan grammar: safe to use as a file name.

    Trial ids read back from a study directory (a Parquet row, a CSV) are data someone else may
    have written; only an id of this grammar is ever joined to a path (no ``/``, no ``..``).
    """
    return isinstance(value, str) and TRIAL_ID.fullmatch(value) is not None


def axis_parts(values: list[str]) -> dict[str, str]:
    """Each name of one grid axis → its part of the cell id (``[a-z0-9_]{1,64}``).

    The lower-cased name with every other character made ``_`` (every registered name is its own
    part, so the ids of stored studies do not change), except where that would merge two names
    (``folder:/d/my-set`` and ``folder:/d/my_set``, case, non-ASCII) or exceed the grammar (a long
    path): then a readable prefix and a stable hash of the exact name, so distinct choices stay
    distinct cells. :func:`build_plan` refuses the (deliberately built) clash that could remain.
    """
    plain = {v: _UNSAFE.sub("_", v.lower()) for v in values}
    seen = Counter(plain.values())
    out = {}
    for value, part in plain.items():
        if seen[part] > 1 or len(part) > MAX_PART:
            digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
            part = f"{part[:MAX_PART - HASH_CHARS - 1]}_{digest}"
        out[value] = part
    return out


class _CellMethods:
    """One combination of the categorical axes (one field per axis of
    :data:`gansweep.gan.specs.GRID_AXES`, in its order); ``parts`` (set by :func:`grid_cells`) are
    its id's parts given the whole grid (see :func:`axis_parts`)."""

    @property
    def id(self) -> str:
        parts = self.parts or tuple(axis_parts([getattr(self, a)])[getattr(self, a)] for a in AXES)
        return ".".join(parts)

    def fields(self) -> dict[str, str]:
        return {a: getattr(self, a) for a in AXES}

    @property
    def kind(self) -> str:
        return dataset_kind(self.dataset)


Cell = make_dataclass(
    "Cell", [*((name, str) for name in AXES),
             ("parts", tuple[str, ...] | None, field(default=None, compare=False, repr=False))],
    bases=(_CellMethods,), frozen=True, order=True)
Cell.__module__, Cell.__doc__ = __name__, _CellMethods.__doc__  # pickled by name (Ray ships cells)


@dataclass(frozen=True)
class PlanEntry:
    """One search entry applied to one cell: ``trials`` suggestions, ids ``<cell>-<label>-NNNN``."""

    cell: Cell
    search: SearchEntry
    label: str
    trials: int

    def trial_id(self, index: int) -> str:
        return f"{self.cell.id}-{self.label}-{index:04d}"

    def space(self) -> dict[str, Choice | Range]:
        """The entry's space in this cell: ``penalty_weight`` only where the cell has a penalty."""
        space = dict(getattr(self.search, "space", {}) or {})
        if self.cell.penalty == "none":
            space.pop("penalty_weight", None)
        return space


@dataclass(frozen=True)
class Plan:
    study: Study
    cells: list[Cell]
    entries: list[PlanEntry]

    @property
    def total(self) -> int:
        return sum(e.trials for e in self.entries)

    def trial_ids(self) -> list[str]:
        return [e.trial_id(i) for e in self.entries for i in range(e.trials)]

    def hp_names(self) -> list[str]:
        """Every hyperparameter a trial of this plan may set (columns ``hp_<name>``)."""
        extra = [name for name in OPTIONAL_HPS if any(name in e.space() for e in self.entries)]
        return list(PAPER_HPS) + extra


def grid_cells(study: Study) -> list[Cell]:
    """The study's cells (the grid's product less ``exclude``), each with its id's parts."""
    axes = [getattr(study.grid, a) for a in AXES]
    parts = [axis_parts(values) for values in axes]
    cells = (Cell(*combo, parts=tuple(p[v] for p, v in zip(parts, combo))) for combo in itertools.product(*axes))
    return [c for c in cells if not _excluded(c, study.exclude)]


def _check_ids(study: Study, entries: list[PlanEntry], source: str) -> None:
    """Validate is the one gate: no two choices share a cell id, and every trial id is of the grammar
    (what :func:`is_trial_id` accepts, so stored generators, samples and reports find every trial)."""
    for axis in AXES:
        values = getattr(study.grid, axis)
        owner: dict[str, str] = {}
        for value, part in axis_parts(values).items():
            if part in owner:
                raise StudyError(f"{source}: grid.{axis}: {owner[part]!r} and {value!r} would share the cell id "
                                 f"part {part!r}; rename one of them")
            owner[part] = value
    for e in entries:  # the index's digits: the plan's size cap (gansweep.driver.guard) keeps them below 9
        first = e.trial_id(0)
        if not is_trial_id(first):
            raise StudyError(f"{source}: grid: the trial id {first!r} is outside the id grammar "
                             "([a-z0-9_]{1,64} parts)")


def table1_settings(cell: Cell) -> list[dict[str, float]]:
    """The paper's Table 1 grid: lr × λ (penalised cells only) × (β1, β2, n_disc)."""
    lrs = (2e-4, 1e-4, 1e-3)
    weights = (1.0, 10.0) if cell.penalty != "none" else (None,)
    adam = ((0.5, 0.9, 5), (0.5, 0.999, 1), (0.5, 0.999, 5), (0.9, 0.999, 5))
    out = []
    for lr, lam, (b1, b2, nd) in itertools.product(lrs, weights, adam):
        hp = {"lr": lr, "beta1": b1, "beta2": b2, "n_disc": nd}
        if lam is not None:
            hp["penalty_weight"] = lam
        out.append(hp)
    return out


def entry_trials(entry: SearchEntry, cell: Cell) -> int:
    if isinstance(entry, Table1):
        return len(table1_settings(cell))
    return entry.trials


def resolve_hps(cell: Cell, params: dict[str, Any]) -> dict[str, float]:
    """Complete suggested hyperparameters with defaults; no penalty weight without a penalty."""
    hp = dict(DEFAULT_HPS)
    hp["penalty_weight"] = PENALTY_SPECS[cell.penalty].default_weight
    hp.update(params)
    if cell.penalty == "none":
        hp.pop("penalty_weight", None)
    for name in hp:
        if HYPERPARAMETERS.get(name, (0, 0, False))[2]:  # integers (n_disc, pack) from float draws
            hp[name] = int(round(hp[name]))
    return hp


def _check_names(study: Study, source: str) -> None:
    for axis, specs in ((name, a.specs) for name, a in GRID_AXES.items()):
        for i, name in enumerate(getattr(study.grid, axis)):
            if name in specs:
                continue
            prefix, _, path = name.partition(":")
            if axis == "dataset" and prefix in PATH_PREFIXES and path:
                continue
            raise StudyError(f"{source}: grid.{axis}[{i}]: {specs.unknown_message(name)}")
    _check_options(study, source)
    for i, rule in enumerate(study.exclude):
        for axis, value in rule.items():
            for v in [value] if isinstance(value, str) else value:
                if v not in getattr(study.grid, axis):
                    raise StudyError(f"{source}: exclude[{i}].{axis}: {v!r} is not in grid.{axis} "
                                     f"({', '.join(getattr(study.grid, axis))})")


def _check_options(study: Study, source: str) -> None:
    """``training.options`` against every architecture of the grid: a typo fails here, not in each trial."""
    for arch in study.grid.architecture:
        try:
            resolve_options(arch, study.training.options)
        except GansweepError as exc:
            raise StudyError(f"{source}: training.options: {exc}") from None


def _excluded(cell: Cell, rules: list[dict[str, Any]]) -> bool:
    for rule in rules:
        if all(getattr(cell, a) in ([v] if isinstance(v, str) else v) for a, v in rule.items()):
            return True
    return False


def _check_sample_limits(study: Study, options: Any, source: str) -> None:
    """What the evaluator refuses in every trial (too few samples for IS splits or the k-NN of
    precision/recall), refused here once: validate is the gate."""
    names = {study.metrics.primary, *study.metrics.extra}
    samples = study.metrics.samples
    if KEY_IS in names and options.is_splits > samples:
        raise StudyError(f"{source}: metrics.samples: {samples} is fewer than the IS splits "
                         f"(metrics.options.is_splits: {options.is_splits})")
    if names & {KEY_PRECISION, KEY_RECALL} and samples <= options.prc_neighborhood:
        raise StudyError(f"{source}: metrics.samples: precision/recall need more than "
                         f"k={options.prc_neighborhood} samples (metrics.options.prc_neighborhood), but got {samples}")


def build_plan(study: Study, source: str = "study", weights: bool = True) -> Plan:
    """Check names against the registries and expand the study into cells and entries.

    ``weights``: also require the Inception weights its metrics need (a real run does; a dry run,
    ``status`` and the study-edit check do not)."""
    _check_names(study, source)
    check_stopping(study, source)
    cells = grid_cells(study)
    if not cells:
        raise StudyError(f"{source}: exclude: every cell of the grid is excluded; nothing would run")
    for c in cells:
        if ARCH_SPECS[c.architecture].kind != c.kind:
            fits = ", ".join(a for a, spec in ARCH_SPECS.items() if spec.kind == c.kind)
            want = f"{'a point' if c.kind == POINTS else 'an image'} architecture ({fits})"
            raise StudyError(f"{source}: grid.architecture: {c.architecture!r} cannot train on {c.dataset!r}; "
                             f"{c.dataset} needs {want} (use exclude to drop such cells)")
    primary = study.metrics.primary
    if primary in METRICS and METRICS[primary].higher_is_better:  # an unknown name is refused below
        raise StudyError(f"{source}: metrics.primary: {primary!r} is higher-is-better, but the score is what every "
                         f"searcher minimises and the budget curves rank; choose a lower-is-better metric "
                         f"({', '.join(k for k in METRICS if not METRICS[k].higher_is_better)}) and record "
                         f"{primary} in metrics.extra")

    try:
        options = EvalOptions.from_mapping(study.metrics.options)
    except GansweepError as exc:  # the user's options; anything else is a bug and keeps its traceback
        raise StudyError(f"{source}: metrics.options: {exc}") from None
    _check_sample_limits(study, options, source)

    for c in cells:
        primary = study.metrics.primary or default_primary(c.dataset)
        try:
            check_metrics([primary, *study.metrics.extra], c.kind, study.metrics.inception_weights,
                          dataset_name=c.dataset, weights=weights)
        except StudyError:
            raise
        except GansweepError as exc:  # the user's metrics; anything else is a bug and keeps its traceback
            raise StudyError(f"{source}: metrics: {exc}") from None
    entries = []
    for c in cells:
        for s in study.search:
            entries.append(PlanEntry(c, s, s.name or s.strategy, entry_trials(s, c)))
    _check_ids(study, entries, source)
    return Plan(study, cells, entries)
