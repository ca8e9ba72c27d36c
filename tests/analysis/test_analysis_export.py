"""export_study: trials and evals as single files, CSV or Parquet."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gansweep.analysis.export import export_study
from gansweep.errors import GansweepError, NotAStudyError


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export(_stored_study: Path, tmp_path: Path, fmt: str) -> None:
    paths = export_study(_stored_study, fmt, tmp_path / "out")
    assert [p.name for p in paths] == [f"trials.{fmt}", f"evals.{fmt}"]
    read = pd.read_csv if fmt == "csv" else pd.read_parquet
    trials, evals = read(paths[0]), read(paths[1])
    stored = pd.read_parquet(_stored_study / "results" / "trials")
    assert len(trials) == len(stored) == 192 and set(stored.columns) == set(trials.columns)  # suggested_by is stored
    assert len(evals) == len(pd.read_parquet(_stored_study / "results" / "evals"))
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]


def test_export_default_destination_and_errors(study_dir: Path, tmp_path: Path) -> None:
    paths = export_study(study_dir, "csv")
    assert all(p.parent == study_dir / "export" for p in paths)
    with pytest.raises(GansweepError, match="--format"):
        export_study(study_dir, "xlsx")  # type: ignore[arg-type]
    with pytest.raises(NotAStudyError):
        export_study(tmp_path / "nothing")
