"""Exact budget curves: the distribution of the best score among k trials drawn from N.

Why this module exists: "how good a model do I get with a budget of k trials?" is the question
the GAN Landscape study answers, and its answer must not depend on a Monte-Carlo seed. With the N
scores of a cell and strategy sorted ascending, x_(1) <= ... <= x_(N), the best of k trials drawn
without replacement satisfies

    P(best <= x_(i)) = 1 - C(N-i, k) / C(N, k),          P(best = x_(i)) = C(N-i, k-1) / C(N, k)

(the second counted by position, so ties need no special care). Diverged and failed trials, and
trials without a score, count as +inf: they spend budget and find nothing.

Everything is computed in log space from one table of log-factorials, vectorised over all
(group, k) rows at once:

* a q-quantile (the smallest x_(i) with P >= q) is found by a bisection on i that runs on every
  row simultaneously (~log2 N numpy steps in all, independent of the number of rows);
* the exact mean sums x_(i) P(best = x_(i)); those weights depend on N only, so all groups of
  one size share one weight matrix (a matrix product), built in (k x i) blocks whose width stops
  where the probability that the best lies further right is negligible, so N = 100,000 costs
  O(N log N) rather than O(N^2).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import gammaln

from gansweep.metrics import specs as metric_specs
from gansweep.search.specs import SEQUENTIAL_STRATEGIES
from gansweep.status import SCORED

QUANTILES = {"lo": 0.025, "median": 0.5, "hi": 0.975}
CURVE_COLUMNS = ["budget", "median", "lo", "hi", "mean"]
# Metrics where a larger value is better; every other metric (and ``score``) is minimised.
_BLOCK = 1 << 18  # elements per (k x i) block of the mean computation (2 MiB: stays in cache)


def _log_factorials(n: int) -> np.ndarray:
    """log(m!) for m = 0..n."""
    return gammaln(np.arange(n + 1, dtype=np.float64) + 1.0)


def _padded(lf: np.ndarray) -> tuple[np.ndarray, int]:
    """lf with +inf prepended for negative arguments: ``g[off + j]`` is log(j!) or +inf (j < 0)."""
    off = len(lf)
    return np.concatenate([np.full(off, np.inf), lf]), off


def _log_survival(g: np.ndarray, off: int, n: np.ndarray, k: np.ndarray, i: np.ndarray
                  ) -> np.ndarray:
    """log P(best of k > x_(i)) = log C(n-i, k) - log C(n, k)  (-inf once n - i < k).

    The k! of both binomials cancels: log (n-i)! - log (n-i-k)! - log n! + log (n-k)!.
    """
    return (g[off + n - i] - g[off + n - i - k]) - (g[off + n] - g[off + n - k])


def _first_index_below(lf: np.ndarray, n: np.ndarray, k: np.ndarray, log_level: np.ndarray | float
                       ) -> np.ndarray:
    """Smallest i in 1..n with log P(best of k > x_(i)) <= log_level, for every row at once.

    The survival S(i) = prod_{j<k} (1 - i/(n-j)) lies between (1 - i/(n-k+1))^k and
    (1 - i/n)^k, which brackets the answer within about -log(level) positions; a bisection on
    all rows at once then needs a handful of numpy steps. A small tolerance absorbs the rounding
    of the log-factorials, so an exact tie P = q (N = 2, k = 1, median) resolves as exact
    arithmetic does.
    """
    g, off = _padded(lf)
    n = np.asarray(n, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)
    tol = 1e-12 + 1e-14 * lf[-1]
    level = np.broadcast_to(np.asarray(log_level, dtype=np.float64), n.shape) + tol
    root = -np.expm1(np.minimum(level, 0.0) / k)  # 1 - p^(1/k)
    # invariant: S(lo) > level (S(0) = 1), S(hi) <= level (S(n) = 0); margins absorb rounding
    lo = np.clip(np.ceil((n - k + 1) * root).astype(np.int64) - 3, 0, n)
    hi = np.clip(np.ceil(n * root).astype(np.int64) + 2, 1, n)
    lo = np.minimum(lo, hi - 1)
    open_ = np.flatnonzero(hi - lo > 1)
    while open_.size:
        mid = (lo[open_] + hi[open_]) // 2
        ok = _log_survival(g, off, n[open_], k[open_], mid) <= level[open_]
        hi[open_] = np.where(ok, mid, hi[open_])
        lo[open_] = np.where(ok, lo[open_], mid)
        open_ = open_[hi[open_] - lo[open_] > 1]
    return hi


def _mean_curves(xs: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """Exact E[best of k], k = 1..n, for c groups of n sorted scores each (xs: n x c).

    E_k = sum_i x_(i) w_k(i) with w_k(i) = C(n-i, k-1) / C(n, k). The weights depend on n only,
    so groups of one size share them: one (k x i) weight block times an (i x c) score matrix.
    log w_k(i) = a_i + b_k - c_(i+k) is a Hankel structure, so a block is two broadcast adds over
    a strided view, one exp and one matrix product. Row k needs only i <= n-k+1 (later weights
    are 0) and i <= cut_k, where the probability that the best lies further right falls below
    exp(-46) / spread of the scores: far below double precision of the mean. Blocks follow both
    limits, which makes a large n cost O(n log n). Entries are NaN while a +inf score can be the
    best (k <= number of +inf).
    """
    n, c = xs.shape
    out = np.full((n, c), np.nan)
    n_inf = (xs == np.inf).sum(axis=0)
    finite_x = np.where(xs == np.inf, 0.0, xs)
    some = n_inf < n
    if not some.any():
        return out
    absx = np.abs(finite_x[:, some])
    typical = np.maximum(absx.sum(axis=0) / (n - n_inf[some]), 1e-300)
    spread = float((absx.max(axis=0) / typical).max())
    log_cut = max(-46.0 - np.log(max(spread, 1.0)), -700.0)
    ks = np.arange(1, n + 1)
    limit = np.minimum(n - ks + 1, _first_index_below(lf, np.full(n, n), ks, log_cut))
    a_all = lf[n - ks]  # a_i = log (n-i)!, i = 1..n
    b_all = np.log(ks) + lf[n - ks] - lf[n]  # b_k = -log (k-1)! - log C(n, k)
    ka = int(n_inf[some].min()) + 1
    while ka <= n:
        width = int(limit[ka - 1])
        rows = max(1, min(n - ka + 1, _BLOCK // width, max(32, width // 2, ka // 2)))
        s = np.arange(ka + 1, ka + rows + width)  # s = i + k over the block
        cs = np.where(s <= n + 1, lf[np.clip(n + 1 - s, 0, n)], np.inf)
        logw = np.lib.stride_tricks.sliding_window_view(cs, width)[:rows]
        logw = np.subtract(a_all[None, :width], logw)
        logw += b_all[ka - 1:ka - 1 + rows, None]
        np.copyto(logw, -np.inf, where=logw < -708.0)  # no slow subnormals; exact zeros stay 0
        np.exp(logw, out=logw)
        out[ka - 1:ka - 1 + rows] = logw @ finite_x[:width]
        ka += rows
    out[ks[:, None] <= n_inf[None, :]] = np.nan
    return out


def _curves(groups: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Budget curves of several score arrays (lower is better, +inf = nothing found), stacked."""
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    total = int(sizes.sum())
    if total == 0:
        return {c: np.empty(0) for c in CURVE_COLUMNS}
    lf = _log_factorials(int(sizes.max()))
    xs = [np.sort(np.asarray(g, dtype=np.float64)) for g in groups]
    flat = np.concatenate(xs)
    starts = np.cumsum(sizes) - sizes
    offsets = np.repeat(starts, sizes)
    n = np.repeat(sizes, sizes)
    k = np.arange(total) - offsets + 1
    res = {"budget": k}
    names = list(QUANTILES)
    levels = np.repeat(np.log1p(-np.array([QUANTILES[q] for q in names])), total)
    idx = _first_index_below(lf, np.tile(n, len(names)), np.tile(k, len(names)), levels)
    for j, name in enumerate(names):
        res[name] = flat[offsets + idx[j * total:(j + 1) * total] - 1]
    mean = np.empty(total)
    for size in np.unique(sizes):
        members = np.flatnonzero(sizes == size)
        if size == 0:
            continue
        block = _mean_curves(np.stack([xs[m] for m in members], axis=1), lf)
        for col, m in enumerate(members):
            mean[starts[m]:starts[m] + size] = block[:, col]
    res["mean"] = mean
    return res


