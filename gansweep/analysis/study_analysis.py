"""A study's analysis, computed once and rendered many times.

Why this module exists: the figures, report.html, ``gansweep samples`` and ``export`` show the same
numbers (the best trials of each cell, the ranking, the verdicts, the budget curves). Each is
computed here, from one reading of the study directory (:func:`~gansweep.analysis.loading.load_study`
for the trials and the study file; the evaluations, the confirmation and ``evaluations.csv`` on
first use), and kept: a renderer takes a :class:`StudyAnalysis` and draws, it neither reads
``results/`` nor ranks anything itself. Each value is computed on first use (``plot`` needs no
ranking), then kept, so a report computes the budget curves once for three uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from gansweep.analysis.loading import Study, load_study, varying_axes
from gansweep.analysis.tables import BEST_PER_CELL, budget_curves_data, learning_data, learning_metric
from gansweep.metrics.specs import METRICS
from gansweep.status import FINAL
from gansweep.storage import StoragePath
from gansweep.store.studydir import EVALUATIONS_FILE
from gansweep.study.plan import Plan

SMALL_BUDGET = 10
"""The ranking's second budget: the spread a user with this many trials per cell should expect."""
FALLBACK_COLUMNS = ["cell", "strategy", "fallback", "trials", "reason"]


def planned_trials(plan: Plan | None) -> dict[tuple[str, str], int]:
    """Trials each (cell, search entry) of the plan holds, Table 1 included; {} without a study file."""
    return {(e.cell.id, e.label): e.trials for e in plan.entries} if plan else {}


