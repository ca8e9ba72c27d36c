"""Equal-compute curves: strategies compared by the compute they spent, stopped trials at what they reached."""

import math

import numpy as np
import pandas as pd
import pytest

from gansweep.analysis.compute import at_equal_compute, best_within, compute_curves


def frame(rows):
    return pd.DataFrame(rows, columns=["cell", "strategy", "status", "score", "steps", "train_seconds", "gpus_per_trial"])


def test_best_within_is_the_best_of_the_trials_paid_for():
    costs, values = np.array([10.0, 30.0, 60.0]), np.array([5.0, 1.0, 3.0])
    best = best_within(costs, values, np.array([5.0, 10.0, 40.0, 100.0]), 200, np.random.default_rng(0))
    assert np.isinf(best[:, 0]).all()  # nothing finished within 5 steps
    assert (best[:, 3] == 1.0).all()  # all three within 100
    # within 10: only when the 10-step trial came first (a third of the orders, roughly)
    assert 0.2 < np.mean(best[:, 1] == 5.0) < 0.5 and set(best[:, 1]) <= {5.0, math.inf}


def test_stopped_trials_count_at_their_score_and_cost_their_steps():
    rows = [("c", "random", "completed", 2.0, 600, 6.0, 0.0), ("c", "random", "completed", 4.0, 600, 6.0, 0.0),
            ("c", "asha", "completed", 2.0, 600, 6.0, 0.0), ("c", "asha", "stopped", 4.0, 100, 1.0, 0.0),
            ("c", "asha", "diverged", math.nan, 50, 0.5, 0.0)]
    curves, unit = compute_curves(frame(rows), orders=300)
    assert unit == "trial-steps"
    asha = curves[curves.strategy == "asha"]
    assert asha.compute.max() == pytest.approx(750) and asha["median"].iloc[-1] == 2.0
    eq = at_equal_compute(frame(rows), orders=500)
    assert set(eq.compute) == {750.0}  # asha spent 750 steps, random 1200
    r = eq.set_index("strategy")
    assert r.loc["asha", "median"] == 2.0 and r.loc["asha", "hi"] == 2.0  # within 750: every order ran the good one
    # random within 750 steps: one trial only, the good one half the time
    assert r.loc["random", "lo"] == 2.0 and r.loc["random", "hi"] == 4.0


def test_gpu_studies_are_compared_in_gpu_hours():
    rows = [("c", "random", "completed", 2.0, 600, 3600.0, 0.5), ("c", "random", "completed", 1.0, 600, 7200.0, 0.5)]
    curves, unit = compute_curves(frame(rows), orders=50)
    assert unit == "GPU-hours" and curves.compute.max() == pytest.approx(1.5)


def test_report_and_budget_curves_count_stopped_trials_at_what_they_reached(cli, tmp_path):
    import yaml

    from gansweep.store import TrialStore

    space = {"lr": {"low": 1e-4, "high": 1e-2, "log": True}}
    spec = {"name": "st", "grid": {"dataset": ["ring8"], "architecture": ["mlp"]},
            "training": {"steps": 600, "eval_every": 100}, "metrics": {"primary": "fd"},
            "search": [{"strategy": "random", "trials": 4, "space": space},
                       {"strategy": "random", "name": "asha", "trials": 4, "space": space,
                        "stopping": {"kind": "asha"}}]}
    study_dir = tmp_path / "st"
    study_dir.mkdir()
    (study_dir / "study.yaml").write_text(yaml.safe_dump(spec))
    store = TrialStore(study_dir / "results", metrics=["fd"], hps=["lr"])
    cell = "ring8.mlp.ns.none.none"
    for label in ("random", "asha"):
        for i in range(4):
            stopped = label == "asha" and i > 0
            score = 1.0 + i
            steps = 100 if stopped else 600
            row = {"trial_id": f"{cell}-{label}-{i:04d}", "study": "st", "cell": cell, "dataset": "ring8",
                   "architecture": "mlp", "loss": "ns", "penalty": "none", "normalization": "none",
                   "strategy": label, "round": None, "index": i, "status": "stopped" if stopped else "completed",
                   "score": score, "fd": score, "hp_lr": 1e-3, "steps": steps, "train_seconds": steps / 100,
                   "gpu": 0.0, "error": None, "config": {"cell": cell, "hp": {"lr": 1e-3}}}
            store.write(row, [{"step": s, "seconds": s / 100, "fd": score} for s in range(100, steps + 1, 100)])
    code, out, err = cli("report", study_dir)
    assert code == 0, err
    html = (study_dir / "report.html").read_text()
    assert "Strategies at equal compute" in html and "trial-steps" in html and "3 stopped" in html
    curves = pd.read_csv(study_dir / "plots" / "budget_curves.csv")
    asha = curves[(curves.strategy == "asha") & (curves.budget == 1)]
    assert asha["median"].iloc[0] == 2.0  # one trial of scores 1, 2, 3, 4 (three stopped): P(best <= 2) = 1/2
    assert math.isfinite(curves[curves.strategy == "asha"]["hi"].max())
