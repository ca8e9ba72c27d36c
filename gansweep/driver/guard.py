"""Checks that stop a mistake before a GPU is spent.

Three questions, each answered with one clear line (and a short diff where it helps):

* Where does the study write? Never into gansweep's own source, the Python installation or a
  system directory (:func:`gansweep.store.studydir.check_output_path`, a rule of the study directory).
* How big is the plan? Above :data:`MAX_TRIALS` only with ``--yes``; above
  :data:`HARD_MAX_TRIALS` never (:func:`check_plan_size`).
* Is a resumed study still the study that was planned? ``study.yaml`` may be edited between
  ``run`` and ``resume``; :func:`check_resumable` accepts the changes that leave every planned
  trial as it was (more trials or rounds, new cells or search entries, time limits, resources,
  retries, the description) and refuses the others with a diff.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gansweep.errors import GansweepError, StudyError
from gansweep.lock import STUDY_FILE
from gansweep.study.schema import Study

MAX_TRIALS = 100_000
HARD_MAX_TRIALS = 10_000_000


# -- how big a plan may be -----------------------------------------------------------------------

def check_plan_size(total: int, source: str, yes: bool = False) -> None:
    """Refuse a plan above :data:`MAX_TRIALS` trials unless ``yes``; above :data:`HARD_MAX_TRIALS` always."""
    if total > HARD_MAX_TRIALS:
        raise StudyError(f"{source}: the plan has {total:,} trials, more than gansweep can run in one study "
                         f"({HARD_MAX_TRIALS:,}); lower search[*].trials / rounds or split the grid")
    if total > MAX_TRIALS and not yes:
        raise StudyError(f"{source}: the plan has {total:,} trials, more than {MAX_TRIALS:,}; check "
                         "search[*].trials and rounds, or pass --yes to run it anyway")


# -- has the study changed since it was planned? -------------------------------------------------

ABSENT = object()


@dataclass(frozen=True)
class Change:
    """One difference between the planned study and the study file now."""

    path: str
    old: Any
    new: Any
    safe: bool
    why: str

    def __str__(self) -> str:
        mark = "  " if self.safe else "! "
        return f"{mark}{self.path}: {_show(self.old)} -> {_show(self.new)} ({self.why})"


def _show(value: Any) -> str:
    if value is ABSENT:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _label(entry: dict[str, Any]) -> str:
    return entry.get("name") or entry["strategy"]


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k in sorted(value):
            _flatten(value[k], f"{prefix}.{k}" if prefix else str(k), out)
    else:
        out[prefix] = value


def flat_study(study: Study) -> dict[str, Any]:
    """``field.path → value``; search entries keyed by their label, lists kept whole."""
    data = study.model_dump(mode="json")
    search = data.pop("search")
    out: dict[str, Any] = {}
    _flatten(data, "", out)
    for entry in search:
        _flatten(entry, f"search[{_label(entry)}]", out)
    return out


SAFE_FIELDS = {
    "description": "cosmetic",
    "output": "the directory is given to resume",
    "training.timeout": "a time limit, not what a trial computes",
    "resources.cpu": "where trials run, not what they compute",
    "resources.gpu": "where trials run, not what they compute",
    "failure.max_failures": "how often a failed trial is retried",
}
GROWING_FIELDS = ("trials", "rounds")


def _entry_of(path: str) -> str | None:
    return path[len("search["):path.index("]")] if path.startswith("search[") else None


def study_changes(old: Study, new: Study) -> list[Change]:
    """Every changed field, classified safe (planned trials unchanged) or not."""
    a, b = flat_study(old), flat_study(new)
    old_entries = {_entry_of(k) for k in a if _entry_of(k)}
    new_entries = {_entry_of(k) for k in b if _entry_of(k)}
    changes: list[Change] = []
    grid_changed = False
    for path in sorted(set(a) | set(b)):
        o, n = a.get(path, ABSENT), b.get(path, ABSENT)
        if o == n:
            continue
        entry = _entry_of(path)
        field = path.rsplit(".", 1)[-1]
        if path in SAFE_FIELDS:
            changes.append(Change(path, o, n, True, SAFE_FIELDS[path]))
        elif path == "confirm" or path.startswith("confirm."):
            changes.append(Change(path, o, n, True, "the confirmation stage; the search's trials stay the same"))
        elif path.startswith(("grid.", "exclude")):
            grid_changed = True
            changes.append(Change(path, o, n, True, "cells"))  # decided below, on the cells
        elif entry is not None and entry not in old_entries:
            changes.append(Change(path, o, n, True, "a new search entry"))
        elif entry is not None and entry not in new_entries:
            changes.append(Change(path, o, n, False, "a search entry removed: its stored trials would "
                                                     "fall outside the plan"))
        elif path in (f"search[{entry}].{g}" for g in GROWING_FIELDS) and isinstance(o, int) \
                and isinstance(n, int):
            if n > o:
                changes.append(Change(path, o, n, True, f"more {field}; the first {o} stay the same"))
            else:
                changes.append(Change(path, o, n, False, f"fewer {field}: stored trials would fall outside "
                                                         "the plan"))
        elif entry is not None:
            changes.append(Change(path, o, n, False, "changes the trials this search suggests"))
        elif path == "seed":
            changes.append(Change(path, o, n, False, "changes every trial's seed"))
        elif path == "name":
            changes.append(Change(path, o, n, False, "the study's name"))
        elif path.startswith("training."):
            changes.append(Change(path, o, n, False, "changes how every trial trains"))
        elif path.startswith("metrics."):
            changes.append(Change(path, o, n, False, "stored trials were evaluated with the old metrics"))
        else:
            changes.append(Change(path, o, n, False, "changes planned trials"))
    if grid_changed:
        before, after = _cells(old), _cells(new)
        lost = set(before) - set(after)
        renamed = sorted(i for i in lost if before[i] in after.values())
        verdict = (True, "adds cells; the existing cells stay the same") if not lost else \
            (False, f"renames {len(renamed)} cell(s), e.g. {renamed[0]}: a new name reads like an existing one "
                    "once lower-cased and made [a-z0-9_], so both get hashed ids") if renamed else \
            (False, f"removes {len(lost)} cell(s), e.g. {sorted(lost)[0]}")
        changes = [Change(c.path, c.old, c.new, *verdict) if c.why == "cells" else c for c in changes]
    return changes


def _cells(study: Study) -> dict[str, tuple[str, ...]]:
    """The study's cell ids → the choices each stands for."""
    from gansweep.study.plan import grid_cells
    from gansweep.gan.specs import AXES

    return {c.id: tuple(getattr(c, a) for a in AXES) for c in grid_cells(study)}