def progress(trials: pd.DataFrame, plan: Plan | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts by status overall (per strategy) and per cell and strategy, with the trials planned."""
    statuses = [str(s) for s in FINAL]
    overall = (trials.groupby("strategy")["status"].value_counts().unstack(fill_value=0)
               .reindex(columns=statuses, fill_value=0))
    overall["stored"] = overall.sum(axis=1)
    planned = planned_trials(plan)
    per_label: dict[str, int] = {}
    for (_, label), n in planned.items():
        per_label[label] = per_label.get(label, 0) + n
    overall["planned"] = [per_label.get(s, np.nan) for s in overall.index]
    overall = overall.reset_index()
    per_cell = (trials.groupby(["cell", "strategy"])["status"].value_counts().unstack(fill_value=0)
                .reindex(columns=statuses, fill_value=0))
    per_cell["stored"] = per_cell.sum(axis=1)
    per_cell["planned"] = [planned.get(key, np.nan) for key in per_cell.index]
    return overall, per_cell.reset_index()


def ranking(trials: pd.DataFrame, curves: pd.DataFrame, higher_is_better: bool,
            small_budget: int = SMALL_BUDGET) -> pd.DataFrame:
    """Cells ranked within each data set and strategy by the median best at the full budget.

    Scores of different data sets are not comparable, so each (dataset, strategy) is its own
    ranking. ``curves``: the budget curves per cell and strategy (:func:`budget_curves_data`).
    The full budget of a strategy is the number of trials every one of its cells in the panel
    has stored (all planned trials once the study is complete; fewer while it runs), so cells are
    compared at the same budget. At k = N the band is a single point, so the ranking also gives
    the median and band at a small budget (10 trials).
    """
    sizes = curves.groupby(["cell", "strategy"])["budget"].max().rename("trials")
    curves = curves.join(sizes, on=["cell", "strategy"])
    label_axes = varying_axes(trials, exclude=["dataset"])
    cells = trials.drop_duplicates("cell").set_index("cell", drop=False)
    labels = (cells[label_axes].astype(str).agg(" · ".join, axis=1) if label_axes
              else cells["cell"].astype(str))
    label_axes = label_axes or ["cell"]
    sign = -1.0 if higher_is_better else 1.0
    rows = []
    for (pv, strat), g in curves.groupby(["dataset", "strategy"], sort=True):
        full = int(g["trials"].min())
        small = min(small_budget, full)
        at_full = g[g["budget"] == full].set_index("cell")
        at_small = g[g["budget"] == small].set_index("cell")
        order = sorted(at_full.index, key=lambda c: (sign * at_full.at[c, "median"], sign * at_full.at[c, "hi"], c))
        for rank, cell in enumerate(order, 1):
            f, s = at_full.loc[cell], at_small.loc[cell]
            rows.append({"dataset": pv, "strategy": strat, "rank": rank, "cell": cell,
                         "label": labels.get(cell, cell), "label_axes": " · ".join(label_axes),
                         "trials": int(f["trials"]),
                         "budget": full, "median": f["median"], "lo": f["lo"], "hi": f["hi"],
                         "mean": f["mean"], "small_budget": small, "small_median": s["median"],
                         "small_lo": s["lo"], "small_hi": s["hi"]})
    return pd.DataFrame(rows)


def best_table(best: pd.DataFrame, higher_is_better: bool) -> pd.DataFrame:
    """The best-trials table: per cell its best trials (``best``: :meth:`Study.ranked` cut per cell),
    with who suggested them, their metrics and hyperparameters (``hp_`` dropped from the names)."""
    metrics = [c for c in ("score", *METRICS.names()) if c in best and best[c].notna().any()]
    hps = [c for c in best.columns if c.startswith("hp_") and best[c].notna().any()]
    who = ["suggested_by"] if "suggested_by" in best and best["suggested_by"].notna().any() else []
    cols = ["cell", "strategy", *who, "trial_id", *metrics, *hps, "steps"]
    out = best.sort_values(["cell", "_v"], ascending=[True, not higher_is_better], kind="stable")
    return out[[c for c in cols if c in out]].rename(columns={h: h[3:] for h in hps})


def fallbacks(trials: pd.DataFrame) -> pd.DataFrame:
    """Per cell and search entry, the trials a sequential searcher could not suggest (its round
    failed) and that were drawn at random instead, with the first reason (``suggested_by``)."""
    if "suggested_by" not in trials:
        return pd.DataFrame(columns=FALLBACK_COLUMNS)
    who = trials["suggested_by"].astype("string")
    fell = trials.assign(_fell=who.str.startswith("random fallback").fillna(False).astype(bool), _who=who)
    rows = []
    for (cell, strategy), g in fell.groupby(["cell", "strategy"], sort=True):
        n = int(g["_fell"].sum())
        if n:
            rows.append({"cell": cell, "strategy": strategy, "fallback": n, "trials": len(g),
                         "reason": str(g.loc[g["_fell"], "_who"].iloc[0])})
    return pd.DataFrame(rows, columns=FALLBACK_COLUMNS)


def stale_evaluations(trials: pd.DataFrame, frame: pd.DataFrame) -> list[str]:
    """Trials of evaluations.csv whose stored score is not the study's score of that trial now."""
    if not {"trial_id", "stored_score"} <= set(frame.columns) or not {"trial_id", "score"} <= set(trials):
        return []
    now = dict(zip(trials["trial_id"].astype(str), pd.to_numeric(trials["score"], errors="coerce")))
    then = pd.to_numeric(frame["stored_score"], errors="coerce")
    out = []
    for trial_id, old in zip(frame["trial_id"].astype(str), then):
        cur = now.get(trial_id)
        same = cur is not None and ((pd.isna(cur) and pd.isna(old)) or bool(np.isclose(cur, old, rtol=1e-12, atol=0)))
        if not same:
            out.append(trial_id)
    return out


@dataclass
class StudyAnalysis:
    """Everything the renderers show of one loaded study, each computed on first use and kept."""

    study: Study

    @classmethod
    def load(cls, study_dir: str | StoragePath, by: str | None = None, panel: str | None = None,
             metric: str | None = None, out: str | Path | None = None) -> StudyAnalysis:
        """Read a study directory once (see :func:`~gansweep.analysis.loading.load_study`)."""
        return cls(load_study(study_dir, by=by, panel=panel, metric=metric, out=out))

    @property
    def trials(self) -> pd.DataFrame:
        return self.study.trials

    @property
    def metric_name(self) -> str:
        """The plotted metric's name (the primary's for ``score``), as the CSVs' ``metric`` column says it."""
        return self.study.primary if self.study.metric == "score" else self.study.metric

    # -- read on first use, once ----------------------------------------------------------------------
    @cached_property
    def evals(self) -> pd.DataFrame:
        from gansweep.store import read_evals

        return read_evals(self.study.path)

    @cached_property
    def confirmed_rows(self) -> pd.DataFrame:
        """``results/confirm``: one row per confirmation run (empty without a confirmation)."""
        from gansweep.analysis.confirmed import read_confirmed

        return read_confirmed(self.study.path)

    @cached_property
    def evaluations(self) -> pd.DataFrame | str | None:
        """``evaluations.csv`` (from ``gansweep evaluate``); None when there is none, the reason when
        it cannot be read."""
        path = self.study.out_dir / EVALUATIONS_FILE
        if not path.is_file():
            return None
        try:
            return pd.read_csv(path)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            return str(exc)

    # -- computed on first use, once ------------------------------------------------------------------
    @cached_property
    def ranked(self) -> pd.DataFrame:
        """Every trial that found something, best first (:meth:`Study.ranked`: the one definition of
        "best" behind the best-trials table, the learning curves and the samples drawn)."""
        return self.study.ranked()

    @cached_property
    def best(self) -> pd.DataFrame:
        """The :data:`BEST_PER_CELL` best trials of each cell, best first overall."""
        return self.ranked.groupby("cell", sort=False).head(BEST_PER_CELL)

    def best_of_cells(self, cells: int | None = None) -> pd.DataFrame:
        """The best trial of each cell (of the ``cells`` best cells), best first."""
        return self.ranked.groupby("cell", sort=False).head(1).head(cells)

    @cached_property
    def best_table(self) -> pd.DataFrame:
        return best_table(self.best, self.study.higher_is_better)

    @cached_property
    def budget_curves(self) -> pd.DataFrame:
        """budget_curves.csv: per cell and strategy, one row per budget k = 1..N."""
        return budget_curves_data(self.study)

    @cached_property
    def ranking(self) -> pd.DataFrame:
        return ranking(self.trials, self.budget_curves, self.study.higher_is_better)

    @cached_property
    def progress(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return progress(self.trials, self.study.plan)

    @cached_property
    def fallbacks(self) -> pd.DataFrame:
        return fallbacks(self.trials)

    @cached_property
    def verdicts(self) -> pd.DataFrame:
        """P(A beats B at k) with its bootstrap interval for every pair of cells (verdicts.csv)."""
        from gansweep.analysis.verdicts import verdicts

        return verdicts(self.trials, metric=self.study.metric).assign(metric=self.metric_name)

    @cached_property
    def learning_metric(self) -> str | None:
        return learning_metric(self.study, self.evals)

    @cached_property
    def learning(self) -> pd.DataFrame:
        """The evaluations of each cell's best trials (learning_curves.csv)."""
        return learning_data(self.study, self.evals, self.best)

    @cached_property
    def learning_all(self) -> pd.DataFrame:
        """The evaluations of every trial that found something (the learning curves' bands)."""
        return learning_data(self.study, self.evals, self.ranked)

    @cached_property
    def rank_correlation(self) -> pd.DataFrame:
        """Per cell, strategy and evaluation step, Spearman ρ between the trials' score at that step and
        their final score (rank_correlation.csv: is stopping early safe in this cell?)."""
        from gansweep.analysis.early_scores import rank_correlation

        return rank_correlation(self.trials, self.evals, metric=self.learning_metric or "", final=self.study.metric)

    @cached_property
    def equal_compute(self) -> pd.DataFrame:
        """Strategies of the same cell at equal compute (empty when no cell has two)."""
        from gansweep.analysis.compute import at_equal_compute

        return at_equal_compute(self.trials)

    @cached_property
    def stale_evaluations(self) -> list[str]:
        frame = self.evaluations
        return stale_evaluations(self.trials, frame) if isinstance(frame, pd.DataFrame) else []

    @cached_property
    def confirmed(self) -> bool:
        """Whether the study has a confirmation with a finite score."""
        rows = self.confirmed_rows
        return not rows.empty and bool(np.isfinite(pd.to_numeric(rows["score"], errors="coerce")).any())

    @cached_property
    def confirmed_runs(self) -> pd.DataFrame:
        from gansweep.analysis.confirmed import runs

        return runs(self.confirmed_rows)

    @cached_property
    def confirmed_table(self) -> pd.DataFrame:
        from gansweep.analysis.confirmed import confirmed_table

        return confirmed_table(self.confirmed_rows)

    @cached_property
    def confirmed_summary(self) -> pd.DataFrame:
        from gansweep.analysis.confirmed import cell_summary

        return cell_summary(self.confirmed_rows)

    @cached_property
    def confirmed_verdicts(self) -> pd.DataFrame:
        from gansweep.analysis.confirmed import confirmed_verdicts

        return confirmed_verdicts(self.confirmed_rows)

    @cached_property
    def held_up(self) -> pd.DataFrame:
        from gansweep.analysis.confirmed import held_up

        return held_up(self.trials, self.confirmed_summary, self.confirmed_verdicts)

    def cell_labels(self, exclude: tuple[str, ...] = ("dataset", "strategy"), joiner: str = " + ") -> dict[str, str]:
        """Per cell, its values of the grid axes that vary (the cell id when none does)."""
        axes = varying_axes(self.trials, exclude=list(exclude))
        first = self.trials.drop_duplicates("cell").set_index("cell")
        return {c: (joiner.join(str(first.loc[c, a]) for a in axes) if axes else c) for c in first.index}


__all__ = ["BEST_PER_CELL", "SMALL_BUDGET", "StudyAnalysis", "best_table", "fallbacks", "planned_trials",
           "progress", "ranking", "stale_evaluations"]