def _minimisable(values: np.ndarray, ok: np.ndarray | None, higher_is_better: bool) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    v = -v if higher_is_better else v.copy()
    bad = np.isnan(v) if ok is None else (np.isnan(v) | ~ok)
    v[bad] = np.inf
    return v


def _to_values(res: dict[str, np.ndarray], higher_is_better: bool) -> dict[str, np.ndarray]:
    if not higher_is_better:
        return res
    return {"budget": res["budget"], "median": -res["median"], "lo": -res["hi"],
            "hi": -res["lo"], "mean": -res["mean"]}


def budget_curve(scores: Sequence[float] | np.ndarray, higher_is_better: bool = False
                 ) -> pd.DataFrame:
    """Exact budget curve of one set of N scores: one row per budget k = 1..N.

    Columns ``budget, median, lo, hi, mean``: the median, 2.5 % and 97.5 % quantiles (each the
    smallest score x with P(best of k <= x) >= q) and the exact expectation of the best of k
    trials drawn without replacement. NaN scores count as +inf (nothing found); quantiles that
    fall on them are +inf and ``mean`` is NaN while P(best = +inf) > 0. With
    ``higher_is_better`` the best is the maximum, failures count as -inf, and ``lo``/``hi`` stay
    the 2.5 %/97.5 % quantiles of the best value.
    """
    v = _minimisable(np.ravel(np.asarray(scores, dtype=np.float64)), None, higher_is_better)
    res = _to_values(_curves([v]), higher_is_better)
    return pd.DataFrame(res, columns=CURVE_COLUMNS)


