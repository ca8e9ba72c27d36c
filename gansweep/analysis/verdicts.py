"""Statistical verdicts between cells: P(A beats B at budget k), its bootstrap interval, a verdict.

Why this module exists: budget curves say how good the best of k trials is in each cell; a
researcher also needs to know how sure the comparison of two cells is, given the finite number of
trials stored. For two cells A and B of one data set and strategy, with scores sorted ascending
and diverged / failed / unscored trials as +inf exactly as in :mod:`gansweep.analysis.budget`:

    P(A beats B at k) = sum_v P(best_A = v) * (P(best_B > v) + 1/2 P(best_B = v))

where "best of k" is drawn without replacement from the stored trials, so
P(best > x) = C(N - m(x), k) / C(N, k) with m(x) the number of scores <= x (the order statistics
of the budget curves). Ties count half, so P(A beats B) + P(B beats A) = 1.

Uncertainty: a seeded bootstrap resamples each cell's trials (with replacement) R times. A
resample only re-weights the cell's sorted scores, so it is a row of cumulative counts over them,
and the exact probability of every resample pair is a gather from one survival table per (N, k):
vectorised over resamples, and truncated where every resample's survival is exactly zero (at
large k only the lowest few scores matter). The 2.5-97.5 % percentiles give the interval.

Verdict: "A better" when the interval lies above 1/2, "B better" when below, otherwise
"not resolved by N trials" with an estimate of how many more trials per cell would likely resolve
it (the interval's half-width shrinks like 1/sqrt(N)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import gammaln

from gansweep.analysis.budget import _metric_values

RESAMPLES = 1000
LEVEL = 0.95
VERDICT_COLUMNS = ["dataset", "strategy", "cell_a", "cell_b", "k", "n_a", "n_b", "p_a_beats_b",
                   "lo", "hi", "verdict", "more_trials_per_cell"]


def _survival_table(n: int, k: int) -> np.ndarray:
    """P(best of k > the m-th smallest score) = C(n-m, k) / C(n, k), for m = 0..n."""
    m = np.arange(n + 1)
    lf = gammaln(np.arange(n + 1, dtype=np.float64) + 1.0)
    rest = n - m
    out = np.zeros(n + 1)
    ok = rest >= k
    r = rest[ok]
    out[ok] = np.exp(lf[r] - lf[r - k] - lf[n] + lf[n - k])
    out[0] = 1.0
    return out


@dataclass
class _Cell:
    """One cell's sorted scores and the cumulative counts of its resamples (row 0: the data)."""

    x: np.ndarray        # sorted scores, +inf = nothing found
    s: np.ndarray        # (1 + R) x (w + 1): P(best of k > the j smallest scores), per resample
    pmf: np.ndarray      # (1 + R) x w: P(best of k = x_j), per resample

    @property
    def n(self) -> int:
        return len(self.x)


def _cell(x: np.ndarray, k: int, rng: np.random.Generator, resamples: int) -> _Cell:
    n = len(x)
    draws = rng.integers(0, n, size=(resamples, n), dtype=np.int64)
    per = np.empty((resamples + 1, n), dtype=np.int32)
    per[0] = 1
    flat = (draws + (np.arange(resamples) * n)[:, None]).ravel()
    per[1:] = np.bincount(flat, minlength=resamples * n).reshape(resamples, n)
    cum = np.zeros((resamples + 1, n + 1), dtype=np.int32)
    np.cumsum(per, axis=1, out=cum[:, 1:])
    # beyond column w every resample has survival exactly 0 (count > n - k): truncate there
    dead = np.flatnonzero(cum.min(axis=0) > n - k)
    w = int(dead[0]) if dead.size else n
    s = _survival_table(n, k)[cum[:, :w + 1]]
    return _Cell(x=x, s=s, pmf=s[:, :w] - s[:, 1:])


def _pair(a: _Cell, b: _Cell) -> np.ndarray:
    """Exact P(A beats B) for the data (entry 0) and each resample pair (entries 1..R)."""
    xa = a.x[:a.pmf.shape[1]]
    cap = b.s.shape[1] - 1  # beyond it every resample's survival is 0
    right = np.minimum(np.searchsorted(b.x, xa, side="right"), cap)  # m_B(<= x)
    left = np.minimum(np.searchsorted(b.x, xa, side="left"), cap)    # m_B(< x)
    beats = b.s[:, right] + b.s[:, left]
    return 0.5 * np.einsum("rj,rj->r", a.pmf, beats)


def p_beats(a: Sequence[float], b: Sequence[float], k: int) -> float:
    """Exact P(best of k drawn from ``a`` < best of k drawn from ``b``), ties counting half.

    Scores are minimised; NaN counts as +inf (nothing found).
    """
    rng = np.random.default_rng(0)
    ca = _cell(_clean(a), k, rng, 0)
    cb = _cell(_clean(b), k, rng, 0)
    return float(_pair(ca, cb)[0])


