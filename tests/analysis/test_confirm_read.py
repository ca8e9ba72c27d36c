"""results/confirm is read as results/trials is (issue 30's tolerance, carried to issue 28's rows):
a colleague's column, another encoding of ours, a result without a finite score; a damaged file is
named with the confirmation's own fix. Each case failed with the reader before (pyarrow's dataset
over the files' first schema)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_analysis_confirmed import confirm

from gansweep.errors import GansweepError
from gansweep.store.confirm import confirm_root, read_confirm
from gansweep.store.parquet import TRIALS_DIR


def _files(study_dir: Path) -> list[Path]:
    return sorted(Path(confirm_root(study_dir) / TRIALS_DIR).glob("*.parquet"))


def _rewrite(path: Path, change) -> None:
    df = pq.read_table(path).to_pandas()
    pq.write_table(__import__("pyarrow").Table.from_pandas(change(df), preserve_index=False), path)


def test_a_colleagues_column_and_another_encoding_read(study_dir: Path) -> None:
    before = confirm(study_dir)
    first, *rest = _files(study_dir)
    assert rest, "the synthetic confirmation writes several files"
    _rewrite(first, lambda df: df.assign(note="checked by hand", cell=df.cell.astype("category"),
                                         rank=df["rank"].astype("int32")))
    after = read_confirm(study_dir)
    assert len(after) == len(before) and "note" not in after.columns
    pd.testing.assert_series_equal(after.score, before.score.reset_index(drop=True), check_names=False)
    assert set(after.cell) == set(before.cell)
    assert Path(first).exists()  # nothing moved or deleted


def test_a_completed_row_without_a_score_reads_diverged(study_dir: Path) -> None:
    confirm(study_dir)
    first = _files(study_dir)[0]
    _rewrite(first, lambda df: df.assign(score=np.nan))
    rows = read_confirm(study_dir)
    changed = set(pq.read_table(first, columns=["trial_id"]).column("trial_id").to_pylist())
    bad = rows[rows.trial_id.isin(changed)]
    assert len(bad) and (bad.status == "diverged").all() and (bad.error == "score is not finite").all()
    assert (rows[~rows.trial_id.isin(changed)].status == "completed").all()


def test_a_damaged_file_is_named_with_the_confirmations_fix(study_dir: Path) -> None:
    confirm(study_dir)
    first = _files(study_dir)[0]
    _rewrite(first, lambda df: df.assign(score="high"))
    with pytest.raises(GansweepError, match=r"confirm.*damaged results file.*run 'gansweep confirm' again"):
        read_confirm(study_dir)