def _metric_values(trials: pd.DataFrame, metric: str) -> tuple[np.ndarray, bool]:
    if metric not in trials.columns:
        raise KeyError(f"no column {metric!r} in the trials; have {sorted(trials.columns)}")
    higher = metric_specs.higher_is_better(metric)
    ok = trials["status"].isin(SCORED).to_numpy() if "status" in trials else None  # stopped: the score it reached
    vals = pd.to_numeric(trials[metric], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return _minimisable(vals, ok, higher), higher


def budget_curves(trials: pd.DataFrame, by: Sequence[str] = ("cell", "strategy"),
                  metric: str = "score") -> pd.DataFrame:
    """Budget curves of every group of ``trials`` (e.g. each cell and strategy), stacked: the
    columns ``plots/budget_curves.csv`` holds.

    Columns: the ``by`` columns, then ``budget, median, lo, hi, mean`` (one row per k = 1..N of
    the group), ``running_best`` (:func:`running_best`: the best of the first k trials in the order
    a sequential strategy suggested them; null for other strategies, or when ``by`` has no
    ``strategy``) and ``metric`` (the column the curves are of). Stopped trials count at the score
    they reached; trials whose status is neither ``completed`` nor ``stopped``, or whose
    ``metric`` is missing, count as nothing found. All groups are computed together, vectorised
    across groups and budgets.
    """
    by = list(by)
    if trials.empty:
        return pd.DataFrame(columns=by + CURVE_COLUMNS + ["running_best", "metric"])
    v, higher = _metric_values(trials, metric)
    frame = trials[by].reset_index(drop=True)
    gid = frame.groupby(by, sort=True, dropna=False).ngroup().to_numpy()
    order = np.argsort(gid, kind="stable")
    sizes = np.bincount(gid)
    bounds = np.cumsum(sizes)
    arrays = np.split(v[order], bounds[:-1])
    res = _to_values(_curves(arrays), higher)
    firsts = order[bounds - sizes]
    out = frame.iloc[np.repeat(firsts, sizes)].reset_index(drop=True)
    for col in CURVE_COLUMNS:
        out[col] = res[col]
    out["budget"] = out["budget"].astype(np.int64)
    out["running_best"] = np.nan
    if "strategy" in by:
        rb = running_best(trials, metric=metric, by=by)
        if not rb.empty:
            keyed = rb.set_index([*by, "budget"])["running_best"]
            idx = pd.MultiIndex.from_frame(out[[*by, "budget"]])
            out["running_best"] = keyed.reindex(idx).to_numpy(dtype=float)
    out["metric"] = metric
    return out


def running_best(trials: pd.DataFrame, metric: str = "score",
                 strategies: Sequence[str] | None = SEQUENTIAL_STRATEGIES,
                 by: Sequence[str] = ("cell", "strategy")) -> pd.DataFrame:
    """Best score so far in the order a sequential strategy suggested its trials (``index``).

    Columns: the ``by`` columns, ``budget`` (1..N), ``index``, ``trial_id`` and ``running_best``
    (+inf, or -inf for a higher-is-better metric, until the first trial that found something).
    ``strategies=None`` keeps every strategy.
    """
    by = list(by)
    cols = by + ["budget", "index", "trial_id", "running_best"]
    if trials.empty:
        return pd.DataFrame(columns=cols)
    df = trials if strategies is None else trials[trials["strategy"].isin(list(strategies))]
    if df.empty:
        return pd.DataFrame(columns=cols)
    v, higher = _metric_values(df, metric)
    df = df.assign(_v=v)
    order = ["index", "trial_id"] if "index" in df else ["trial_id"]
    df = df.sort_values(by + order, kind="stable")
    g = df.groupby(by, sort=False, dropna=False)
    best = g["_v"].cummin().to_numpy()
    out = df[by + [c for c in ("index", "trial_id") if c in df]].copy()
    out.insert(len(by), "budget", g.cumcount().to_numpy() + 1)
    out["running_best"] = -best if higher else best
    return out.reset_index(drop=True).reindex(columns=cols)
