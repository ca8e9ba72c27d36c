"""The confirmation's rows: ``results/confirm/``, one row per confirmed configuration and seed.

Why this module exists: confirmation trials are stored with the search store's writer (atomic
files, first write of an id wins, compaction, crash repair: :class:`~gansweep.store.parquet.TrialStore`)
under ``results/confirm/trials`` and ``results/confirm/evals``, with columns of their own: the
search trial a row confirms (``confirms``), its rank there, the seed index and the training and
evaluation seeds, the number of samples scored, the search's score of that configuration, and
``stream``, which says in words which evaluation stream the row's numbers come from.
``pandas.read_parquet("runs/<name>/results/confirm/trials")`` reads it as well.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa

from gansweep.storage import StoragePath, location
from gansweep.store.parquet import (CONFIRM_COLUMNS, RENAMED_TRIAL_COLUMNS, REQUIRED_CONFIRM_COLUMNS, RESULTS_DIR,
                                    TRIALS_DIR, StoreError, TrialStore, _read, _unscored_diverged,
                                    trial_columns)

log = logging.getLogger(__name__)

CONFIRM_DIR = "confirm"


def confirm_root(study_dir: str | StoragePath) -> StoragePath:
    return location(study_dir) / RESULTS_DIR / CONFIRM_DIR


def confirm_columns(metrics: Sequence[str], hps: Sequence[str]) -> pa.Schema:
    """The search's trial columns and the confirmation's own."""
    schema = trial_columns(metrics, hps)
    for name, type_ in CONFIRM_COLUMNS:
        schema = schema.append(pa.field(name, type_))
    return schema


class ConfirmStore(TrialStore):
    """:class:`TrialStore` over ``results/confirm`` with the confirmation's columns."""

    def __init__(self, study_dir: str | StoragePath, metrics: Sequence[str], hps: Sequence[str],
                 compact_at: int | None = None, fsync: bool | None = None) -> None:
        super().__init__(confirm_root(study_dir), metrics, hps, compact_at=compact_at, fsync=fsync)
        self.trial_schema = confirm_columns(metrics, hps)


def read_confirm(study_dir: str | StoragePath) -> pd.DataFrame:
    """Every stored confirmation row (empty frame when none), one per id, ordered by the search trial
    confirmed and the seed index. Read as the search's rows are (:func:`gansweep.store.parquet.read_trials`):
    a colleague's columns ignored, other encodings of ours accepted, retried while a writer compacts
    (then :class:`StoreReadError`, exit 1), a result without a finite score read as ``diverged``;
    :class:`StoreError` names a file that cannot give the columns."""
    directory = confirm_root(study_dir) / TRIALS_DIR
    try:
        df = _read(directory, REQUIRED_CONFIRM_COLUMNS)
    except StoreError as exc:  # StoreReadError (a machine's failure, exit 1) is not one: it passes
        raise StoreError(f"{str(exc).split('; ')[0]}: not readable confirmation results; move the damaged file "
                         "away and run 'gansweep confirm' again: its trials run again") from None
    if df.empty:
        return df
    df = _unscored_diverged(df.drop_duplicates("trial_id")).drop(columns=[c for c in RENAMED_TRIAL_COLUMNS if c in df])
    return df.sort_values(["confirms", "seed_index", "trial_id"], ignore_index=True)
