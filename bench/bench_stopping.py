"""Benchmark: random search with and without early stopping (per cell) at the same number of trials.

The demo's training (studies/demo.yaml: ring8, MLP, 3,000 steps, mmd; real training, seeded) on
all eight cells of loss x penalty x normalization (the demo's ``exclude`` dropped), run with
``gansweep run`` as a user runs it, once per study seed and arm: ``random`` (every trial to
``training.steps``), ``asha`` (the same entry with ``stopping: {kind: asha, ...}``) and ``median``
(``stopping: {kind: median, ...}``, Tune's MedianStoppingRule). All arms of a seed suggest the
same hyperparameters and train with the same trial seeds (the ids are the same), so a stopping
arm's trials are random's trials, stopped or not. Reported:

- trial-steps: the generator steps every trial ran (the ``steps`` column), per arm, and their ratio;
- per cell, the median over seeds of the cell's best score (lower is better) for each arm, and
  whether the stopping arm reaches random's (its median best ≤ random's);
- per cell and evaluation step, Spearman ρ between a random trial's score at that step and its
  final score (``gansweep.analysis.early_scores``, what ``gansweep plot`` writes to
  plots/rank_correlation.csv), pooled over the seeds' random studies and as the median over seeds.

The goal (issue 19, re-stated in issue 26): the stopping arm reaches random's full-budget median
best in ≥ 6 of 8 cells with ≤ 40 % of the trial-steps. Studies already complete in ``--out`` are
read, not run again, so an interrupted benchmark continues (and ``--arms`` can add an arm later).

    nice -n 10 python bench/bench_stopping.py --seeds 0,1,2 --out /tmp/bench_stopping --max-concurrent 2
    python bench/bench_stopping.py --replay --orders 20 --arms asha,median               # no training: the rules
        # replayed on the random studies' evaluations, checked against the real arms' runs where stored
    python bench/bench_stopping.py --seeds 0 --trials 1 --steps 200 --eval-every 100   # a smoke run
    python bench/bench_stopping.py --keep-cost                                          # cost of keeping G
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]


CELLS = 8
"""ring8 x mlp x {ns, wgan} x {none, gp} x {none, sn}: the demo's grid without its ``exclude``."""


def base_study(seed: int, args: argparse.Namespace, name: str) -> dict:
    """The demo's study at this seed, every cell, ``args.trials`` random trials a cell."""
    study = yaml.safe_load((ROOT / "studies" / "demo.yaml").read_text())
    study.pop("exclude", None)
    study.update(name=name, seed=seed)
    study["training"]["eval_every"] = args.eval_every
    if args.steps:
        study["training"]["steps"] = args.steps
    study["search"][0]["trials"] = args.trials
    return study


def stopping_for(arm: str, args: argparse.Namespace) -> dict | None:
    """The ``stopping`` block of an arm (None: random, every trial to the end)."""
    grace = args.grace or args.eval_every
    return {"random": None,
            "asha": {"kind": "asha", "grace_steps": grace, "reduction": args.reduction},
            "median": {"kind": "median", "grace_steps": args.median_grace or grace,
                       "min_samples": args.min_samples}}[arm]


def study_for(arm: str, seed: int, args: argparse.Namespace) -> dict:
    study = base_study(seed, args, f"demo_{arm}_s{seed}")
    stopping = stopping_for(arm, args)
    if stopping:
        study["search"][0]["stopping"] = stopping
    return study


