"""Early stopping of a search entry, as numbers: where its rungs fall and what it is expected to cost.

Pure arithmetic on the study's settings (no Ray, no torch), shared by the per-cell scheduler
(:mod:`gansweep.driver.scheduler`), which decides, and the cost estimate of ``gansweep validate``
(:mod:`gansweep.study.cost`), which prices a stopping entry by the steps it is expected to use
instead of its full budget.
"""

from __future__ import annotations

import math

from gansweep.errors import StudyError
from gansweep.study.schema import AshaStopping, MedianStopping, NoStopping, Study, Training

MEDIAN_STOPPED_SHARE = 0.5  # the median rule stops about half the trials that reach its first check


def is_active(stopping: AshaStopping | MedianStopping | NoStopping | None) -> bool:
    """Whether an entry's trials can be stopped before ``training.steps``."""
    return stopping is not None and not isinstance(stopping, NoStopping)


def eval_points(training: Training) -> list[int]:
    """Steps at which a trial evaluates (and reports): every ``eval_every`` and at the end."""
    return [*range(training.eval_every, training.steps, training.eval_every), training.steps]


def grace(stopping: AshaStopping | MedianStopping, training: Training) -> int:
    """No trial is stopped before this step: ``grace_steps`` or the first evaluation."""
    return stopping.grace_steps or min(training.eval_every, training.steps)


def asha_rungs(stopping: AshaStopping, training: Training) -> list[float]:
    """Rung milestones in steps, as Tune's ``AsyncHyperBandScheduler`` builds them (one bracket)."""
    g, t, rf = grace(stopping, training), training.steps, stopping.reduction
    count = int(math.log(t / g) / math.log(rf) + 1)
    return [g * rf**k for k in range(count)]


def decision_points(milestones: list[float], training: Training) -> list[int]:
    """The evaluations at which rungs are decided (the first one at or past each milestone), before the end."""
    pts = eval_points(training)
    out = {next(p for p in pts if p >= m) for m in milestones if m <= training.steps}
    return sorted(p for p in out if p < training.steps)


def expected_fraction(stopping: AshaStopping | MedianStopping | NoStopping | None, training: Training) -> float:
    """Expected share of ``training.steps`` a trial of this entry runs (1.0 without stopping).

    ASHA with reduction η lets the best 1/η of the trials at each rung go on: a share η^-k of the
    trials runs from the k-th decision to the next. This is the many-trials limit; the first
    trials to reach a rung are never stopped (nothing to compare them with), so a cell with few
    trials runs somewhat more. The median rule has no closed form: about half of the trials stop
    at its first check and the rest run to the end.
    """
    if not is_active(stopping):
        return 1.0
    t = training.steps
    if isinstance(stopping, AshaStopping):
        points, rf = decision_points(asha_rungs(stopping, training), training), stopping.reduction
    else:
        points, rf = decision_points([grace(stopping, training)], training), 1 / (1 - MEDIAN_STOPPED_SHARE)
    if not points:
        return 1.0
    steps, share = float(points[0]), 1.0
    for here, there in zip(points, [*points[1:], t]):
        share /= rf
        steps += share * (there - here)
    return steps / t


def check_stopping(study: Study, source: str) -> None:
    """A rung at or past the last step could never stop anything: refused, with the field named."""
    for i, entry in enumerate(study.search):
        grace_steps = getattr(entry.stopping, "grace_steps", None)
        if grace_steps is not None and grace_steps >= study.training.steps:
            raise StudyError(f"{source}: search[{i}].stopping.grace_steps: must be below training.steps "
                             f"({study.training.steps}), but got {grace_steps}")
