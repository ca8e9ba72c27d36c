"""Statistical verdicts: P(A beats B at k) with a 1,000-resample bootstrap for a big study.

    python3 bench/bench_verdicts.py [--cells 200] [--trials 500] [--groups 10] [--resamples 1000]

Times gansweep.analysis.verdicts.verdicts on ``--cells`` cells of ``--trials`` trials each
(~10 % diverged), split evenly over ``--groups`` (data set, strategy) groups; pairs are compared
within a group only, as in a study. Prints the number of pairs, rows and seconds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from gansweep.analysis.verdicts import verdicts


def synthetic(cells: int, trials: int, groups: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cell = np.repeat(np.arange(cells), trials)
    score = rng.lognormal(3.0, 0.6, cells * trials) * (1 + (cell % 7) / 10)
    status = np.where(rng.random(cells * trials) < 0.1, "diverged", "completed")
    return pd.DataFrame({"cell": [f"c{c:04d}" for c in cell], "dataset": [f"d{c % groups}" for c in cell],
                         "strategy": "random", "status": status,
                         "score": np.where(status == "completed", score, np.nan)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--trials", type=int, default=500)
    ap.add_argument("--groups", type=int, default=10)
    ap.add_argument("--resamples", type=int, default=1000)
    args = ap.parse_args()
    trials = synthetic(args.cells, args.trials, args.groups)
    start, cpu = time.perf_counter(), time.process_time()
    v = verdicts(trials, resamples=args.resamples)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    pairs = len(v.drop_duplicates(["dataset", "cell_a", "cell_b"]))
    print(f"{args.cells} cells x {args.trials} trials in {args.groups} groups, {args.resamples} resamples: "
          f"{pairs} pairs, {len(v)} rows (budgets {sorted(set(v['k']))}) in {took:.2f} s wall, {cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
