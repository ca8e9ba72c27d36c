"""Off-thread rounds: the shared executor and the base class of round-based searchers (gp, optuna).

Ray Tune calls ``suggest`` and ``on_trial_complete`` on its controller thread; a GP round of 10
suggestions costs seconds (shared/RAY-NOTES.md). Searchers submit the round's computation here
when its last result arrives and answer ``None`` until the future is done, so the controller
keeps serving other cells. The computation is a pure function of plain data (seed, round,
results), which makes a round reproducible after a restore and lets it run in a process pool.

One small executor is shared by every searcher in the process:

- ``GANSWEEP_SEARCH_WORKERS``: worker count (default: half the cores, 1 to 4);
- ``GANSWEEP_SEARCH_EXECUTOR``: ``thread`` (default) or ``process`` (spawned processes: no GIL
  contention with the controller, at the price of a second or two to start each worker).

While a job runs, BLAS is limited to one thread: on a small driver machine, multi-threaded
OpenBLAS on 100×100 matrices is pure contention (a skopt round measured 4× slower with it).
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from typing import Any, TypeVar

import numpy as np

from gansweep import env
from gansweep.search.base import DONE, CellSearcher, Suggestion, clean_score
from gansweep.search.space import is_integer, sample
from gansweep.study.schema import Choice, Range

log = logging.getLogger(__name__)

R = TypeVar("R")

_lock = threading.Lock()
_executor: Executor | None = None
_active = 0
_limiter: Any = None


def workers() -> int:
    n = env.get("GANSWEEP_SEARCH_WORKERS")
    return n if n is not None else max(1, min(4, (os.cpu_count() or 2) // 2))


def executor() -> Executor:
    """The shared executor, created on first use."""
    global _executor
    with _lock:
        if _executor is None:
            kind = env.get("GANSWEEP_SEARCH_EXECUTOR")
            if kind == "thread":
                _executor = ThreadPoolExecutor(workers(), thread_name_prefix="gansweep-search")
            elif kind == "process":
                import multiprocessing

                _executor = ProcessPoolExecutor(workers(), mp_context=multiprocessing.get_context("spawn"))
        return _executor


def submit(fn: Callable[..., R], /, *args: Any) -> Future[R]:
    """Run ``fn(*args)`` in the shared executor (``fn`` must be picklable for ``process``)."""
    return executor().submit(_limited, fn, *args)


def _limited(fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)`` with BLAS on one thread while any job runs (reference-counted, process-wide)."""
    global _active, _limiter
    with _lock:
        if _active == 0:
            try:
                from threadpoolctl import threadpool_limits

                _limiter = threadpool_limits(1)
            except Exception:  # pragma: no cover - threadpoolctl missing or unsupported BLAS
                _limiter = None
        _active += 1
    try:
        return fn(*args)
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None


def shutdown() -> None:
    """Stop the shared executor (queued jobs are cancelled; a running one finishes)."""
    global _executor
    with _lock:
        ex, _executor = _executor, None
    if ex is not None:
        ex.shutdown(wait=False, cancel_futures=True)


atexit.register(shutdown)


# -- what every round's computation needs -------------------------------------------------------
def round_seed(seed: int, round_: int) -> int:
    """An independent 31-bit seed per (searcher seed, round)."""
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, round_]).generate_state(1)[0] >> 1)


def finite_scores(scores: list[float]) -> np.ndarray:
    """+inf (diverged, failed) → the worst finite score plus half the spread (≥ 1); all inf → 0."""
    y = np.asarray(scores, dtype=float)
    bad = ~np.isfinite(y)
    if bad.all():
        return np.zeros_like(y)
    if bad.any():
        good = y[~bad]
        worst = float(good.max())
        y[bad] = worst + max(0.5 * (worst - float(good.min())), 0.1 * abs(worst), 1.0)
    return y


def split_space(space: dict[str, Choice | Range]) -> tuple[dict[str, Choice | Range], dict[str, float]]:
    """Dimensions to optimise, and those with a single possible value (constants)."""
    free: dict[str, Choice | Range] = {}
    fixed: dict[str, float] = {}
    for name, dim in space.items():
        if isinstance(dim, Choice) and len(dim.choices) == 1:
            fixed[name] = float(dim.choices[0])
        elif isinstance(dim, Range) and is_integer(name) and math.ceil(dim.low) == math.floor(dim.high):
            fixed[name] = float(math.ceil(dim.low))
        else:
            free[name] = dim
    return free, fixed


# -- the bookkeeping every round-based searcher shares ------------------------------------------
RoundJob = Callable[..., "tuple[list[dict[str, float]], dict[str, Any]]"]


