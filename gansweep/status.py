"""A trial's status: the one list of the values ``results/trials.status`` holds, and their meaning.

The lowest layer (imports nothing of gansweep), so the trial, the searchers, the driver, the store and
the analysis all name a status one way. The values are the strings stored in Parquet since the first
study: a member compares and hashes as its string, so stored rows and old studies read unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How a trial ended (``running``: in an evaluation's progress report only, never stored)."""

    COMPLETED = "completed"
    STOPPED = "stopped"  # ended early by its cell's scheduler, scored at what it reached
    DIVERGED = "diverged"  # losses or the primary metric went non-finite: spent budget, found nothing
    FAILED = "failed"  # raised, crashed or ended without a final result
    RUNNING = "running"


FINAL: tuple[Status, ...] = (Status.COMPLETED, Status.STOPPED, Status.DIVERGED, Status.FAILED)
"""The statuses a stored row may hold, in the order tables list them."""
SCORED: tuple[Status, ...] = (Status.COMPLETED, Status.STOPPED)
"""Statuses whose score is a kept generator's: a ``stopped`` trial's is the best it reached before
a stopping rule of its cell ended it (budget curves, searchers, ``status`` and the report count it
as found). Every other final status counts as +inf: it spent budget and found nothing."""
UNSCORED: tuple[Status, ...] = tuple(s for s in FINAL if s not in SCORED)
"""Final statuses without a score (``diverged``, ``failed``)."""
