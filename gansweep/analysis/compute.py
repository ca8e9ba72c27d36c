"""Best score against compute spent, per cell and strategy: strategies compared at equal compute.

A budget curve counts trials; with early stopping a trial's cost varies (a stopped trial used a
fraction of the steps), so strategies must be compared by compute. For a cell and strategy whose
trials cost c_i and found s_i, the best score within compute C is the best of the trials run, in a
random order, until their costs exceed C. Its distribution over orders has no closed form (costs
differ), so it is sampled: ``orders`` seeded permutations, reported as median and 2.5–97.5 %
quantiles on a grid of compute values. Compute is GPU-hours (``train_seconds × gpus_per_trial``) for GPU
studies and trial-steps (the ``steps`` column) for CPU studies.

Stopped trials count at the score they reached before they were stopped (their kept generator's),
diverged and failed ones as nothing found (+inf) at the compute they used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gansweep.status import SCORED

COLUMNS = ["compute", "median", "lo", "hi"]


def trial_compute(trials: pd.DataFrame) -> tuple[np.ndarray, str]:
    """Each trial's compute and its unit: GPU-hours where trials ran on GPUs, else trial-steps."""
    gpu = pd.to_numeric(trials.get("gpus_per_trial", pd.Series(0.0, index=trials.index)),
                        errors="coerce").fillna(0.0)
    if (gpu > 0).any():
        secs = pd.to_numeric(trials["train_seconds"], errors="coerce").fillna(0.0)
        return (secs * gpu / 3600.0).to_numpy(dtype=float), "GPU-hours"
    return pd.to_numeric(trials["steps"], errors="coerce").fillna(0.0).to_numpy(dtype=float), "trial-steps"


def found(trials: pd.DataFrame, metric: str = "score") -> np.ndarray:
    """What each trial found (lower is better): its score if completed or stopped, else +inf."""
    v = pd.to_numeric(trials[metric], errors="coerce").to_numpy(dtype=float)
    ok = trials["status"].isin(SCORED).to_numpy() & np.isfinite(v)
    return np.where(ok, v, np.inf)


def best_within(costs: np.ndarray, values: np.ndarray, grid: np.ndarray, orders: int,
                rng: np.random.Generator) -> np.ndarray:
    """``orders × len(grid)``: the best value within each compute of ``grid``, per random order."""
    n = len(costs)
    perm = np.argsort(rng.random((orders, n)), axis=1)
    spent = np.cumsum(costs[perm], axis=1)
    best = np.minimum.accumulate(values[perm], axis=1)
    out = np.full((orders, len(grid)), np.inf)
    for p in range(orders):
        done = np.searchsorted(spent[p], grid, side="right")  # trials finished within each compute
        out[p, done > 0] = best[p, done[done > 0] - 1]
    return out


def compute_curves(trials: pd.DataFrame, by: Sequence[str] = ("cell", "strategy"), metric: str = "score",
                   orders: int = 500, points: int = 40, seed: int = 0,
                   costs: np.ndarray | None = None) -> tuple[pd.DataFrame, str]:
    """Per group of ``by``: the best ``metric`` within compute C (median, 2.5 %, 97.5 % over orders).

    The grid runs from the group's cheapest trial to its whole compute (geometric spacing);
    quantiles are +inf where that share of orders had found nothing. ``costs``: each trial's
    compute in a unit of the caller's (default: :func:`trial_compute`). Returns the curves and the unit.
    """
    by = list(by)
    if trials.empty:
        return pd.DataFrame(columns=by + COLUMNS), "trial-steps"
    costs, unit = (np.asarray(costs, dtype=float), "") if costs is not None else trial_compute(trials)
    values = found(trials, metric)
    rng = np.random.default_rng(seed)
    frames = []
    for key, idx in trials.groupby(by, sort=True).indices.items():
        c, v = costs[idx], values[idx]
        positive = c[c > 0]
        if positive.size == 0:
            continue
        grid = np.unique(np.geomspace(positive.min(), c.sum(), points))
        best = best_within(c, v, grid, orders, rng)
        q = np.quantile(best, [0.5, 0.025, 0.975], axis=0, method="inverted_cdf")
        frame = pd.DataFrame({"compute": grid, "median": q[0], "lo": q[1], "hi": q[2]})
        for col, val in zip(by, key if isinstance(key, tuple) else (key,)):
            frame.insert(len(frame.columns) - len(COLUMNS), col, val)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=by + COLUMNS)
    return out, unit


def at_equal_compute(trials: pd.DataFrame, metric: str = "score", orders: int = 2000,
                     seed: int = 0) -> pd.DataFrame:
    """Strategies of the same cell at equal compute: each one's best within the compute that the
    cheapest of them spent in all (median, 2.5 %, 97.5 % over orders), for cells with several strategies.

    Columns: ``cell``, ``strategy``, ``compute`` (the common budget), ``unit``, ``median``, ``lo``, ``hi``.
    """
    costs, unit = trial_compute(trials)
    values = found(trials, metric)
    rng = np.random.default_rng(seed)
    rows = []
    for c, idx in trials.groupby("cell", sort=True).indices.items():
        strategies = trials["strategy"].to_numpy()[idx]
        if len(set(strategies)) < 2:
            continue
        common = min(costs[idx][strategies == s].sum() for s in set(strategies))
        for s in sorted(set(strategies)):
            mine = idx[strategies == s]
            best = best_within(costs[mine], values[mine], np.array([common]), orders, rng)[:, 0]
            med, lo, hi = np.quantile(best, [0.5, 0.025, 0.975], method="inverted_cdf")
            rows.append({"cell": c, "strategy": s, "compute": common, "unit": unit, "median": med, "lo": lo,
                         "hi": hi})
    return pd.DataFrame(rows, columns=["cell", "strategy", "compute", "unit", *COLUMNS[1:]])
