"""The contract every per-cell search strategy follows.

The composite Ray Tune searcher (:mod:`gansweep.search.composite`) owns one ``CellSearcher`` per
(cell, search entry). A strategy hands out suggestions by index, is told each result, and
serialises its state so ``gansweep resume`` continues exactly where it stopped. Call order:
``ask`` until it returns ``None`` (wait) or :data:`DONE`; ``tell`` once per asked index, in any
order; ``get_state``/``set_state`` at any moment between calls.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

DONE = "DONE"


@dataclass(frozen=True)
class Suggestion:
    index: int
    params: dict[str, float]
    round: int | None = None
    # who actually drew it when not the strategy itself (a failed GP round's random fallback and why)
    fallback: str | None = None


class CellSearcher(ABC):
    """Suggests hyperparameters for one cell; scores are minimised, failures are ``inf``."""

    def __init__(self, trials: int, seed: int) -> None:
        self.trials = trials
        self.seed = seed

    @abstractmethod
    def ask(self) -> Suggestion | None | str:
        """The next suggestion, ``None`` while waiting for results, or :data:`DONE`."""

    def tell(self, index: int, score: float) -> None:
        """The result of suggestion ``index``; ``math.inf`` for diverged or failed trials."""

    def close(self) -> None:
        """Release background resources (threads)."""

    @abstractmethod
    def get_state(self) -> dict[str, Any]: ...

    @abstractmethod
    def set_state(self, state: dict[str, Any]) -> None: ...


def clean_score(score: float | None) -> float:
    """Scores as searchers see them: NaN / None / non-finite → +inf (spent budget, found nothing)."""
    if score is None or not math.isfinite(score):
        return math.inf
    return float(score)


class ListSearcher(CellSearcher):
    """Hands out a precomputed list in order (table1, random search)."""

    def __init__(self, suggestions: list[dict[str, float]], seed: int = 0) -> None:
        super().__init__(len(suggestions), seed)
        self._suggestions = suggestions
        self._next = 0

    def ask(self) -> Suggestion | None | str:
        if self._next >= len(self._suggestions):
            return DONE
        s = Suggestion(self._next, dict(self._suggestions[self._next]))
        self._next += 1
        return s

    def get_state(self) -> dict[str, Any]:
        return {"next": self._next}

    def set_state(self, state: dict[str, Any]) -> None:
        self._next = int(state["next"])
