"""The study's figures, each written as a PNG plus the plotted data as a CSV beside it: the
registry of figures and ``gansweep plot``'s entry point. Loading is :mod:`.loading`, what is
computed once :mod:`.study_analysis` (the data behind each figure: :mod:`.tables`), each figure a
module of :mod:`.figures` that renders it.

Why this module exists: ``gansweep plot STUDY_DIR`` must turn ``results/`` alone (no Ray, no GPU,
no trial code) into the figures of "The GAN Landscape", also while the study still runs. Every
figure follows one reading convention: one panel per value of ``panel`` (the data set by
default, since scores of different data sets are not comparable), colour per value of ``by``
(the grid axis that varies most by default), line style per search strategy, a colour-blind-safe
palette (Okabe-Ito), legends outside the data, log scales where values span orders of
magnitude, and diverged or failed trials shown as such rather than dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from gansweep.analysis.figures.budget_curves import plot_budget_curves, plot_budget_curves_by_cell
from gansweep.analysis.figures.confirmed import plot_confirmed
from gansweep.analysis.figures.common import save_csv
from gansweep.analysis.figures.distributions import plot_distributions
from gansweep.analysis.figures.learning_curves import plot_learning_curves
from gansweep.analysis.figures.score_vs_compute import plot_score_vs_compute
from gansweep.analysis.figures.sensitivity import plot_sensitivity
from gansweep.analysis.study_analysis import StudyAnalysis
from gansweep.storage import StoragePath
from gansweep.store.studydir import PLOTS_DIR

log = logging.getLogger(__name__)



def write_verdicts(a: StudyAnalysis, out_dir: Path) -> list[Path]:
    """verdicts.csv: P(A beats B at k) with its bootstrap interval for every pair of cells."""
    return [save_csv(a.verdicts, out_dir / "verdicts.csv")]


def write_rank_correlation(a: StudyAnalysis, out_dir: Path) -> list[Path]:
    """rank_correlation.csv: per cell, strategy and evaluation step, Spearman ρ between the trials'
    score at that step and their final score (is stopping early safe in this cell?)."""
    return [save_csv(a.rank_correlation, out_dir / "rank_correlation.csv")]


PLOTTERS: dict[str, Callable[[StudyAnalysis, Path], list[Path]]] = {
    "budget_curves": plot_budget_curves,
    "budget_curves_by_cell": plot_budget_curves_by_cell,
    "distributions": plot_distributions,
    "score_vs_compute": plot_score_vs_compute,
    "sensitivity": plot_sensitivity,
    "learning_curves": plot_learning_curves,
    "confirmed": plot_confirmed,
    "verdicts": write_verdicts,
    "rank_correlation": write_rank_correlation,
}
"""The figure registry (name → writer of ``plots/<name>.png`` and ``.csv``): one module per figure
in :mod:`gansweep.analysis.figures`; ``verdicts`` and ``rank_correlation`` are tables the report
draws."""
PLOTS = tuple(name for name in PLOTTERS if name not in ("verdicts", "rank_correlation", "confirmed"))
"""The figures every study has, in the order the report shows them (``confirmed`` only exists with a
confirmation, and the report shows it in its confirmation section)."""


def plot_study(study_dir: str | StoragePath, by: str | None = None, panel: str | None = None,
               metric: str | None = None, out: str | Path | None = None) -> list[Path]:
    """Write ``plots/<name>.png`` and ``plots/<name>.csv`` for every figure; return their paths.

    ``plots/`` is in ``out``, by default the study directory (``./<name>`` for a study in a bucket).

    ``panel``: grid axis with one panel per value (default ``dataset``); ``by``: grid axis
    coloured (default: the one with most values); ``metric``: column plotted (default
    ``score``, the primary metric). Works on the partial results of a running study. Raises
    NotAStudyError when ``study_dir`` has neither study.yaml nor results/, GansweepError when
    no trial is stored yet or an option names nothing in the study.
    """
    return render_all(StudyAnalysis.load(study_dir, by=by, panel=panel, metric=metric, out=out))


def render_all(a: StudyAnalysis) -> list[Path]:
    """Every figure of an analysed study into ``plots/``."""
    out_dir = a.study.out_dir / PLOTS_DIR
    written: list[Path] = []
    for plotter in PLOTTERS.values():
        written += plotter(a, out_dir)
    return written
