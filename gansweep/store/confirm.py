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
import pyarrow.dataset as ds

from gansweep.storage import StoragePath, arrow_source, location
from gansweep.store.parquet import RESULTS_DIR, TRIALS_DIR, StoreError, TrialStore, _visible, trial_columns

log = logging.getLogger(__name__)

CONFIRM_DIR = "confirm"
CONFIRM_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("confirms", pa.string()),
    ("rank", pa.int64()),
    ("seed_index", pa.int64()),
    ("train_seed", pa.int64()),
    ("eval_seed", pa.int64()),
    ("samples", pa.int64()),
    ("search_score", pa.float64()),
    ("stream", pa.string()),
]


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
    confirmed and the seed index. :class:`StoreError` names a file that cannot be read."""
    directory = confirm_root(study_dir) / TRIALS_DIR
    files = _visible(directory)
    if not files:
        return pd.DataFrame()
    sources = [arrow_source(f)[0] for f in files]
    try:
        table = ds.dataset(sources, format="parquet", filesystem=arrow_source(directory)[1]).to_table()
    except (pa.ArrowException, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StoreError(f"{directory}: a confirmation results file cannot be read ({reason}); move the damaged "
                         "file away and run 'gansweep confirm' again: its trials run again") from None
    need = ("trial_id", "cell", "strategy", "status", "score", "confirms", "seed_index")
    missing = [c for c in need if c not in table.column_names]
    if missing or table.column("trial_id").null_count:
        what = f"column {missing[0]!r} is missing" if missing else "a row has no trial_id"
        raise StoreError(f"{directory}: not confirmation results ({what}); move the damaged file away and run "
                         "'gansweep confirm' again")
    df = table.to_pandas().drop_duplicates("trial_id")
    return df.sort_values(["confirms", "seed_index", "trial_id"], ignore_index=True)
