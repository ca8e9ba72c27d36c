"""plot_study on the synthetic stored study: files, CSV columns, partial results, errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gansweep.analysis.plots import plot_study
from gansweep.errors import GansweepError, NotAStudyError

BUDGET_COLUMNS = ["cell", "dataset", "architecture", "loss", "penalty", "normalization",
                  "strategy", "budget", "median", "lo", "hi", "mean"]


def test_budget_curves_files_and_columns(study_dir: Path) -> None:
    paths = plot_study(study_dir)
    names = {p.name for p in paths}
    assert {"budget_curves.png", "budget_curves.csv"} <= names
    for p in paths:
        assert p.parent == study_dir / "plots" and p.stat().st_size > 0
    assert not [p for p in (study_dir / "plots").iterdir() if p.name.startswith(".")]
    data = pd.read_csv(study_dir / "plots" / "budget_curves.csv")
    assert list(data.columns[:len(BUDGET_COLUMNS)]) == BUDGET_COLUMNS
    sizes = data.groupby(["cell", "strategy"])["budget"].max()
    assert sizes.loc[("digits.dcgan.ns.gp.sn", "random")] == 12
    assert data["cell"].nunique() == 8
    assert (study_dir / "plots" / "budget_curves.png").read_bytes()[:4] == b"\x89PNG"


def test_partial_results(partial_study: Path) -> None:
    paths = plot_study(partial_study, by="normalization", metric="fd")
    assert (partial_study / "plots" / "budget_curves.png").exists()
    assert paths


def test_not_a_study(tmp_path: Path) -> None:
    with pytest.raises(NotAStudyError, match="not a study directory"):
        plot_study(tmp_path)
    with pytest.raises(NotAStudyError):
        plot_study(tmp_path / "missing")


def test_no_results_yet(tmp_path: Path) -> None:
    (tmp_path / "study.yaml").write_text("name: empty\n")
    with pytest.raises(GansweepError, match="no results yet"):
        plot_study(tmp_path)


def test_bad_options(study_dir: Path) -> None:
    with pytest.raises(GansweepError, match="unknown metric"):
        plot_study(study_dir, metric="nope")
    with pytest.raises(GansweepError, match="--by"):
        plot_study(study_dir, by="dataset")
    with pytest.raises(GansweepError, match="--panel"):
        plot_study(study_dir, panel="colour")
