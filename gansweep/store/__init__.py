"""The results store: Parquet datasets, one row per trial and one per evaluation."""

from gansweep.store.parquet import (
    StoreError,
    StoreReadError,
    StoreWriteError,
    TrialStore,
    damaged_files,
    quarantine_damaged,
    read_evals,
    read_trials,
    stored_trial_ids,
    trial_columns,
)

__all__ = ["StoreError", "StoreReadError", "StoreWriteError", "TrialStore", "damaged_files", "quarantine_damaged", "read_evals",
           "read_trials", "stored_trial_ids", "trial_columns"]
