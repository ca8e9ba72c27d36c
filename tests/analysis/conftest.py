"""A synthetic stored study for the analysis tests, written through the real TrialStore.

Two data sets x (penalty x normalization) = 8 cells, three strategies (table1, random, gp in
rounds), a score surface with some divergences and failures (one error message carries HTML
characters), evaluations per trial, and a study.yaml with log-scale hyperparameters.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from synthetic_study import DATASETS, ERROR, HPS, METRICS, NORMS, PENALTIES

from gansweep.store import TrialStore

STUDY_YAML = {
    "name": "synthetic",
    "seed": 0,
    "grid": {"dataset": DATASETS, "architecture": ["dcgan"], "loss": ["ns"],
             "penalty": PENALTIES, "normalization": NORMS},
    "training": {"steps": 5000, "batch_size": 64, "eval_every": 1000},
    "metrics": {"primary": "fd", "extra": ["modes"]},
    "search": [
        {"strategy": "table1"},
        {"strategy": "random", "trials": 12,
         "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True},
                   "beta1": {"low": 0.0, "high": 1.0}, "beta2": {"low": 0.0, "high": 1.0},
                   "n_disc": {"choices": [1, 5]},
                   "penalty_weight": {"low": 0.1, "high": 100.0, "log": True}}},
        {"strategy": "gp", "rounds": 2, "per_round": 4,
         "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True},
                   "beta1": {"low": 0.0, "high": 1.0}, "beta2": {"low": 0.0, "high": 1.0},
                   "n_disc": {"choices": [1, 5]},
                   "penalty_weight": {"low": 0.1, "high": 100.0, "log": True}}},
    ],
    "resources": {"gpu": 1, "cpu": 4},
}


def planned(spec: dict = STUDY_YAML) -> list[tuple[str, int, int | None]]:
    """(strategy, index, round) of every trial of one cell."""
    out: list[tuple[str, int, int | None]] = [("table1", i, None) for i in range(4)]
    for entry in spec["search"][1:]:
        if entry["strategy"] == "random":
            out += [("random", i, None) for i in range(entry["trials"])]
        else:
            out += [("gp", i, i // entry["per_round"]) for i in range(entry["rounds"] * entry["per_round"])]
    return out


def build_study(study_dir: Path, *, seed: int = 0, fraction: float = 1.0,
                spec: dict = STUDY_YAML, write_yaml: bool = True) -> Path:
    """Write a synthetic study; ``fraction`` < 1 stores only the first part (a running study)."""
    rng = np.random.default_rng(seed)
    study_dir.mkdir(parents=True, exist_ok=True)
    if write_yaml:
        (study_dir / "study.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    store = TrialStore(study_dir / "results", metrics=METRICS, hps=HPS)
    trials = planned(spec)
    keep = max(1, int(round(len(trials) * fraction)))
    for d_i, dataset in enumerate(DATASETS):
        for p_i, penalty in enumerate(PENALTIES):
            for n_i, norm in enumerate(NORMS):
                cell = f"{dataset}.dcgan.ns.{penalty}.{norm}"
                base = (4.0 if dataset == "digits" else 0.05) * (1 + 0.6 * p_i + 0.3 * n_i - 0.5 * p_i * n_i)
                for strategy, index, rnd in trials[:keep]:
                    lr = float(10 ** rng.uniform(-5, -2))
                    hp = {"lr": lr, "beta1": float(rng.uniform()), "beta2": float(rng.uniform()),
                          "n_disc": float(rng.choice([1, 5])),
                          "penalty_weight": float(10 ** rng.uniform(-1, 2))}
                    quality = base * (1 + 3 * (math.log10(lr) + 3.5) ** 2) * float(rng.lognormal(0, 0.3))
                    if strategy == "gp":
                        quality *= 0.9 ** index  # the bandit improves
                    status, error = "completed", None
                    u = rng.uniform()
                    if lr > 5e-3 and u < 0.7:
                        status = "diverged"
                    elif u < 0.03:
                        status, error = "failed", ERROR
                    steps = [1000 * (j + 1) for j in range(5)]
                    curve = [quality * (1 + 4 * math.exp(-j)) for j in range(5)]
                    evals = ([] if status == "failed" else
                             [{"step": s, "seconds": 30.0 * (j + 1), "fd": c, "modes": 8 - j % 2}
                              for j, (s, c) in enumerate(zip(steps, curve))])
                    row = {
                        "trial_id": f"{cell}-{strategy}-{index:04d}", "study": "synthetic",
                        "cell": cell, "dataset": dataset, "architecture": "dcgan", "loss": "ns",
                        "penalty": penalty, "normalization": norm, "strategy": strategy,
                        "round": rnd, "index": index, "status": status,
                        "score": min(curve) if status == "completed" else math.nan,
                        "fd": min(curve) if status == "completed" else math.nan,
                        "modes": 8.0 if status == "completed" else math.nan,
                        **{f"hp_{k}": v for k, v in hp.items()},
                        "steps": 5000 if status == "completed" else 2000,
                        "train_seconds": 150.0 * (2.0 if strategy == "gp" else 1.0),
                        "gpu": 1.0, "error": error, "config": {"hp": hp, "cell": cell},
                    }
                    store.write(row, evals)
    return study_dir


@pytest.fixture(scope="session")
def _stored_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_study(tmp_path_factory.mktemp("study") / "synthetic")


@pytest.fixture()
def study_dir(_stored_study: Path, tmp_path: Path) -> Path:
    """A complete synthetic study, copied per test so tests may write plots into it."""
    dest = tmp_path / "synthetic"
    shutil.copytree(_stored_study, dest)
    return dest


@pytest.fixture(scope="session")
def reported_study(_stored_study: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The complete study after write_report (which also writes every plot), shared read-only."""
    from gansweep.analysis.report import write_report

    dest = tmp_path_factory.mktemp("reported") / "synthetic"
    shutil.copytree(_stored_study, dest)
    write_report(dest)
    return dest


@pytest.fixture(scope="session")
def partial_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A study still running (a quarter of its trials stored, gp mid-round), reported with
    non-default options: a higher-is-better metric, panels per penalty, colour per normalization."""
    from gansweep.analysis.report import write_report

    path = build_study(tmp_path_factory.mktemp("running") / "running", seed=1, fraction=0.25)
    write_report(path, by="normalization", panel="penalty", metric="modes")
    return path
