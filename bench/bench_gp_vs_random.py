"""Benchmark: GP rounds against random search at the same number of trials, per cell, on GANs that learn.

The demo's study (studies/demo.yaml: its four cells, 3,000 steps, mmd, the same space), run with
``gansweep run`` as a user runs it, once per study seed with ``strategy: gp`` (``--rounds`` ×
``--per-round`` trials a cell, EI), against the random arm of ``bench/bench_stopping.py`` at the
same seeds (8 random trials a cell, the same space and training; its studies are read from
``--out``, run there first). Reported per cell: the median over seeds of the cell's best score
(lower is better) for each strategy, and in how many seeds GP's best beats random's.

    nice -n 10 python bench/bench_stopping.py --seeds 0,1,2 --arms random --out /tmp/bench_stopping
    nice -n 10 python bench/bench_gp_vs_random.py --seeds 0,1,2 --out /tmp/bench_stopping
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_stopping import ROOT, base_study, best_per_cell, run_arm, run_study  # noqa: E402


def gp_study(seed: int, args: argparse.Namespace) -> dict:
    """The demo's cells (its ``exclude`` kept) with one GP entry of rounds × per_round trials a cell."""
    study = base_study(seed, args, f"demo_gp_s{seed}")
    study["exclude"] = yaml.safe_load((ROOT / "studies" / "demo.yaml").read_text())["exclude"]
    random = study["search"][0]
    study["search"] = [{"strategy": "gp", "rounds": args.rounds, "per_round": args.per_round,
                        "acquisition": "EI", "space": random["space"]}]
    return study


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--per-round", type=int, default=4)
    p.add_argument("--steps", type=int, default=0, help="training.steps (0: the demo's)")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--max-concurrent", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_stopping"))
    p.add_argument("--csv", type=Path, help="write the per-cell table here")
    args = p.parse_args()
    args.trials = args.rounds * args.per_round  # the random arm's trials a cell: equal trials
    args.grace = args.median_grace = args.min_samples = 0  # read by bench_stopping; the random arm stops nothing
    args.reduction = 3.0
    frames = {}
    for seed in (int(s) for s in args.seeds.split(",")):
        load = os.getloadavg()[0]
        frames[("gp", seed)], wall = run_study(gp_study(seed, args), 4 * args.trials, args)
        print(f"seed {seed} gp: {wall:.0f} s wall (load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at "
              f"end)", flush=True)
        frames[("random", seed)], _ = run_arm("random", seed, args)
    long = best_per_cell(frames)
    long = long[long.cell.isin(long[long.arm == "gp"].cell.unique())]
    wide = long.pivot_table(index=["cell", "seed"], columns="arm", values="best").reset_index()
    per_cell = wide.groupby("cell").agg(random_median_best=("random", "median"), gp_median_best=("gp", "median"),
                                        seeds=("seed", "count"))
    per_cell["gp_wins"] = (wide.gp < wide.random).groupby(wide.cell).sum()
    per_cell["per_seed_gp_vs_random"] = wide.groupby("cell").apply(
        lambda g: " ".join(f"{a:.3g}/{b:.3g}" for a, b in zip(g.gp, g.random)))
    pd.set_option("display.width", 200)
    print(per_cell.reset_index().to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"GP beats random's best in {int(per_cell.gp_wins.sum())} of {int(per_cell.seeds.sum())} (cell, seed) "
          f"pairs; lower median best in {int((per_cell.gp_median_best < per_cell.random_median_best).sum())} of "
          f"{len(per_cell)} cells")
    if args.csv:
        per_cell.reset_index().to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
