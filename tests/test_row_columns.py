"""Rows that explain themselves: best_step, seed, integer round, GPUs per trial, the initial design
named, defaults not stored as searched, a diverged trial's reason; old studies read the same way."""

import json
import math

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from gansweep.driver.callbacks import trial_row
from gansweep.search.composite import suggested_by, trial_config
from gansweep.store import read_trials
from gansweep.study import build_plan, load_study
from gansweep.trial.settings import TrialContext
from gansweep.trial.worker import _final, _run_synthetic

EVALS = [{"step": 100, "seconds": 1.0, "fd": 0.5}, {"step": 200, "seconds": 2.0, "fd": 0.2},
         {"step": 300, "seconds": 3.0, "fd": 0.3}]


def _plan(tmp_path, search):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "grid": {"dataset": ["ring8"], "architecture": ["mlp"],
                                                           "loss": ["ns"], "penalty": ["none"]},
                                    "training": {"steps": 300, "eval_every": 100}, "search": search}))
    return build_plan(load_study(path), str(path))


def test_a_row_says_its_seed_best_step_gpus_and_which_hps_were_searched(tmp_path):
    plan = _plan(tmp_path, [{"strategy": "random", "trials": 2, "space": {"lr": {"low": 1e-4, "high": 1e-2}}}])
    entry = plan.entries[0]
    config = trial_config(entry, 0, {"lr": 1e-3}, None, 0)
    assert config["hp"]["beta2"] == 0.999  # the trial trains with the default ...
    row, _ = trial_row(config, _final(EVALS, "fd", "completed", 300, 3.0), "s", 0.5, ["fd"])
    assert row["best_step"] == 200 and row["seed"] == config["seed"] and row["gpus_per_trial"] == 0.5
    assert row["hp_lr"] == 1e-3 and row["hp_beta2"] is None and row["hp_n_disc"] is None  # ... not searched


def test_round_zero_of_a_sequential_strategy_is_named_its_initial_design(tmp_path):
    plan = _plan(tmp_path, [{"strategy": "gp", "rounds": 2, "per_round": 2,
                             "space": {"lr": {"low": 1e-4, "high": 1e-2}}},
                            {"strategy": "random", "trials": 1, "space": {"lr": {"low": 1e-4, "high": 1e-2}}}])
    gp, random = plan.entries
    assert suggested_by(gp, 0, None) == "gp:initial-design"
    assert suggested_by(gp, 1, None) == "gp"
    assert suggested_by(random, None, None) == "random"


def test_a_diverged_dry_run_trial_says_why_and_when(tmp_path):
    plan = _plan(tmp_path, [{"strategy": "random", "trials": 60, "space": {"lr": {"low": 1e-1, "high": 1.0}}}])
    context = TrialContext.from_plan(plan, cache_dir=str(tmp_path), dry_run=True)
    reasons = []
    for i in range(60):
        reports = []
        _run_synthetic(trial_config(plan.entries[0], i, {"lr": 0.5}, None, i), context,
                       lambda r, d=None: reports.append(r))
        if reports[-1]["status"] == "diverged":
            reasons.append(reports[-1]["error"])
    assert reasons, "lr 0.5 diverges often in the dry run's simulation"
    assert all(r and "non-finite" in r and "step" in r for r in reasons), reasons


def _old_study(tmp_path):
    """A study directory as gansweep wrote it before these columns: ``gpu``, no seed or best_step,
    ``suggested_by`` of a GP round 0 the strategy's name, ``round`` null for random search."""
    trials, evals = tmp_path / "results" / "trials", tmp_path / "results" / "evals"
    trials.mkdir(parents=True)
    evals.mkdir(parents=True)
    rows = []
    for tid, strategy, round_, score in (("c-gp-0000", "gp", 0, 0.2), ("c-gp-0003", "gp", 1, 0.3),
                                         ("c-random-0000", "random", None, 0.5)):
        config = {"trial_id": tid, "seed": 1234 + len(rows), "metrics": {"primary": "fd"}}
        rows.append({"trial_id": tid, "study": "old", "cell": "c", "dataset": "ring8", "architecture": "mlp",
                     "loss": "ns", "penalty": "none", "normalization": "none", "strategy": strategy,
                     "round": round_, "index": len(rows), "suggested_by": strategy, "status": "completed",
                     "score": score, "fd": score, "hp_lr": 1e-3, "steps": 300, "train_seconds": 3.0,
                     "gpu": 1.0, "error": None, "config": json.dumps(config),
                     "written_at": pd.Timestamp("2026-01-01", tz="UTC")})
        ev = [{"trial_id": tid, "step": s, "seconds": float(s), "fd": v, "diagnostics": None}
              for s, v in ((100, score + 1.0), (200, score), (300, score))]
        pq.write_table(pa.Table.from_pylist(ev), evals / f"{tid}.parquet")
    schema = pa.schema([("trial_id", pa.string()), ("study", pa.string()), ("cell", pa.string()),
                        ("dataset", pa.string()), ("architecture", pa.string()), ("loss", pa.string()),
                        ("penalty", pa.string()), ("normalization", pa.string()), ("strategy", pa.string()),
                        ("round", pa.int64()), ("index", pa.int64()), ("suggested_by", pa.string()),
                        ("status", pa.string()), ("score", pa.float64()), ("fd", pa.float64()),
                        ("hp_lr", pa.float64()), ("steps", pa.int64()), ("train_seconds", pa.float64()),
                        ("gpu", pa.float64()), ("error", pa.string()), ("config", pa.string()),
                        ("written_at", pa.timestamp("us", tz="UTC"))])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), trials / "part-0.parquet")
    return tmp_path


def test_an_old_study_reads_with_the_new_columns(tmp_path):
    df = read_trials(_old_study(tmp_path)).set_index("trial_id")
    assert "gpu" not in df.columns and (df.gpus_per_trial == 1.0).all()
    assert str(df["round"].dtype) == "Int64" and df.loc["c-gp-0003", "round"] == 1
    assert df.loc["c-random-0000", "round"] is pd.NA
    assert df.seed.tolist() == [1234, 1235, 1236] and str(df.seed.dtype) == "Int64"
    assert df.best_step.tolist() == [200, 200, 200]  # the first evaluation that reached the score
    assert df.suggested_by.tolist() == ["gp:initial-design", "gp", "random"]


def test_an_old_study_resumed_mixes_old_and_new_files(tmp_path):
    """A new gansweep writes new-schema files beside the old ones: both read, nothing lost."""
    from gansweep.store import TrialStore

    sd = _old_study(tmp_path)
    store = TrialStore(sd / "results", ["fd"], ["lr"], fsync=False)
    store.write({"trial_id": "c-random-0001", "cell": "c", "strategy": "random", "index": 3, "seed": 9,
                 "status": "completed", "score": 0.4, "fd": 0.4, "best_step": 300, "gpus_per_trial": 2.0},
                [{"step": 300, "fd": 0.4}])
    df = read_trials(sd).set_index("trial_id")
    assert len(df) == 4 and df.gpus_per_trial.tolist() == [1.0, 1.0, 1.0, 2.0]
    assert df.loc["c-random-0001", "best_step"] == 300 and df.loc["c-random-0001", "seed"] == 9
    assert not math.isnan(df.loc["c-gp-0000", "score"])
