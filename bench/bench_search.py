"""Benchmark: what a round of the round-based strategies costs, and what the caller pays for it.

One cell of the dry run (digits.dcgan.ns.gp.none: lr log, β1, β2, n_disc ∈ {1, 5}, λ log — the
paper's 5 dimensions), ``--per-round`` suggestions a round, for gp (EI, gp_hedge) and optuna
(tpe, gp). Results are told in order; while a round is computed in the background the caller
polls ``ask()`` every millisecond, like Tune's controller serving other cells.

Reported per strategy:
- ``round s``: from the round's last result to its suggestions being ready (background wall
  time: the fit, the constant liar / batch, the queue), mean and max over the fitted rounds;
- ``ask/tell max``: the longest single ``ask()``/``tell()`` call, wall clock and CPU time of the
  calling thread (wall includes descheduling and the GIL shared with the fit);
- ``best``: the best score found (the optimum is 32.0).

Libraries are imported once before timing (a first GPSampler round also imports torch).

    python bench/bench_search.py                          # 4 rounds of 10: under a minute
    python bench/bench_search.py --rounds 12              # the paper's 12 × 10
    python bench/bench_search.py --executor process       # rounds in spawned worker processes
    python bench/bench_search.py --worth 5                # GP vs random, best after 120, 5 seeds
    python bench/bench_search.py --plain 10,110           # one round vs skopt's defaults, by data size
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

SPACE = {
    "lr": {"low": 1e-5, "high": 1e-2, "log": True},
    "beta1": {"low": 0.0, "high": 1.0},
    "beta2": {"low": 0.0, "high": 1.0},
    "n_disc": {"choices": [1, 5]},
    "penalty_weight": {"low": 0.1, "high": 100.0, "log": True},
}
STRATEGIES = {
    "gp-EI": {"strategy": "gp", "acquisition": "EI"},
    "gp-gp_hedge": {"strategy": "gp", "acquisition": "gp_hedge"},
    "optuna-tpe": {"strategy": "optuna", "sampler": "tpe"},
    "optuna-gp": {"strategy": "optuna", "sampler": "gp"},
}


def _entry(search: dict, rounds: int, per_round: int):
    from gansweep.study.plan import Cell, PlanEntry, entry_trials
    from gansweep.study.schema import GPSearch, OptunaSearch, RandomSearch

    cell = Cell("digits", "dcgan", "ns", "gp", "none")
    search = dict(search, space=SPACE)
    if search["strategy"] == "gp":
        s = GPSearch.model_validate({**search, "rounds": rounds, "per_round": per_round})
    elif search["strategy"] == "optuna":
        s = OptunaSearch.model_validate({**search, "trials": rounds * per_round, "per_round": per_round})
    else:
        s = RandomSearch.model_validate({**search, "trials": rounds * per_round})
    return cell, PlanEntry(cell, s, s.strategy, entry_trials(s, cell))


def _objective(cell):
    from gansweep.study.plan import resolve_hps
    from gansweep.trial.synthetic import divergence_probability, final_score

    def f(params: dict) -> float:
        config = {"hp": resolve_hps(cell, params), **cell.fields()}
        return float("inf") if divergence_probability(config) > 0.5 else final_score(config)

    return f


def run_one(search: dict, rounds: int, per_round: int, seed: int = 0) -> dict:
    """Drive one searcher to the end; time each round and every ask/tell call."""
    from gansweep.search import DONE, STRATEGIES as REGISTRY

    cell, e = _entry(search, rounds, per_round)
    f = _objective(cell)
    s = REGISTRY[e.search.strategy](e, seed)
    calls_wall, calls_cpu, round_s, best = [], [], [], float("inf")
    waiting_since = None

    def timed(fn, *args):
        t, c = time.perf_counter(), time.thread_time()
        out = fn(*args)
        calls_wall.append(time.perf_counter() - t)
        calls_cpu.append(time.thread_time() - c)
        return out

    while True:
        got = timed(s.ask)
        if got == DONE:
            break
        if got is None:
            if waiting_since is None:
                waiting_since = time.perf_counter()
            time.sleep(0.001)
            continue
        if waiting_since is not None:
            if got.index > 0:  # round 0 is the initial design, not a fit
                round_s.append(time.perf_counter() - waiting_since)
            waiting_since = None
        score = f(got.params)
        best = min(best, score)
        timed(s.tell, got.index, score)
    s.close()
    return {"round_s": round_s, "wall": max(calls_wall), "cpu": max(calls_cpu),
            "p99": float(np.quantile(calls_wall, 0.99)), "calls": len(calls_wall), "best": best}


def warm_up(names: list[str]) -> float:
    """Import what the strategies use (sklearn/skopt, optuna, torch) outside the timings."""
    t = time.perf_counter()
    for name in names:
        run_one(STRATEGIES[name], rounds=2, per_round=10 if name == "optuna-gp" else 3)
    return time.perf_counter() - t


def worth(seeds: int) -> None:
    """Best score after 12 rounds of 10, GP (EI) against random search, mean over seeds."""
    gp = [run_one(STRATEGIES["gp-EI"], 12, 10, seed)["best"] for seed in range(seeds)]
    rnd = [run_one({"strategy": "random"}, 12, 10, seed)["best"] for seed in range(seeds)]
    print(f"best after 120 trials over seeds 0..{seeds - 1} (optimum 32.0):")
    print(f"  gp (EI)  mean {np.mean(gp):7.3f}  per seed {np.round(gp, 3).tolist()}")
    print(f"  random   mean {np.mean(rnd):7.3f}  per seed {np.round(rnd, 3).tolist()}")


def plain_vs_gansweep(sizes: list[int], per_round: int) -> None:
    """One round (CPU seconds, BLAS on one thread) at ``n`` results: skopt's defaults vs gansweep's.

    skopt's defaults: ``Optimizer(dims, base_estimator="GP", acq_func="EI")``, ``tell`` all, then
    ``ask(n_points=per_round, strategy="cl_min")`` (kernel re-fitted on every lie, L-BFGS
    acquisition). gansweep: :func:`gansweep.search.gp.suggest_round`.
    """
    from skopt import Optimizer
    from threadpoolctl import threadpool_limits

    from gansweep.search.gp import suggest_round
    from gansweep.search.space import sample, skopt_dimensions

    cell, e = _entry(STRATEGIES["gp-EI"], 1, per_round)
    space, f = e.space(), _objective(cell)
    names, dims = skopt_dimensions(space)
    rng = np.random.default_rng(0)
    print(f"one round of {per_round}, CPU s: {'results':>7} {'skopt defaults':>14} {'gansweep':>9}")
    for n in sizes:
        params = [sample(space, rng) for _ in range(n)]
        scores = [f(p) for p in params]
        with threadpool_limits(1):
            c = time.process_time()
            suggest_round(space, 1, per_round, params, scores, "EI", 0, {})
            ours = time.process_time() - c
            c = time.process_time()
            opt = Optimizer(dims, base_estimator="GP", acq_func="EI", random_state=0, n_initial_points=0)
            y = [v if np.isfinite(v) else max(x for x in scores if np.isfinite(x)) + 10 for v in scores]
            opt.tell([[p[k] for k in names] for p in params], y)
            opt.ask(n_points=per_round, strategy="cl_min")
            plain = time.process_time() - c
        print(f"{'':>29} {n:7d} {plain:14.2f} {ours:9.2f}", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=4, help="rounds per strategy (round 0 is the design)")
    p.add_argument("--per-round", type=int, default=10)
    p.add_argument("--strategies", default=",".join(STRATEGIES), help=f"comma-separated: {', '.join(STRATEGIES)}")
    p.add_argument("--executor", choices=["thread", "process"], default="thread")
    p.add_argument("--worth", type=int, default=0, metavar="SEEDS", help="also compare GP and random search")
    p.add_argument("--plain", default="", metavar="SIZES",
                   help="also time one round against skopt's defaults at these numbers of results (slow)")
    args = p.parse_args()
    os.environ["GANSWEEP_SEARCH_EXECUTOR"] = args.executor
    warnings.filterwarnings("ignore")
    names = [n.strip() for n in args.strategies.split(",") if n.strip()]
    unknown = sorted(set(names) - set(STRATEGIES))
    if unknown:
        p.error(f"unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")

    print(f"{args.rounds} rounds of {args.per_round} in 5 dimensions, executor={args.executor}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"warm-up (imports, first worker): {warm_up(names):.1f} s")
    print(f"{'strategy':<13} {'round s mean':>12} {'round s max':>11} {'ask/tell max ms':>15} "
          f"{'(CPU ms)':>8} {'p99 ms':>7} {'calls':>6} {'best':>8}")
    for name in names:
        r = run_one(STRATEGIES[name], args.rounds, args.per_round)
        rs = r["round_s"] or [float("nan")]
        print(f"{name:<13} {np.mean(rs):12.2f} {np.max(rs):11.2f} {r['wall'] * 1e3:15.2f} "
              f"{r['cpu'] * 1e3:8.2f} {r['p99'] * 1e3:7.2f} {r['calls']:6d} {r['best']:8.3f}", flush=True)
    if args.plain:
        plain_vs_gansweep([int(n) for n in args.plain.split(",")], args.per_round)
    if args.worth:
        worth(args.worth)


if __name__ == "__main__":
    main()
