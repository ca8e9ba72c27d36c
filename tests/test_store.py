"""The Parquet store: idempotent by trial id, atomic, readable with pandas."""

import math

import pandas as pd

from gansweep.store import TrialStore, read_evals, read_trials


def row(tid, score):
    return {"trial_id": tid, "status": "completed", "score": score, "fd": score, "hp_lr": 1e-3, "steps": 10}


def test_same_trial_twice_leaves_one_row(tmp_path):
    store = TrialStore(tmp_path / "results", ["fd"], ["lr"])
    assert store.write(row("c-random-0000", 1.0), [{"step": 10, "seconds": 1.0, "fd": 1.0}])
    assert not store.write(row("c-random-0000", 9.0), [{"step": 10, "seconds": 1.0, "fd": 9.0}])
    again = TrialStore(tmp_path / "results", ["fd"], ["lr"])  # a new driver (resume)
    assert not again.write(row("c-random-0000", 7.0))
    df = read_trials(tmp_path)
    assert list(df.trial_id) == ["c-random-0000"] and df.score[0] == 1.0
    assert len(read_evals(tmp_path)) == 1
    raw = pd.read_parquet(tmp_path / "results" / "trials")  # plain pandas, as DESIGN.md promises
    assert len(raw) == 1


def test_temporary_files_are_invisible(tmp_path):
    store = TrialStore(tmp_path / "results", ["fd"], ["lr"])
    store.write(row("a-random-0000", 2.0))
    (tmp_path / "results" / "trials" / ".tmp-half-written.parquet").write_bytes(b"PAR1 garbage")
    assert len(pd.read_parquet(tmp_path / "results" / "trials")) == 1


def test_missing_values_and_diagnostics(tmp_path):
    store = TrialStore(tmp_path / "results", ["fd", "modes"], ["lr", "penalty_weight"])
    store.write({"trial_id": "x-random-0001", "status": "diverged", "score": math.nan, "round": None},
                [{"step": 5, "seconds": 0.5, "fd": 3.0, "d_loss": 0.7}])
    df = read_trials(tmp_path)
    assert df.status[0] == "diverged" and math.isnan(df.score[0]) and pd.isna(df["round"][0])
    ev = read_evals(tmp_path)
    assert ev.fd[0] == 3.0 and '"d_loss": 0.7' in ev.diagnostics[0]


def test_empty_store_reads_empty(tmp_path):
    assert read_trials(tmp_path).empty and read_evals(tmp_path).empty
