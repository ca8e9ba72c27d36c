"""What ``plot`` and ``report`` write is a contract (DESIGN.md: plots/*.csv are read by users'
scripts): the file names, each CSV's columns and the report's sections, on the synthetic study
complete and still running. A restructuring of the analysis must leave them as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

AXES = ["dataset", "architecture", "loss", "penalty", "normalization"]
COLUMNS = {
    "budget_curves.csv": ["cell", *AXES, "strategy", "budget", "median", "lo", "hi", "mean", "running_best",
                          "metric"],
    "distributions.csv": ["cell", *AXES, "subset", "n", "trials", "diverged", "failed", "min", "q1", "median", "q3",
                          "max", "mean", "metric"],
    "learning_curves.csv": ["cell", *AXES, "strategy", "trial_id", "rank", "step", "seconds", "value", "metric"],
    "rank_correlation.csv": ["cell", "strategy", "step", "final_step", "rho", "n", "metric"],
    "score_vs_compute.csv": ["cell", *AXES, "strategy", "trial_id", "status", "index", "gpu_hours", "unit", "score",
                             "cumulative_gpu_hours", "best_so_far", "metric"],
    "score_vs_compute_bands.csv": ["cell", "strategy", "compute", "median", "lo", "hi"],
    "sensitivity.csv": ["cell", *AXES, "strategy", "trial_id", "status", "hp", "value", "score", "log_x", "kind",
                        "metric"],
    "verdicts.csv": ["dataset", "strategy", "cell_a", "cell_b", "k", "n_a", "n_b", "p_a_beats_b", "lo", "hi",
                     "verdict", "more_trials_per_cell", "metric"],
}
PNGS = ["budget_curves.png", "budget_curves_by_cell.png", "distributions.png", "learning_curves.png",
        "score_vs_compute.png", "sensitivity.png"]
SECTIONS = ["ranking", "verdicts", "compute", "rank-correlation", "progress", "best", "plots", "samples", "failures",
            "study"]


@pytest.mark.parametrize("which", ["reported_study", "partial_study"])
def test_plot_files_and_csv_columns(which: str, request: pytest.FixtureRequest) -> None:
    plots = request.getfixturevalue(which) / "plots"
    assert sorted(p.name for p in plots.iterdir()) == sorted([*COLUMNS, *PNGS])
    for name, columns in COLUMNS.items():
        assert list(pd.read_csv(plots / name, nrows=0).columns) == columns, name


def _sections(study: Path) -> list[str]:
    return re.findall(r'<h2 id="([^"]+)"', (study / "report.html").read_text())


def test_report_sections_in_order(reported_study: Path, partial_study: Path) -> None:
    assert _sections(reported_study) == SECTIONS
    # a quarter of the trials: no trial ran to the end in most cells, so no early-score section
    assert _sections(partial_study) == [s for s in SECTIONS if s != "rank-correlation"]
