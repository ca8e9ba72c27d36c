"""What an outside reviewer does with a study, as a user would: read the rows with plain pandas (the
docs' own example), and hit the command line with hostile study directories. Each test here
failed before its fix."""

import pandas as pd

from gansweep.store.parquet import INTEGER_TRIAL_COLUMNS, TrialStore


def _row(tid: str, round_: int | None, status: str, best_step: int | None) -> dict:
    return {"trial_id": tid, "study": "s", "cell": "c", "strategy": "gp" if round_ is not None else "random",
            "round": round_, "index": 0, "seed": 7, "suggested_by": "random", "status": status,
            "score": 1.0 if status == "completed" else None, "fd": 1.0, "steps": 10, "best_step": best_step,
            "train_seconds": 1.0, "gpus_per_trial": 0.0}


def test_plain_pandas_reads_round_and_best_step_as_integers(tmp_path):
    """docs/STUDY-DIRECTORY.md reads results with ``pd.read_parquet`` and calls ``round`` and
    ``best_step`` Int64: a null (random search's round, a diverged trial's best step) must not turn
    the column into float64, in the small files a running study writes and after compaction."""
    store = TrialStore(tmp_path / "results", ["fd"], ["lr"], compact_at=0, fsync=False)
    store.write(_row("a", None, "completed", 10))
    store.write(_row("b", 2, "diverged", None))
    for _ in range(2):
        df = pd.read_parquet(tmp_path / "results" / "trials")
        assert {c: str(df[c].dtype) for c in INTEGER_TRIAL_COLUMNS} == dict.fromkeys(INTEGER_TRIAL_COLUMNS, "Int64")
        assert df.set_index("trial_id")["round"].isna().to_dict() == {"a": True, "b": False}
        store.compact()
