"""Benchmark: random search with and without ASHA (per cell) at the same number of trials.

The demo's eight ring8 cells (studies/demo.yaml: real training, seeded), run with ``gansweep run``
as a user runs it, once per study seed and arm: ``random`` (every trial to ``training.steps``) and
``asha`` (the same entry with ``stopping: {kind: asha}``). Both arms of a seed suggest the same
hyperparameters and train with the same trial seeds (the ids are the same), so ASHA's trials are
random's trials, stopped or not. Reported:

- trial-steps: the generator steps every trial ran (the ``steps`` column), per arm, and their ratio;
- per cell, the median over seeds of the cell's best score (fd; lower is better) for each arm, and
  whether ASHA reaches random's (ASHA's median best ≤ random's).

The goal (issue 19): ASHA reaches random's full-budget median best in ≥ 6 of 8 cells with ≤ 40 %
of the trial-steps. Evaluations every ``--eval-every`` steps (the demo's 200 leaves ASHA one rung
before the end; the default 100 gives it rungs at 100 and 300). Studies already complete in
``--out`` are read, not run again, so an interrupted benchmark continues.

    nice python bench/bench_stopping.py --seeds 0,1,2 --out /tmp/bench_stopping   # ~6 demo runs
    python bench/bench_stopping.py --seeds 0 --trials 2 --steps 200               # a smoke run
    python bench/bench_stopping.py --keep-cost                                    # cost of keeping G
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


def study_for(arm: str, seed: int, args: argparse.Namespace) -> dict:
    study = yaml.safe_load((ROOT / "studies" / "demo.yaml").read_text())
    study.update(name=f"demo_{arm}_s{seed}", seed=seed)
    study["training"]["eval_every"] = args.eval_every
    if args.steps:
        study["training"]["steps"] = args.steps
    entry = study["search"][0]
    entry["trials"] = args.trials
    if arm == "asha":
        entry["stopping"] = {"kind": "asha", "grace_steps": args.grace or args.eval_every,
                             "reduction": args.reduction}
    return study


def run_arm(arm: str, seed: int, args: argparse.Namespace) -> tuple[pd.DataFrame, float]:
    """The arm's trials (running its study unless a complete one is in ``--out``) and wall seconds."""
    study = study_for(arm, seed, args)
    study_dir = args.out / study["name"]
    trials_dir = study_dir / "results" / "trials"
    planned = 8 * study["search"][0]["trials"]
    if trials_dir.is_dir() and len(pd.read_parquet(trials_dir)) == planned:
        return pd.read_parquet(trials_dir), float("nan")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{study['name']}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    t0 = time.perf_counter()
    cmd = ["gansweep", "run", str(path), "--out", str(args.out), "--force"]
    if args.max_concurrent:
        cmd += ["--max-concurrent", str(args.max_concurrent)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return pd.read_parquet(trials_dir), seconds


def compare(frames: dict[tuple[str, int], pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per cell: median over seeds of each arm's best score; totals of trial-steps per arm."""
    rows = []
    for (arm, seed), df in frames.items():
        ok = df[df.status.isin(("completed", "stopped"))]
        for cell, g in df.groupby("cell"):
            best = ok[ok.cell == cell].score.min()
            rows.append({"arm": arm, "seed": seed, "cell": cell, "best": best, "steps": int(g.steps.fillna(0).sum()),
                         "stopped": int((g.status == "stopped").sum())})
    long = pd.DataFrame(rows)
    seeds = sorted({s for a, s in frames if (("random", s) in frames and ("asha", s) in frames)})
    long = long[long.seed.isin(seeds)]
    med = long.pivot_table(index="cell", columns="arm", values="best", aggfunc="median")
    per_cell = pd.DataFrame({
        "random_median_best": med["random"], "asha_median_best": med["asha"],
        "reached": med["asha"] <= med["random"] * (1 + 1e-12),
        "random_steps": long[long.arm == "random"].groupby("cell").steps.sum(),
        "asha_steps": long[long.arm == "asha"].groupby("cell").steps.sum(),
        "asha_stopped": long[long.arm == "asha"].groupby("cell").stopped.sum(),
    })
    totals = {"seeds": len(seeds), "random_steps": float(per_cell.random_steps.sum()),
              "asha_steps": float(per_cell.asha_steps.sum())}
    totals["fraction"] = totals["asha_steps"] / totals["random_steps"]
    totals["cells_reached"] = int(per_cell.reached.sum())
    return per_cell.reset_index(), totals


def keep_cost(repeats: int = 20) -> None:
    """Seconds to keep a generator (``save_generator``: snapshot + atomic write) once, per architecture."""
    import tempfile

    from gansweep.data import load_dataset
    from gansweep.gan import GANConfig, GANTrainer
    from gansweep.store.generators import save_generator, snapshot

    cases = [("ring8", "mlp", 64), ("digits", "dcgan", 64), ("digits", "sndcgan", 64)]
    for dataset, arch, width in cases:
        trainer = GANTrainer(GANConfig(architecture=arch, loss="ns", penalty="none", normalization="none",
                                       z_dim=64, batch_size=64, width=width), load_dataset(dataset), device="cpu",
                             seed=0)
        trainer.train(1)
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            for i in range(repeats):
                snap = snapshot(trainer, 1.0, "fd", trainer.eval_rng.get_state(), (1000, 100))
                path = save_generator(d, f"a.b.c.d.e-random-{i:04d}", snap)
            dt = (time.perf_counter() - t0) / repeats
            size = path.stat().st_size / 1e6
            print(f"keep generator {dataset}/{arch} width {width}: {dt * 1e3:.1f} ms, {size:.2f} MB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--trials", type=int, default=8, help="trials per cell (the demo's 8)")
    p.add_argument("--steps", type=int, default=0, help="training.steps (0: the demo's 600)")
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--grace", type=int, default=0, help="ASHA grace_steps (0: --eval-every)")
    p.add_argument("--reduction", type=float, default=3.0)
    p.add_argument("--max-concurrent", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_stopping"))
    p.add_argument("--csv", type=Path, help="write the per-cell table here")
    p.add_argument("--keep-cost", action="store_true", help="only time keeping a generator")
    args = p.parse_args()
    if args.keep_cost:
        keep_cost()
        return
    frames, walls = {}, {}
    for seed in (int(s) for s in args.seeds.split(",")):
        for arm in ("random", "asha"):
            frames[(arm, seed)], walls[(arm, seed)] = run_arm(arm, seed, args)
            print(f"seed {seed} {arm}: {walls[(arm, seed)]:.0f} s wall, "
                  f"{int(frames[(arm, seed)].steps.fillna(0).sum())} trial-steps", flush=True)
    per_cell, totals = compare(frames)
    pd.set_option("display.width", 200)
    print(per_cell.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"seeds {totals['seeds']}: trial-steps random {totals['random_steps']:.0f}, asha {totals['asha_steps']:.0f} "
          f"({100 * totals['fraction']:.1f} %); ASHA reaches random's median best in {totals['cells_reached']} of "
          f"{len(per_cell)} cells")
    if args.csv:
        per_cell.to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
