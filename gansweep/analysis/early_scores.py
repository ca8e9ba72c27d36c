"""How well an early score predicts the final one: per cell, strategy and evaluation step, the
Spearman correlation between the trials' scores at that step and their final scores.

Why: early stopping (ASHA, median) drops a trial at a rung because its score there ranks low; that
is safe in a cell only where the rung's ranking is the final ranking. ρ = 1 at step s says the
trials would finish in the order they stand at s; ρ near 0 says stopping at s is a coin toss. No
published GAN study reports this number; each study can measure it for its own cells.

Only trials that ran to the end (``completed``) have a final score, so only they count: a stopped
trial's score is what it reached when stopped, and diverged or failed ones have none. In a
stopping strategy the survivors are a selection (their ρ is over a narrower range); the random
strategy of the same cell, where there is one, gives the unselected number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gansweep.status import Status

COLUMNS = ["cell", "strategy", "step", "final_step", "rho", "n", "metric"]
MIN_TRIALS = 3
"""Fewer trials than this at a step: no ρ (NaN), the count still reported."""


def rank_correlation(trials: pd.DataFrame, evals: pd.DataFrame, metric: str, final: str = "score",
                     min_trials: int = MIN_TRIALS) -> pd.DataFrame:
    """Per cell, strategy and step: Spearman ρ between ``evals[metric]`` at that step and each
    trial's ``trials[final]``, over the completed trials with both values finite.

    ``metric`` is the evaluations' column of the score (the primary metric's name, e.g. ``mmd``);
    ``final`` the trials' column it ends as (``score``: the trial's best evaluation). Columns:
    ``cell, strategy, step, final_step`` (the last step any of those trials evaluated), ``rho``
    (NaN below ``min_trials`` trials or when either side is constant), ``n``, ``metric``.
    """
    if evals.empty or metric not in evals or final not in trials:
        return pd.DataFrame(columns=COLUMNS)
    done = trials[trials["status"] == Status.COMPLETED][["trial_id", "cell", "strategy", final]]
    done = done.assign(_final=pd.to_numeric(done[final], errors="coerce"))
    merged = evals[["trial_id", "step", metric]].merge(done[["trial_id", "cell", "strategy", "_final"]],
                                                       on="trial_id")
    merged = merged.assign(_early=pd.to_numeric(merged[metric], errors="coerce"))
    merged = merged[np.isfinite(merged["_early"]) & np.isfinite(merged["_final"])]
    if merged.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    for (cell, strategy), group in merged.groupby(["cell", "strategy"], sort=True):
        last = int(group["step"].max())
        for step, at in group.groupby("step", sort=True):
            n = len(at)
            rho = np.nan
            if n >= min_trials and at["_early"].nunique() > 1 and at["_final"].nunique() > 1:
                rho = float(at["_early"].corr(at["_final"], method="spearman"))
            rows.append({"cell": cell, "strategy": strategy, "step": int(step), "final_step": last,
                         "rho": rho, "n": n, "metric": metric})
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(data: pd.DataFrame, threshold: float = 0.9) -> pd.DataFrame:
    """Per cell and strategy, what the report says: ρ at the first step, and the first step from
    which ρ stays at or above ``threshold`` (NaN when it never does before the end)."""
    rows = []
    for (cell, strategy), g in data.groupby(["cell", "strategy"], sort=True):
        g = g[g["rho"].notna()].sort_values("step")
        if g.empty:
            continue
        below = g["rho"] < threshold
        settled = g[~below.iloc[::-1].cummax().iloc[::-1]]  # the steps after the last one below it
        rows.append({"cell": cell, "strategy": strategy, "first_step": int(g["step"].iloc[0]),
                     "rho_first": float(g["rho"].iloc[0]), "n_first": int(g["n"].iloc[0]),
                     "steady_from": int(settled["step"].iloc[0]) if len(settled) else np.nan,
                     "final_step": int(g["final_step"].iloc[0])})
    return pd.DataFrame(rows, columns=["cell", "strategy", "first_step", "rho_first", "n_first",
                                       "steady_from", "final_step"])
