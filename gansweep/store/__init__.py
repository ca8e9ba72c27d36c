"""The results store: Parquet datasets, one row per trial and one per evaluation."""

from gansweep.store.parquet import TrialStore, read_evals, read_trials, trial_columns

__all__ = ["TrialStore", "read_evals", "read_trials", "trial_columns"]
