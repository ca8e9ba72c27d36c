"""Statistical verdicts between cells: P(A beats B at budget k), its bootstrap interval, a verdict.

Why this module exists: budget curves say how good a cell gets with k trials, not how sure we are
that one cell beats another. For two cells A and B of one data set and strategy, with their trials'
scores (lower is better; diverged, failed and unscored trials count as +inf exactly as in
:mod:`gansweep.analysis.budget`), this computes

    p = P(best of k drawn from A < best of k drawn from B) + 1/2 P(equal)

exactly, with the same order statistics as the budget curves: sort a cell's n scores; the best of
k drawn without replacement is > x_(j) with probability T(j) = C(n-j, k) / C(n, k), so

    P(best_A = a_(i)) = T_A(i-1) - T_A(i)  (by position; tied positions sum to the value's mass)
    p = sum_i P(best_A = a_(i)) * 1/2 [T_B(#{b <= a_i}) + T_B(#{b < a_i})].

Ties (two +inf among them) count one half, so P(A beats B) + P(B beats A) = 1.

The uncertainty from the finite number of trials is a bootstrap over each cell's trials: a
resample is a vector of multinomial counts over the cell's sorted scores, and the same formula
holds with cumulative counts in place of positions, so all resamples of a pair are one gather and
one multiply over an (R x n) array (no Python loop over resamples). The interval is the percentile
interval of the resampled p. A pair is "A better" when the whole interval lies above 1/2, "B
better" when below, else "not resolved by N trials"; for those, the number of further trials per
cell that would likely resolve it assumes the interval shrinks as 1/sqrt(N) around the estimate.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from gansweep.analysis.budget import _log_factorials, _metric_values

RESAMPLES = 1000
LEVEL = 0.95
VERDICT_COLUMNS = ["dataset", "strategy", "cell_a", "cell_b", "k", "n_a", "n_b", "p_a_beats_b",
                   "lo", "hi", "verdict", "more_trials_per_cell", "metric"]
A_BETTER, B_BETTER = "A better", "B better"
_NEGLIGIBLE = 1e-15  # survival below this is 0: it moves no probability by more than ~1e-13


def _survival_table(lf: np.ndarray, n: int, k: int) -> np.ndarray:
    """T(j) = C(n-j, k) / C(n, k) for j = 0..n: P(best of k > x_(j)) (0 once n - j < k)."""
    j = np.arange(n + 1)
    rest = n - j
    out = np.zeros(n + 1)
    ok = rest >= k
    r = rest[ok]
    out[ok] = np.exp((lf[r] - lf[r - k]) - (lf[n] - lf[n - k]))
    return out


def budgets_for(n_full: int) -> list[int]:
    """Budgets reported by default: 1, 2, 5, 10, 20, 50, ... below the full budget, and the full one."""
    ks = []
    for decade in range(0, 12):
        for m in (1, 2, 5):
            k = m * 10 ** decade
            if k < n_full:
                ks.append(k)
    return ks + [n_full] if n_full >= 1 else []


class _Cell:
    """One cell's sorted scores and the cumulative counts of the exact sample (row 0) and resamples."""

    def __init__(self, scores: np.ndarray, resamples: int, rng: np.random.Generator) -> None:
        self.x = np.sort(np.asarray(scores, dtype=np.float64))
        n = self.n = len(self.x)
        counts = np.ones((1, n), dtype=np.int32)
        if resamples:
            # n draws with replacement per resample, counted per position (a multinomial sample;
            # one bincount over offset draws is ~10x faster than Generator.multinomial here)
            draws = rng.integers(0, n, size=(resamples, n)) + (np.arange(resamples) * n)[:, None]
            drawn = np.bincount(draws.ravel(), minlength=resamples * n).reshape(resamples, n)
            counts = np.vstack([counts, drawn.astype(np.int32)])
        self.cum = np.zeros((counts.shape[0], n + 1), dtype=np.int32)
        np.cumsum(counts, axis=1, out=self.cum[:, 1:])
        self._floor = self.cum[:, :-1].min(axis=0)  # per position, the fewest scores below it in any row
        self._mass: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def mass(self, lf: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """P(best of k sits at sorted position i): the exact sample's (float64, ``(w,)``) and the
        resamples' (float32, ``(R x w)``: an interval needs no more, and half the memory traffic
        is half the time)."""
        if k not in self._mass:
            t = _survival_table(lf, self.n, k)
            t[t < _NEGLIGIBLE] = 0.0
            # positions past the last that any row can still reach carry no mass: cut them off
            # (T is 0 past its last positive entry, and the counts only grow along a row)
            positive = np.flatnonzero(t > 0.0)
            w = max(1, int(np.searchsorted(self._floor, positive[-1], side="right"))) if positive.size else 1
            tc = t[self.cum[:, :w + 1]]
            m = tc[:, :-1] - tc[:, 1:]
            self._mass[k] = (m[0], m[1:].astype(np.float32))
        return self._mass[k]


def _survival_rows(b: _Cell, lf: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """T_B(cumulative count up to each position) per row: the exact sample's (float64) and the
    resamples' (float32, ``R x (n+1)``); computed once per cell and budget, shared by its pairs."""
    t = _survival_table(lf, b.n, k)
    return t[b.cum[0]], t.astype(np.float32)[b.cum[1:]]


def _pair_at(a: _Cell, sb: tuple[np.ndarray, np.ndarray], le: np.ndarray, lt: np.ndarray | None,
             lf: np.ndarray, k: int) -> np.ndarray:
    """p_a_beats_b at budget k for every row (row 0: the exact estimate): ``(rows,)``.

    ``sb`` is B's :func:`_survival_rows`; ``le``/``lt`` the number of B's sorted scores <= / <
    each of A's; the sum over A's positions is a column gather and one product per row.
    """
    s0_all, s_all = sb
    m0, m = a.mass(lf, k)
    w = m0.shape[0]
    s0, s = s0_all[le[:w]], np.take(s_all, le[:w], axis=1)
    if lt is not None:  # ties count one half: average with "strictly below" where they differ
        tied = np.flatnonzero(le[:w] != lt[:w])
        s0[tied] = 0.5 * (s0[tied] + s0_all[lt[tied]])
        s[:, tied] = np.float32(0.5) * (s[:, tied] + np.take(s_all, lt[tied], axis=1))
    out = np.empty(m.shape[0] + 1)
    out[0] = m0 @ s0
    out[1:] = np.einsum("ri,ri->r", m, s)
    return out


def _ranks(a: _Cell, b: _Cell) -> tuple[np.ndarray, np.ndarray | None]:
    le = np.searchsorted(b.x, a.x, side="right")
    lt = np.searchsorted(b.x, a.x, side="left")
    return le, (None if np.array_equal(le, lt) else lt)


def _pair(a: _Cell, b: _Cell, ks: Sequence[int], lf: np.ndarray) -> np.ndarray:
    """p_a_beats_b for every resample row (row 0: the exact estimate) and budget: (len(ks) x rows)."""
    le, lt = _ranks(a, b)
    return np.stack([_pair_at(a, _survival_rows(b, lf, k), le, lt, lf, k) for k in ks])


def p_beats(a: Sequence[float], b: Sequence[float], k: int, higher_is_better: bool = False) -> float:
    """Exact P(best of k drawn from ``a`` beats best of k drawn from ``b``), ties counting 1/2.

    NaN scores count as failures (+inf, or -inf when higher is better). ``k`` is at most the
    size of the smaller sample.
    """
    va, vb = (_clean(np.asarray(v, dtype=np.float64), higher_is_better) for v in (a, b))
    if not 1 <= k <= min(len(va), len(vb)):
        raise ValueError(f"k={k} must lie in 1..{min(len(va), len(vb))} (the smaller cell's size)")
    rng = np.random.default_rng(0)
    lf = _log_factorials(max(len(va), len(vb)))
    return float(_pair(_Cell(va, 0, rng), _Cell(vb, 0, rng), [k], lf)[0, 0])


def _clean(v: np.ndarray, higher_is_better: bool) -> np.ndarray:
    v = -v if higher_is_better else v.copy()
    v[np.isnan(v)] = np.inf
    return v


def resolution(p: float, lo: float, hi: float, n: int) -> tuple[str | None, float]:
    """``(A_BETTER or B_BETTER, nan)`` when the interval ``lo..hi`` of P(A beats B) excludes 0.5;
    else ``(None, about how many more of the n draws would resolve it)`` (the interval's half-width
    shrinks as 1/√n; nan when p is 0.5 or the interval a point)."""
    if lo > 0.5:
        return A_BETTER, math.nan
    if hi < 0.5:
        return B_BETTER, math.nan
    gap, half = abs(p - 0.5), (hi - lo) / 2
    if gap == 0 or half == 0:
        return None, math.nan
    return None, float(max(1, math.ceil(n * (half / gap) ** 2 - n)))


def _verdict(p: float, lo: float, hi: float, n: int) -> tuple[str, float]:
    label, more = resolution(p, lo, hi, n)
    return label or f"not resolved by {n} trials", more


def verdicts(trials: pd.DataFrame, metric: str = "score", by: Sequence[str] = ("dataset", "strategy"),
             budgets: Sequence[int] | None = None, resamples: int = RESAMPLES, seed: int = 0,
             level: float = LEVEL) -> pd.DataFrame:
    """Verdicts for every pair of cells within each ``by`` group (one data set and strategy).

    One row per unordered pair (cell_a < cell_b by name) and budget k; P(B beats A) is
    1 - p_a_beats_b. ``budgets`` default to 1, 2, 5, 10, ... and the group's full budget (the
    smallest cell's number of trials); larger ones are dropped per group. ``lo``/``hi`` bound
    the ``level`` percentile bootstrap interval over ``resamples`` resamples of each cell's
    trials, seeded by ``seed``. Trials not ``completed`` count as nothing found.
    """
    by = list(by)
    if trials.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    if resamples < 1:
        raise ValueError("resamples must be at least 1")
    v, _ = _metric_values(trials, metric)
    frame = trials[by + ["cell"]].reset_index(drop=True).assign(_v=v)
    rng = np.random.default_rng(seed)
    q = [(1 - level) / 2, (1 + level) / 2]
    rows = []
    for key, g in frame.groupby(by, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        names = sorted(g["cell"].astype(str).unique())
        if len(names) < 2:
            continue
        per = {c: _Cell(s["_v"].to_numpy(), resamples, rng)
               for c, s in g.groupby(g["cell"].astype(str), sort=True)}
        full = min(c.n for c in per.values())
        ks = [k for k in (budgets or budgets_for(full)) if 1 <= k <= full]
        lf = _log_factorials(max(c.n for c in per.values()))
        for c in per.values():  # each cell's masses once, before pairs share them across threads
            for k in ks:
                c.mass(lf, k)
        pairs = [(ca, cb) for i, ca in enumerate(names) for cb in names[i + 1:]]
        ranks = {ab: _ranks(per[ab[0]], per[ab[1]]) for ab in pairs}
        results = {ab: np.empty((len(ks), resamples + 1)) for ab in pairs}
        # budget by budget: B's survival rows once per cell (not per pair); numpy's gathers and
        # products release the GIL, so pairs run on every core
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for j, k in enumerate(ks):
                sb = {c: _survival_rows(cell, lf, k) for c, cell in per.items()}

                def one(ab: tuple[str, str], j: int = j, k: int = k, sb: dict = sb) -> None:
                    results[ab][j] = _pair_at(per[ab[0]], sb[ab[1]], *ranks[ab], lf, k)

                list(pool.map(one, pairs))
        for (ca, cb), p in results.items():
            bounds = np.quantile(p[:, 1:], q, axis=1)
            n = min(per[ca].n, per[cb].n)
            for j, k in enumerate(ks):
                est, lo, hi = float(p[j, 0]), float(bounds[0, j]), float(bounds[1, j])
                lo, hi = min(lo, est), max(hi, est)
                verdict, more = _verdict(est, lo, hi, n)
                rows.append(dict(zip(by, key)) | {
                    "cell_a": ca, "cell_b": cb, "k": k, "n_a": per[ca].n, "n_b": per[cb].n,
                    "p_a_beats_b": est, "lo": lo, "hi": hi, "verdict": verdict,
                    "more_trials_per_cell": more, "metric": metric})
    cols = by + [c for c in VERDICT_COLUMNS if c not in by]
    out = pd.DataFrame(rows, columns=cols)
    out["k"] = out["k"].astype(np.int64)
    return out