class RoundSearcher(CellSearcher):
    """Synchronous rounds computed off-thread; subclasses say how one round is computed.

    Round ``r`` holds indices ``[r·per_round, (r+1)·per_round)`` (the last round may be short).
    It is computed once every result of the rounds before it is known, by :meth:`round_job`, a
    pure function of (seed, round, earlier results in index order, ``extra``): the order results
    arrive in, a restore or a pickle round-trip never change a suggestion. ``ask`` answers
    ``None`` while the round is pending and never waits for it.

    State: every suggestion computed so far (handed out or not), how many were handed out, the
    told scores (``None`` for +inf) and ``extra`` (what a strategy carries from round to round).
    A round being computed at save time is recomputed after the restore, with the same result.
    """

    STATE_VERSION = 1
    FALLBACK_SALT = 0  # each strategy its own stream of fallback draws

    def __init__(self, space: dict[str, Choice | Range], trials: int, per_round: int, seed: int) -> None:
        if trials < 1 or per_round < 1:
            raise ValueError(f"trials and per_round must be >= 1, but got trials={trials}, per_round={per_round}")
        super().__init__(trials, seed)
        self.space = dict(space)
        self.per_round = per_round
        self.rounds = -(-trials // per_round)
        self._points: list[dict[str, float]] = []
        self._next = 0
        self._scores: dict[int, float] = {}
        self._extra: dict[str, Any] = {}
        self._future: Future | None = None
        self._future_round = -1
        self._fallbacks: dict[int, str] = {}  # round -> why its computation failed (drawn at random)

    # -- what a strategy provides ---------------------------------------------------------------
    def round_job(self, round_: int, size: int, params: list[dict[str, float]], scores: list[float],
                  extra: dict[str, Any]) -> tuple[RoundJob, tuple[Any, ...]]:
        """``(fn, args)``: ``fn(*args)`` returns the round's ``size`` suggestions and the new ``extra``.

        ``scores`` may hold +inf; ``fn`` must be picklable and depend on its arguments only.
        """
        raise NotImplementedError

    def fallback(self, round_: int, size: int) -> list[dict[str, float]]:
        """Suggestions for a round whose computation raised: seeded random draws."""
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, round_, self.FALLBACK_SALT])
        return [sample(self.space, rng) for _ in range(size)]

    # -- CellSearcher ---------------------------------------------------------------------------
    def ask(self) -> Suggestion | None | str:
        if self._next >= self.trials:
            return DONE
        self._poll()
        if self._next < len(self._points):
            i = self._next
            self._next += 1
            r = i // self.per_round
            return Suggestion(i, dict(self._points[i]), round=r, fallback=self._fallbacks.get(r))
        self._maybe_start()
        return None

    def tell(self, index: int, score: float) -> None:
        if not 0 <= index < self._next:
            raise ValueError(f"tell({index}): index {index} was never suggested (0..{self._next - 1} were)")
        if index in self._scores:  # a repeated result: the first one is the truth
            return
        self._scores[index] = clean_score(score)
        self._maybe_start()

    def close(self) -> None:
        if self._future is not None:
            self._future.cancel()
        self._future, self._future_round = None, -1

    def get_state(self) -> dict[str, Any]:
        self._poll()
        return {
            "version": self.STATE_VERSION,
            "round": self.round,  # informative; restored from points and next
            "points": [dict(p) for p in self._points],
            "next": self._next,
            "scores": [[i, s if math.isfinite(s) else None] for i, s in sorted(self._scores.items())],
            "extra": self._extra,
            "fallbacks": {str(r): why for r, why in sorted(self._fallbacks.items())},
        }

    def set_state(self, state: dict[str, Any]) -> None:
        if state.get("version") != self.STATE_VERSION:
            raise ValueError(f"{type(self).__name__} state version {state.get('version')!r} is not "
                             f"{self.STATE_VERSION}; it was saved by another version of gansweep")
        points = [{str(k): float(v) for k, v in p.items()} for p in state["points"]]
        nxt = int(state["next"])
        if not 0 <= nxt <= len(points) <= self.trials:
            raise ValueError(f"inconsistent {type(self).__name__} state: next={nxt}, "
                             f"{len(points)} suggestions, {self.trials} trials")
        self.close()
        self._points = points
        self._next = nxt
        self._scores = {int(i): math.inf if s is None else float(s) for i, s in state["scores"]}
        self._extra = dict(state.get("extra") or {})
        # a state saved before fallbacks were kept has none: its rounds read as the strategy's own
        self._fallbacks = {int(r): str(why) for r, why in (state.get("fallbacks") or {}).items()}
        self._maybe_start()

    # -- helpers --------------------------------------------------------------------------------
    @property
    def round(self) -> int:
        """The round being handed out (or computed next)."""
        return min(self._next, self.trials) // self.per_round

    def pending(self) -> bool:
        """Whether a round is being computed in the background."""
        return self._future is not None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the next round is computed (starting it if it can); for tests and benchmarks.

        True when nothing is left computing. Never call it from Tune's controller thread.
        """
        self._poll()
        if self._next >= len(self._points):
            self._maybe_start()
        if self._future is not None:
            wait([self._future], timeout)
        self._poll()
        return self._future is None

    def _round_size(self, r: int) -> int:
        return min(self.per_round, self.trials - r * self.per_round)

    def _maybe_start(self) -> None:
        """Start computing the next round once every result before it is known."""
        r = len(self._points) // self.per_round
        if r >= self.rounds or self._next < len(self._points) or self._future_round == r:
            return
        start = r * self.per_round
        if any(i not in self._scores for i in range(start)):
            return
        fn, args = self.round_job(r, self._round_size(r), [dict(p) for p in self._points[:start]],
                                  [self._scores[i] for i in range(start)], dict(self._extra))
        self._future, self._future_round = submit(fn, *args), r

    def _poll(self) -> None:
        f = self._future
        if f is None or not f.done():
            return
        r = self._future_round
        self._future, self._future_round = None, -1
        if f.cancelled() or len(self._points) != r * self.per_round:
            return
        size = self._round_size(r)
        try:
            points, extra = f.result()
            if len(points) != size:
                raise RuntimeError(f"round {r} returned {len(points)} suggestions instead of {size}")
        except Exception as exc:  # a failed fit must not stop the study
            log.warning("%s: computing round %d failed (%s: %s); drawing it at random",
                        type(self).__name__, r, type(exc).__name__, exc)
            self._fallbacks[r] = f"{type(exc).__name__}: {exc}"[:300]
            points, extra = self.fallback(r, size), self._extra
        self._points.extend(points)
        self._extra = extra

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_future"], state["_future_round"] = None, -1  # recomputed on the next ask
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_fallbacks", {})  # pickled before fallbacks were kept
