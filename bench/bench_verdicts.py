"""Verdicts between cells: 200 cells x 500 trials, every pair at the full budget, 1,000 resamples.

    python3 bench/bench_verdicts.py [--cells 200] [--trials 500] [--resamples 1000] [--k 500]

Prints the time of gansweep.analysis.verdicts.compare_cells (target <= 10 s on 2 cores).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gansweep.analysis.verdicts import compare_cells


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--trials", type=int, default=500)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--k", type=int, nargs="+", default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    cells = {}
    for i in range(args.cells):
        x = rng.lognormal(3.0, 0.6, args.trials) * (1 + 0.01 * i)
        x[rng.random(args.trials) < 0.1] = np.inf  # ~10 % diverged
        cells[f"c{i:04d}"] = x
    ks = args.k or [args.trials]
    t0 = time.perf_counter()
    out = compare_cells(cells, ks, resamples=args.resamples)
    dt = time.perf_counter() - t0
    print(f"{args.cells} cells x {args.trials} trials, k={ks}, {args.resamples} resamples: "
          f"{len(out)} pair rows in {dt:.2f} s; verdicts {out['verdict'].str[:3].value_counts().to_dict()}")


if __name__ == "__main__":
    main()