def run_study(study: dict, planned: int, args: argparse.Namespace) -> tuple[pd.DataFrame, float]:
    """A study's trials (running it with ``gansweep run`` unless a complete one is in ``--out``)
    and its wall seconds (NaN when read)."""
    study_dir = args.out / study["name"]
    trials_dir = study_dir / "results" / "trials"
    if trials_dir.is_dir() and len(pd.read_parquet(trials_dir)) == planned:
        return pd.read_parquet(trials_dir), float("nan")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{study['name']}.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "gansweep.cli", "run", str(path), "--out", str(args.out), "--force", "--yes"]
    if args.max_concurrent:
        cmd += ["--max-concurrent", str(args.max_concurrent)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return pd.read_parquet(trials_dir), seconds


def run_arm(arm: str, seed: int, args: argparse.Namespace) -> tuple[pd.DataFrame, float]:
    return run_study(study_for(arm, seed, args), CELLS * args.trials, args)


def best_per_cell(frames: dict[tuple[str, int], pd.DataFrame]) -> pd.DataFrame:
    """One row per (arm, seed, cell): the cell's best score, its trial-steps and stopped trials."""
    rows = []
    for (arm, seed), df in frames.items():
        ok = df[df.status.isin(("completed", "stopped"))]
        for cell, g in df.groupby("cell"):
            rows.append({"arm": arm, "seed": seed, "cell": cell, "best": ok[ok.cell == cell].score.min(),
                         "steps": int(g.steps.fillna(0).sum()), "stopped": int((g.status == "stopped").sum())})
    return pd.DataFrame(rows)


def compare(frames: dict[tuple[str, int], pd.DataFrame], arm: str) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per cell: median over seeds of random's and ``arm``'s best score, whether ``arm`` reaches
    random's, their trial-steps; totals. Only seeds both arms ran count."""
    long = best_per_cell(frames)
    seeds = sorted({s for a, s in frames if ("random", s) in frames and (arm, s) in frames})
    long = long[long.seed.isin(seeds) & long.arm.isin(("random", arm))]
    med = long.pivot_table(index="cell", columns="arm", values="best", aggfunc="median")
    by = long.groupby(["arm", "cell"])
    per_cell = pd.DataFrame({
        "random_median_best": med["random"], f"{arm}_median_best": med[arm],
        "reached": med[arm] <= med["random"] * (1 + 1e-12),
        "random_steps": by.steps.sum()["random"], f"{arm}_steps": by.steps.sum()[arm],
        f"{arm}_stopped": by.stopped.sum()[arm],
    })
    totals = {"seeds": len(seeds), "random_steps": float(per_cell.random_steps.sum()),
              "arm_steps": float(per_cell[f"{arm}_steps"].sum())}
    totals["fraction"] = totals["arm_steps"] / totals["random_steps"]
    totals["cells_reached"] = int(per_cell.reached.sum())
    return per_cell.reset_index(), totals


def start_order(study_dir: Path) -> list[str]:
    """Trial ids in the order the run started them (stored time less the seconds it trained)."""
    t = pd.read_parquet(study_dir / "results" / "trials")
    start = pd.to_datetime(t.written_at) - pd.to_timedelta(t.train_seconds.fillna(0), unit="s")
    return list(t.assign(_start=start).sort_values("_start").trial_id)


def replay(arm: str, seed: int, args: argparse.Namespace, order: list[str] | None = None) -> pd.DataFrame:
    """The ``arm`` study of this seed replayed on the random study's stored evaluations: gansweep's
    own per-cell Tune schedulers (``gansweep.driver.scheduler.STOPPERS``, built from the arm's plan)
    told each trial's evaluations as a run at ``--max-concurrent`` would, trials started in ``order``
    (default: the random run's), each evaluation at the seconds the random run reached it. A trial
    is the same in both arms up to where it is stopped (same hyperparameters and seed), so this is
    the arm's outcome for that arrival order without training; the real run checks it."""
    import heapq
    import math

    from gansweep.driver.scheduler import STOPPERS, TrialScheduler, _Stored
    from gansweep.study import build_plan, load_study

    rdir = args.out / f"demo_random_s{seed}"
    trials, evals = pd.read_parquet(rdir / "results" / "trials"), pd.read_parquet(rdir / "results" / "evals")
    study = study_for(arm, seed, args)
    path = args.out / f"{study['name']}.replay.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    plan = build_plan(load_study(path), str(path), weights=False)
    subs = {e.cell.id: STOPPERS[e.search.stopping.kind](e.search.stopping, e, plan) for e in plan.entries}
    primary, last_step = study["metrics"]["primary"], study["training"]["steps"]
    queue, clock, running, events, out = list(order or start_order(rdir)), 0.0, 0, [], {}
    by_id = {t: g.sort_values("step") for t, g in evals.groupby("trial_id")}
    cell_of = dict(zip(trials.trial_id, trials.cell))

    def start_next(now: float) -> None:
        nonlocal running
        while queue and running < args.max_concurrent:
            tid, running = queue.pop(0), running + 1
            trial = _Stored(tid)
            subs[cell_of[tid]].on_trial_add(None, trial)
            for k, (_, row) in enumerate(by_id[tid].iterrows()):
                heapq.heappush(events, (now + float(row.seconds), tid, k, trial))

    start_next(0.0)
    best: dict[str, float] = {}
    stopped: set[str] = set()
    while events:
        clock, tid, k, trial = heapq.heappop(events)
        if tid in stopped:
            continue
        row = by_id[tid].iloc[k]
        value = float(row[primary])
        best[tid] = min(best.get(tid, math.inf), value if math.isfinite(value) else math.inf)
        result = {"step": int(row.step), "score": best[tid]}
        sub = subs[cell_of[tid]]
        final = k == len(by_id[tid]) - 1
        if final:
            sub.on_trial_complete(None, trial, result)
        elif sub.on_trial_result(None, trial, result) != TrialScheduler.STOP:
            continue
        else:
            stopped.add(tid)
        out[tid] = {"trial_id": tid, "cell": cell_of[tid], "status": "completed" if final else "stopped",
                    "steps": int(row.step), "score": best[tid]}
        running -= 1
        start_next(clock)
    return pd.DataFrame(list(out.values()))


def rank_correlations(study_dirs: list[Path]) -> pd.DataFrame:
    """Per cell and step: Spearman ρ between the score at that step and the final score, pooled over
    the studies' completed trials (``rho_pooled``, n) and as the median of the per-study ρ
    (``rho_median``), with each study's ρ (``rho_seeds``). The random arm's studies: no selection."""
    from gansweep.analysis.early_scores import rank_correlation
    from gansweep.store import read_evals, read_trials

    per_study, trials, evals = [], [], []
    for d in study_dirs:
        t, e = read_trials(d), read_evals(d)
        metric = yaml.safe_load((d.parent / f"{d.name}.yaml").read_text())["metrics"]["primary"]
        per_study.append(rank_correlation(t, e, metric=metric).assign(study=d.name))
        # pooled: trial ids are the same across seeds' studies, so make them unique
        trials.append(t.assign(trial_id=d.name + "/" + t.trial_id))
        evals.append(e.assign(trial_id=d.name + "/" + e.trial_id))
    pooled = rank_correlation(pd.concat(trials), pd.concat(evals), metric=metric)
    seeds = pd.concat(per_study)
    median = seeds.groupby(["cell", "step"]).rho.median().rename("rho_median")
    listed = seeds.groupby(["cell", "step"]).rho.agg(lambda r: " ".join(f"{v:.2f}" for v in r)).rename("rho_seeds")
    out = pooled.set_index(["cell", "step"])[["rho", "n"]].rename(columns={"rho": "rho_pooled"})
    return out.join(median).join(listed).reset_index()


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


def replay_main(args: argparse.Namespace) -> None:
    """The stopping arms replayed on every seed's random study; real runs, where stored, checked."""
    import numpy as np

    seeds = [int(s) for s in args.seeds.split(",")]
    arms = [a for a in args.arms.split(",") if a != "random"]
    frames = {("random", s): pd.read_parquet(args.out / f"demo_random_s{s}" / "results" / "trials") for s in seeds}
    pd.set_option("display.width", 200)
    for arm in arms:
        for seed in seeds:
            real_dir = args.out / f"demo_{arm}_s{seed}" / "results" / "trials"
            if real_dir.is_dir() and len(pd.read_parquet(real_dir)) == CELLS * args.trials:
                real = pd.read_parquet(real_dir).set_index("trial_id")
                sim = replay(arm, seed, args, start_order(args.out / f"demo_{arm}_s{seed}")).set_index("trial_id")
                sim = sim.reindex(real.index)
                same = (real.status == sim.status) & (real.steps == sim.steps)
                print(f"{arm} s{seed}: replay in the real run's start order agrees with the real run on "
                      f"{int(same.sum())} of {len(real)} trials (status and steps)", flush=True)
                for tid in real.index[~same]:
                    print(f"  {tid}: real {real.status[tid]} at {real.steps[tid]}, replay {sim.status[tid]} at "
                          f"{sim.steps[tid]}")
            frames[(arm, seed)] = replay(arm, seed, args)
        per_cell, totals = compare(frames, arm)
        print(f"replay, {arm} (random run's start order):")
        print(per_cell.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"{arm}, seeds {totals['seeds']}: trial-steps random {totals['random_steps']:.0f}, {arm} "
              f"{totals['arm_steps']:.0f} ({100 * totals['fraction']:.1f} %); reaches random's median best in "
              f"{totals['cells_reached']} of {len(per_cell)} cells", flush=True)
        if args.csv:
            per_cell.to_csv(f"{args.csv}_replay_{arm}.csv", index=False)
        if args.orders:
            rng, found = np.random.default_rng(0), []
            for _ in range(args.orders):
                shuffled = dict(frames)
                for seed in seeds:
                    order = start_order(args.out / f"demo_random_s{seed}")
                    shuffled[(arm, seed)] = replay(arm, seed, args, list(rng.permutation(order)))
                _, t = compare(shuffled, arm)
                found.append((t["cells_reached"], t["fraction"]))
            cells, frac = np.array(found).T
            print(f"{arm}, {args.orders} shuffled start orders: cells reached min {cells.min():.0f} / median "
                  f"{np.median(cells):.0f} / max {cells.max():.0f}; trial-steps {100 * frac.min():.1f}-"
                  f"{100 * frac.max():.1f} % (median {100 * np.median(frac):.1f} %)", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--arms", default="random,asha,median", help="random and the stopping arms to run")
    p.add_argument("--trials", type=int, default=8, help="random trials per cell")
    p.add_argument("--steps", type=int, default=0, help="training.steps (0: the demo's)")
    p.add_argument("--eval-every", type=int, default=500, help="training.eval_every (the demo's 500)")
    p.add_argument("--grace", type=int, default=0, help="grace_steps of both rules (0: --eval-every)")
    p.add_argument("--reduction", type=float, default=3.0, help="ASHA's reduction")
    p.add_argument("--median-grace", type=int, default=0, help="the median rule's grace_steps (0: --grace)")
    p.add_argument("--min-samples", type=int, default=3, help="the median rule's min_samples")
    p.add_argument("--max-concurrent", type=int, default=2)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_stopping"))
    p.add_argument("--csv", type=Path, help="write the per-cell tables and ρ here (PREFIX_<arm>.csv, PREFIX_rho.csv)")
    p.add_argument("--keep-cost", action="store_true", help="only time keeping a generator")
    p.add_argument("--replay", action="store_true", help="no training: replay the stopping arms on the random "
                   "studies' stored evaluations (and check them against real runs of the arm where there are)")
    p.add_argument("--orders", type=int, default=0, help="with --replay: also this many shuffled start orders")
    args = p.parse_args()
    if args.keep_cost:
        keep_cost()
        return
    if args.replay:
        replay_main(args)
        return
    arms = args.arms.split(",")
    frames, walls = {}, {}
    for seed in (int(s) for s in args.seeds.split(",")):
        for arm in arms:
            load = os.getloadavg()[0]
            frames[(arm, seed)], walls[(arm, seed)] = run_arm(arm, seed, args)
            print(f"seed {seed} {arm}: {walls[(arm, seed)]:.0f} s wall (load average {load:.1f} at start, "
                  f"{os.getloadavg()[0]:.1f} at end), {int(frames[(arm, seed)].steps.fillna(0).sum())} trial-steps",
                  flush=True)
    pd.set_option("display.width", 200)
    for arm in (a for a in arms if a != "random"):
        per_cell, totals = compare(frames, arm)
        print(per_cell.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print(f"{arm}, seeds {totals['seeds']}: trial-steps random {totals['random_steps']:.0f}, {arm} "
              f"{totals['arm_steps']:.0f} ({100 * totals['fraction']:.1f} %); reaches random's median best in "
              f"{totals['cells_reached']} of {len(per_cell)} cells")
        if args.csv:
            per_cell.to_csv(f"{args.csv}_{arm}.csv", index=False)
    dirs = [args.out / f"demo_random_s{s}" for a, s in frames if a == "random"]
    if dirs:
        rho = rank_correlations(dirs)
        print(rho.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        if args.csv:
            rho.to_csv(f"{args.csv}_rho.csv", index=False)


if __name__ == "__main__":
    main()