def _clean(values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel().copy()
    v[np.isnan(v)] = np.inf
    return np.sort(v)


def more_trials(p: float, lo: float, hi: float, n: int) -> float:
    """Trials per cell to add so that the interval likely excludes 1/2 (NaN when p is 1/2)."""
    gap = abs(p - 0.5)
    if gap < 1e-12:
        return math.nan
    half = (hi - lo) / 2.0
    need = n * (half / gap) ** 2
    return float(max(1, math.ceil(need - n)))


def verdict(p: float, lo: float, hi: float, n: int) -> str:
    if lo > 0.5:
        return "A better"
    if hi < 0.5:
        return "B better"
    return f"not resolved by {n} trials"


def compare_cells(cells: dict[str, Sequence[float]], ks: Sequence[int], *, seed: int = 0,
                  resamples: int = RESAMPLES) -> pd.DataFrame:
    """Every pair of ``cells`` (name -> minimised scores, +inf/NaN = nothing found) at each k.

    k larger than a cell's number of trials is skipped for pairs with that cell. Columns:
    ``cell_a, cell_b, k, n_a, n_b, p_a_beats_b, lo, hi, verdict, more_trials_per_cell``.
    """
    if resamples < 1:
        raise ValueError("resamples must be >= 1")
    names = sorted(cells)
    data = {c: _clean(cells[c]) for c in names}
    parts = []
    for k in sorted({int(k) for k in ks}):
        # one seed stream per (cell, k): a cell's resamples are the same in all of its pairs
        built = {c: _cell(data[c], k, np.random.default_rng([seed, k, i]), resamples)
                 for i, c in enumerate(names) if len(data[c]) >= k}
        alive = [c for c in names if c in built]
        pairs = [(ca, cb) for i, ca in enumerate(alive) for cb in alive[i + 1:]]
        if not pairs:
            continue
        p = np.stack([_pair(built[ca], built[cb]) for ca, cb in pairs])
        lo, hi = np.quantile(p[:, 1:], [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=1)
        n_a = np.array([built[ca].n for ca, _ in pairs])
        n_b = np.array([built[cb].n for _, cb in pairs])
        parts.append(pd.DataFrame({"cell_a": [a for a, _ in pairs], "cell_b": [b for _, b in pairs],
                                   "k": k, "n_a": n_a, "n_b": n_b, "p_a_beats_b": p[:, 0],
                                   "lo": lo, "hi": hi}))
    cols = VERDICT_COLUMNS[2:]
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    n = np.minimum(out["n_a"], out["n_b"]).to_numpy()
    res = [(verdict(p0, l, h, m), more_trials(p0, l, h, m))
           for p0, l, h, m in zip(out["p_a_beats_b"], out["lo"], out["hi"], n)]
    out["verdict"] = [v for v, _ in res]
    out["more_trials_per_cell"] = [0.0 if not v.startswith("not") else m for v, m in res]
    return out[cols]


def default_budgets(n: int) -> list[int]:
    """Powers of two below n, and n itself: the budgets the verdicts are stated at."""
    ks = [1 << j for j in range(max(n, 1).bit_length()) if (1 << j) < n]
    return ks + [n] if n >= 1 else []


def verdicts(trials: pd.DataFrame, metric: str = "score", *, by: Sequence[str] = ("dataset", "strategy"),
             ks: Sequence[int] | None = None, seed: int = 0, resamples: int = RESAMPLES
             ) -> pd.DataFrame:
    """Verdicts for every pair of cells within each (data set, strategy) of stored ``trials``.

    Uses the same values as :func:`gansweep.analysis.budget.budget_curves` (status other than
    completed, or a missing metric, is +inf; higher-is-better metrics are negated). ``ks``
    defaults to :func:`default_budgets` of the group's full budget (the smallest cell size).
    Columns: :data:`VERDICT_COLUMNS`.
    """
    by = list(by)
    if trials.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    v, _ = _metric_values(trials, metric)
    frame = trials[by + ["cell"]].assign(_v=v)
    parts = []
    for key, g in frame.groupby(by, sort=True, dropna=False):
        cells = {str(c): gg["_v"].to_numpy() for c, gg in g.groupby("cell", sort=True)}
        if len(cells) < 2:
            continue
        full = min(len(x) for x in cells.values())
        res = compare_cells(cells, default_budgets(full) if ks is None else ks,
                            seed=seed, resamples=resamples)
        key = key if isinstance(key, tuple) else (key,)
        for col, val in zip(by, key):
            res.insert(by.index(col), col, val)
        parts.append(res)
    if not parts:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    out = pd.concat(parts, ignore_index=True)
    return out.reindex(columns=list(dict.fromkeys(by + VERDICT_COLUMNS[2:])))


def sentence(row: pd.Series | dict) -> str | None:
    """One plain sentence for a resolved pair, naming the winner first; None when unresolved."""
    if row["verdict"] == "A better":
        win, lose, p, lo, hi = row["cell_a"], row["cell_b"], row["p_a_beats_b"], row["lo"], row["hi"]
    elif row["verdict"] == "B better":
        win, lose = row["cell_b"], row["cell_a"]
        p, lo, hi = 1 - row["p_a_beats_b"], 1 - row["hi"], 1 - row["lo"]
    else:
        return None
    return (f"{win} beats {lose} at k = {int(row['k'])} with probability {p:.2f} "
            f"({lo:.2f}\u2013{hi:.2f})")
