"""Scale benchmark: a dry-run study of N trials against bare Ray Tune, measured in the same run.

``gansweep_trials_per_s`` counts the whole command (imports, Ray start, final summary);
``gansweep_steady_trials_per_s`` counts from the first to the last stored trial, which is what
the bare reference measures (its clock starts after ``ray.init``). The reference is bare Ray Tune running trivial function trials with ``reuse_actors=True`` and
the same concurrency (RAY-NOTES.md: about 24 trials/s on 2 cores). gansweep's dry run includes
its composite searcher, Parquet store, progress bar and per-trial reports; the issue asks it to
keep at least half of the reference rate. Also reported: driver peak RSS, size of ``tune/`` and
``results/``, the time ``gansweep resume`` takes on a finished study (restart overhead), and the
longest time the searcher held Tune's controller thread.

    python bench/bench_scale.py --trials 2000 [--csv bench/results/scale.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BARE = """
import os, sys, time
os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"
import logging, ray
from ray import tune
logging.getLogger("ray.tune.analysis.experiment_analysis").setLevel(logging.ERROR)
ray.init(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
def f(config):
    tune.report({"score": config["x"]})
n, conc, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
tune.Tuner(f, param_space={"x": tune.uniform(0, 1)},
           tune_config=tune.TuneConfig(num_samples=n, reuse_actors=True, max_concurrent_trials=conc),
           run_config=tune.RunConfig(storage_path=path, name="bare", verbose=0)).fit()
print(time.perf_counter() - t0)
"""


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def child_peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def study(trials: int) -> dict:
    cells = {"loss": ["ns", "wgan"], "penalty": ["none", "gp"], "normalization": ["none", "sn"]}
    per_cell = max(1, trials // 8)
    return {
        "name": "scale", "grid": cells, "training": {"steps": 1000, "eval_every": 250},
        "search": [{"strategy": "random", "trials": per_cell,
                    "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}, "beta1": {"low": 0, "high": 1},
                              "penalty_weight": {"low": 0.1, "high": 100, "log": True}}}],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--bare-trials", type=int, default=None, help="reference trials (default: --trials)")
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--csv", type=Path, default=None)
    args = ap.parse_args()
    bare_n = args.bare_trials or args.trials
    with tempfile.TemporaryDirectory() as tmp:
        tmp_p = Path(tmp)
        t = float(subprocess.run([sys.executable, "-c", BARE, str(bare_n), str(args.concurrency), tmp],
                                 check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        bare_rate = bare_n / t
        sfile = tmp_p / "scale.yaml"
        sfile.write_text(yaml.safe_dump(study(args.trials)))
        n = 8 * max(1, args.trials // 8)
        cmd = [sys.executable, "-m", "gansweep.cli"]
        t0 = time.perf_counter()
        subprocess.run([*cmd, "run", str(sfile), "--out", str(tmp_p / "runs"), "--dry-run",
                        "--max-concurrent", str(args.concurrency)], check=True, capture_output=True)
        wall = time.perf_counter() - t0
        peak = child_peak_rss_mib()
        sdir = tmp_p / "runs" / "scale"
        stats_file = sdir / "driver_stats.json"
        stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
        import pandas as pd

        written = pd.read_parquet(sdir / "results" / "trials", columns=["written_at"]).written_at
        steady = (len(written) - 1) / (written.max() - written.min()).total_seconds()
        t0 = time.perf_counter()
        subprocess.run([*cmd, "resume", str(sdir)], check=True, capture_output=True)
        resume_s = time.perf_counter() - t0
        rows = {
            "trials": n, "bare_trials_per_s": round(bare_rate, 2), "gansweep_trials_per_s": round(n / wall, 2),
            "ratio": round((n / wall) / bare_rate, 3), "gansweep_wall_s": round(wall, 1),
            "gansweep_steady_trials_per_s": round(steady, 2), "steady_ratio": round(steady / bare_rate, 3),
            "driver_peak_rss_mib": round(peak, 1), "tune_dir_mib": round(du(sdir / "tune") / 2**20, 2),
            "results_dir_mib": round(du(sdir / "results") / 2**20, 2), "resume_restart_s": round(resume_s, 1),
            "searcher_max_stall_ms": round(1000 * stats.get("max_seconds", float("nan")), 2),
            "searcher_total_s": round(stats.get("seconds", float("nan")), 2),
        }
    for k, v in rows.items():
        print(f"{k:>24}: {v}")
    if args.csv:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows))
            w.writeheader()
            w.writerow(rows)


if __name__ == "__main__":
    main()
