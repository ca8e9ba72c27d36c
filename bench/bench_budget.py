"""Budget curves: the vectorised exact computation against a naive one, in the same run.

    python3 bench/bench_budget.py [--trials 100000] [--cells 200] [--naive-trials 4000]
                                  [--naive-cells 10]

Times gansweep.analysis.budget.budget_curves on ``--trials`` trials spread over ``--cells``
cells (random sizes, ~10 % diverged), then both implementations on a smaller study of
``--naive-trials`` trials in ``--naive-cells`` cells (the naive one loops over every k and i with math.comb), checks that
they agree, and prints both times and their ratio.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pandas as pd

from gansweep.analysis.budget import budget_curves


def synthetic_trials(n: int, cells: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cell = rng.integers(0, cells, n)
    score = rng.lognormal(3.0, 0.6, n) * (1 + cell % 7)
    status = np.where(rng.random(n) < 0.1, "diverged", "completed")
    return pd.DataFrame({"cell": [f"c{c:04d}" for c in cell], "strategy": "random",
                         "status": status, "score": np.where(status == "completed", score, np.nan)})


def naive_curve(scores: list[float]) -> list[tuple[int, float, float, float, float]]:
    """Straightforward loops over k and i with exact integer binomials."""
    x = sorted(math.inf if math.isnan(s) else s for s in scores)
    n = len(x)
    rows = []
    for k in range(1, n + 1):
        total = math.comb(n, k)
        cdf = [1 - math.comb(n - i, k) / total for i in range(1, n + 1)]
        q = {}
        for name, level in (("median", 0.5), ("lo", 0.025), ("hi", 0.975)):
            q[name] = next(x[i] for i in range(n) if cdf[i] >= level - 1e-12)
        weights = [math.comb(n - i - 1, k - 1) for i in range(n)]  # P(best is x_(i+1)) * total
        if any(math.isinf(x[i]) and weights[i] for i in range(n)):
            mean = math.nan
        else:
            mean = sum(x[i] * weights[i] for i in range(n) if weights[i]) / total
        rows.append((k, q["median"], q["lo"], q["hi"], mean))
    return rows


def naive_curves(trials: pd.DataFrame) -> pd.DataFrame:
    out = []
    for (cell, strategy), g in trials.groupby(["cell", "strategy"], sort=True):
        vals = g["score"].where(g["status"] == "completed").tolist()
        out += [(cell, strategy, *r) for r in naive_curve(vals)]
    return pd.DataFrame(out, columns=["cell", "strategy", "budget", "median", "lo", "hi", "mean"])


def timed(fn, *args):
    t = time.perf_counter()
    res = fn(*args)
    return res, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--naive-trials", type=int, default=4_000)
    ap.add_argument("--naive-cells", type=int, default=10)
    args = ap.parse_args()

    big = synthetic_trials(args.trials, args.cells)
    curves, t_big = timed(budget_curves, big)
    print(f"vectorised: {args.trials} trials in {args.cells} cells -> {len(curves)} rows in {t_big:.3f} s")

    single = pd.DataFrame({"cell": "one", "strategy": "random", "status": "completed",
                           "score": np.random.default_rng(1).normal(50, 10, args.trials)})
    _, t_single = timed(budget_curves, single)
    print(f"vectorised: one cell of {args.trials} trials in {t_single:.3f} s")

    small = synthetic_trials(args.naive_trials, args.naive_cells, seed=2)
    fast, t_fast = timed(budget_curves, small)
    slow, t_slow = timed(naive_curves, small)
    for col in ("median", "lo", "hi"):
        assert np.array_equal(fast[col].to_numpy(), slow[col].to_numpy()), col
    np.testing.assert_allclose(fast["mean"], slow["mean"], rtol=1e-9, equal_nan=True)
    print(f"same {args.naive_trials} trials in {args.naive_cells} cells (results agree): "
          f"vectorised {t_fast:.4f} s, naive {t_slow:.3f} s, ratio {t_slow / t_fast:.0f}x")


if __name__ == "__main__":
    main()
