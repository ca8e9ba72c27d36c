"""What a trial reports: one typed result, and its one conversion to and from Tune's flat dict.

Tune, its schedulers, searchers and checkpoints carry plain dicts (a report's keys are what a
scheduler decides on and what the tracking callbacks read), so the dict stays the wire format:
the worker builds a :class:`TrialResult` and reports :meth:`TrialResult.to_tune`; the driver's
readers (the store callback, the progress line, the searcher) read :meth:`TrialResult.from_tune`
by attribute. The dict's keys and values are those gansweep always reported, so results of
trials reported by an older gansweep (in Tune's state, in a final checkpoint) read unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gansweep.status import Status

TIME_ATTR = "step"  # the time axis of every report (each evaluation record's step)


@dataclass(frozen=True)
class TrialResult:
    """A trial's result: final (``final``: its last report) or an evaluation's progress (``running``).

    ``evals``: the evaluation records so far, each ``{"step", "seconds", <metric>: value, <loss>…}``;
    ``score``: the best primary value among them (NaN: none finite); ``best_step``: its step.
    ``steps``/``train_seconds``: where training ended (a progress report: its last evaluation's)."""

    status: Status
    score: float = math.nan
    best_step: int | None = None
    steps: int | None = None
    train_seconds: float | None = None
    evals: tuple[dict[str, Any], ...] = ()
    error: str | None = None
    final: bool = False

    def to_tune(self) -> dict[str, Any]:
        """The dict reported to Tune: the last evaluation's keys (its metric, ``step``) flattened in."""
        out = {**(self.evals[-1] if self.evals else {}), "score": self.score, "best_step": self.best_step,
               "status": self.status}
        if not self.final:
            return {**out, "evals": list(self.evals)}
        return {**out, "steps": self.steps, "train_seconds": self.train_seconds, "evals": list(self.evals),
                "error": self.error, "final": True}

    @classmethod
    def from_tune(cls, result: Mapping[str, Any] | None) -> TrialResult | None:
        """The result a Tune report holds (None: none). A report that is not final (an evaluation's,
        or one Tune made up) is ``steps``/``train_seconds`` at its own ``step``/``seconds``."""
        if not result:
            return None
        final = bool(result.get("final"))
        return cls(status=Status(result.get("status", Status.FAILED)), score=result.get("score", math.nan),
                   best_step=result.get("best_step"),
                   steps=result.get("steps") if final else result.get(TIME_ATTR),
                   train_seconds=result.get("train_seconds") if final else result.get("seconds"),
                   evals=tuple(result.get("evals") or ()), error=result.get("error"), final=final)

    @classmethod
    def ended(cls, result: Mapping[str, Any] | None) -> TrialResult | None:
        """The final result of an ended trial from its last report (:func:`stopped_result`)."""
        return cls.from_tune(stopped_result(result))


def stopped_result(result: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """A trial's final report when a scheduler stopped it, else ``result`` unchanged (a dict: the
    tracking callbacks read it as Tune's).

    A stopped trial's last result is an evaluation report (``evals`` so far, no ``final``); it is
    stored ``stopped`` with the score, steps and seconds of the evaluations it ran.
    """
    if not result or result.get("final") or result.get("evals") is None:
        return result
    return {**result, "status": Status.STOPPED, "steps": result.get(TIME_ATTR), "train_seconds": result.get("seconds"),
            "error": None, "final": True}
