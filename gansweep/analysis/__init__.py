"""Analysis of stored results: budget curves, plots, the study report, exports.

Reads ``results/`` alone (no Ray, no GPU, no trial code), so it runs on a laptop against a copy of
a study directory, including one whose study is still running. ``samples`` and ``evaluate``
also read the generators the trials kept (``generators/``), with torch.

    StudyAnalysis.load(study_dir, by=None, panel=None, metric=None): a study read once; its
        ranking, progress, verdicts, budget curves, best trials, ... computed once   (study_analysis.py)
    budget_curve(scores) / budget_curves(trials, by, metric) / running_best(trials)   (budget.py)
    plot_study(study_dir, by=None, panel=None, metric=None) -> list[Path]           (plots.py)
    write_report(study_dir) -> Path                                                  (report.py)
    export_study(study_dir, fmt="csv" | "parquet", dest=None) -> list[Path]         (export.py)
    write_samples(study_dir, trial_ids=None, top=None, n=None) -> list[Path]         (samples.py)
    evaluate_study(study_dir, trial_ids=None, top=None, samples=None, metrics=None)  (evaluate.py)
    read_confirmed(study_dir) -> rows of results/confirm; confirmed_table(rows),
    cell_summary(rows), confirmed_verdicts(rows), held_up(trials, summary, verdicts) (confirmed.py)
    rank_correlation(trials, evals, metric, final="score") -> DataFrame              (early_scores.py)

The plotting modules import matplotlib, so they load on first use of their names.

Pandas recipe, for analyses of your own::

    import pandas as pd
    from gansweep.analysis import budget_curves
    from gansweep.status import SCORED   # completed, and stopped: scored at what it reached
    trials = pd.read_parquet("runs/reg_norm/results/trials")
    evals = pd.read_parquet("runs/reg_norm/results/evals")
    done = trials[trials.status.isin(SCORED)]
    done.groupby(["dataset", "penalty", "normalization"])["score"].describe()
    curves = budget_curves(trials, by=["dataset", "penalty", "normalization", "strategy"])
    curves[curves.budget == 10].sort_values("median")
"""

from __future__ import annotations

import importlib
from typing import Any

from gansweep.analysis.budget import budget_curve, budget_curves, running_best

_LAZY = {"StudyAnalysis": "gansweep.analysis.study_analysis", "plot_study": "gansweep.analysis.plots", "write_report": "gansweep.analysis.report",
         "export_study": "gansweep.analysis.export", "write_samples": "gansweep.analysis.samples",
         "evaluate_study": "gansweep.analysis.evaluate", "rank_correlation": "gansweep.analysis.early_scores",
         **{name: "gansweep.analysis.confirmed" for name in ("read_confirmed", "confirmed_table", "cell_summary",
                                                              "confirmed_verdicts", "held_up")}}

__all__ = ["StudyAnalysis", "budget_curve", "budget_curves", "export_study", "plot_study", "rank_correlation", "running_best",
           "write_report", "write_samples", "evaluate_study", "read_confirmed", "confirmed_table", "cell_summary",
           "confirmed_verdicts", "held_up"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gansweep.analysis' has no attribute {name!r}")