def _plan_problems(old: Study, new: Study) -> list[Change]:
    """What only the plans show: trials falling out of the plan, store columns changing."""
    from gansweep.study import build_plan
    from gansweep.trial.settings import metric_columns

    try:
        old_plan = build_plan(old, "planned study", weights=False)
    except GansweepError:
        return []  # this gansweep can no longer plan the old study; the field diff decides
    new_plan = build_plan(new, "study", weights=False)
    out: list[Change] = []
    lost = set(old_plan.trial_ids()) - set(new_plan.trial_ids())
    if lost:
        out.append(Change("plan", f"{old_plan.total} trials", f"{new_plan.total} trials", False,
                          f"{len(lost)} planned trial(s) would fall outside it, e.g. {sorted(lost)[0]}"))
    for what, before, after in (("store metric columns", metric_columns(old_plan), metric_columns(new_plan)),
                                ("store hp columns", old_plan.hp_names(), new_plan.hp_names())):
        if list(before) != list(after):
            out.append(Change(what, list(before), list(after), False,
                              "the stored results' columns would change"))
    return out


def check_resumable(old: Study, new: Study, source: str = STUDY_FILE) -> list[Change]:
    """The changes from ``old`` (as planned) to ``new``; :class:`StudyError` with a diff if one is unsafe.

    Safe: the description, the output, ``training.timeout``, ``resources``, ``failure``, more
    ``trials``/``rounds`` in a search entry (draws are prefix-stable), a new search entry, new
    cells. Anything that changes a trial already planned (its seed, hyperparameters, training,
    metrics), drops planned trials, or changes the store's columns is refused.
    """
    changes = study_changes(old, new)
    if changes:
        changes += _plan_problems(old, new)
    unsafe = [c for c in changes if not c.safe]
    if unsafe:
        shown = unsafe + [c for c in changes if c.safe]
        lines = [str(c) for c in shown[:12]]
        if len(shown) > 12:
            lines.append(f"  ... and {len(shown) - 12} more")
        raise StudyError(f"{source}: changed since the study was planned, in ways that change planned trials; "
                         "undo the changes marked '!' (or start a new study):\n" + "\n".join(lines))
    return changes
