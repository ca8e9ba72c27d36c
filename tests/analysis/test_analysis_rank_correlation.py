"""Does an early score predict the final one? ρ per cell, strategy and step, in plots/ and the report.

Two stored studies make the answer known: one whose early scores are a monotone transform of the
final score (every ρ is 1), one whose early scores are independent noise (every |ρ| small over
100 trials). Stopped, diverged and failed trials have no final score and must not count.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gansweep.analysis import rank_correlation
from gansweep.analysis.early_scores import summary
from gansweep.store import TrialStore

STEPS = [200, 400, 600, 800, 1000]
CELLS = ["ring8.mlp.ns.none.none", "ring8.mlp.ns.gp.none"]


def frames(early: str, trials: int = 100, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Trials of two cells (random) and their evaluations; ``early``: 'monotone' or 'noise'.

    Every fifth trial is stopped at step 400 with a score far better than any other (counted, it
    would wreck ρ), one in ten diverged (NaN score): neither may count."""
    rng = np.random.default_rng(seed)
    rows, evals = [], []
    for cell in CELLS:
        for i in range(trials):
            tid = f"{cell}-random-{i:04d}"
            final = float(rng.lognormal(-2, 1))
            status = "stopped" if i % 5 == 0 else "diverged" if i % 10 == 1 else "completed"
            steps = STEPS[:2] if status == "stopped" else STEPS
            for s in steps:
                value = (final * (1 + 1000 / s) if early == "monotone" else float(rng.lognormal(-2, 1)))
                evals.append({"trial_id": tid, "step": s, "seconds": s / 100.0, "mmd": value})
            score = {"completed": final, "stopped": 1e-6 * (i + 1), "diverged": math.nan}[status]
            rows.append({"trial_id": tid, "cell": cell, "dataset": "ring8", "architecture": "mlp", "loss": "ns",
                         "penalty": cell.split(".")[3], "normalization": "none", "strategy": "random",
                         "round": None, "index": i, "status": status, "score": score, "mmd": score,
                         "hp_lr": float(10 ** rng.uniform(-4, -2)), "steps": steps[-1],
                         "train_seconds": steps[-1] / 100.0, "gpu": 0.0, "error": None,
                         "config": {"cell": cell}})
    return pd.DataFrame(rows), pd.DataFrame(evals)


def store(study_dir: Path, early: str) -> Path:
    trials, evals = frames(early)
    st = TrialStore(study_dir / "results", metrics=["mmd"], hps=["lr"], fsync=False)
    for row in trials.to_dict("records"):
        st.write(row, [e for e in evals[evals.trial_id == row["trial_id"]].to_dict("records")])
    return study_dir


def test_monotone_early_scores_rank_as_the_final_one():
    trials, evals = frames("monotone")
    data = rank_correlation(trials, evals, metric="mmd")
    assert list(data.columns) == ["cell", "strategy", "step", "final_step", "rho", "n", "metric"]
    assert sorted(data.cell.unique()) == sorted(CELLS) and sorted(data.step.unique()) == STEPS
    assert np.allclose(data.rho, 1.0) and (data.n == 70).all() and (data.final_step == 1000).all()
    short = summary(data)
    assert np.allclose(short.rho_first, 1.0) and (short.steady_from == 200).all()


def test_independent_early_scores_do_not():
    trials, evals = frames("noise")
    data = rank_correlation(trials, evals, metric="mmd")
    assert len(data) == len(CELLS) * len(STEPS) and (data.n == 70).all()
    assert data.rho.abs().max() < 0.35, data
    assert summary(data).steady_from.isna().all()


def test_too_few_trials_or_no_evaluations_give_no_rho():
    trials, evals = frames("monotone", trials=3)
    data = rank_correlation(trials, evals, metric="mmd")  # 1 completed trial per cell
    assert data.rho.isna().all() and (data.n == 1).all()
    assert rank_correlation(trials, evals.iloc[:0], metric="mmd").empty
    assert rank_correlation(trials, evals, metric="fd").empty  # a metric the evaluations lack


@pytest.mark.parametrize("early", ["monotone", "noise"])
def test_plot_writes_the_csv_and_report_says_it(early, cli, tmp_path):
    study_dir = store(tmp_path / early, early)
    code, out, err = cli("plot", study_dir)
    assert code == 0, err
    data = pd.read_csv(study_dir / "plots" / "rank_correlation.csv")
    assert set(data.metric) == {"mmd"} and (data.n == 70).all() and len(data) == len(CELLS) * len(STEPS)
    if early == "monotone":
        assert np.allclose(data.rho, 1.0)
    else:
        assert data.rho.abs().max() < 0.35
    code, out, err = cli("report", study_dir)
    assert code == 0, err
    page = (study_dir / "report.html").read_text()
    assert "Does an early score predict the final one?" in page
    rho = data[(data.cell == CELLS[1]) & (data.step == 200)].rho.iloc[0]
    assert (f"In cell {CELLS[1]} (random), the score at step 200 of 1000 ranks trials as the final score "
            f"does with ρ = {rho:.2f} (n = 70)") in page
    assert ("ρ ≥ 0.9 from step 200 on" in page) == (early == "monotone")


def test_the_synthetic_studys_report_shows_rho_one(reported_study: Path):
    """The shared synthetic study's curves are a fixed factor times the final score: ρ = 1 wherever
    three or more trials finished."""
    data = pd.read_csv(reported_study / "plots" / "rank_correlation.csv")
    assert set(data.metric) == {"fd"} and np.allclose(data[data.n >= 3].rho, 1.0) and (data.n >= 3).any()
    assert "ranks trials as the final score does with ρ = 1.00" in (reported_study / "report.html").read_text()
