"""The data behind each figure and the report's tables: DataFrames in, DataFrames out, no
matplotlib. ``plots/<name>.csv`` is written from these, so a figure can be redrawn elsewhere."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gansweep.analysis.budget import budget_curves
from gansweep.analysis.loading import Study, searched_hps, varying_axes
from gansweep.gan.specs import AXES
from gansweep.status import Status

log = logging.getLogger(__name__)

BEST_PER_CELL = 3  # trials per cell in the best-trials table and the learning curves


TOP_SHARE = 0.15


def status_counts(frame: pd.DataFrame) -> str:
    n = len(frame)
    div = int((frame["status"] == Status.DIVERGED).sum())
    fail = int((frame["status"] == Status.FAILED).sum())
    stopped = int((frame["status"] == Status.STOPPED).sum())
    parts = [f"{n} trials"] + ([f"{stopped} stopped"] if stopped else [])
    if div:
        parts.append(f"{div} diverged")
    if fail:
        parts.append(f"{fail} failed")
    return ", ".join(parts)


def rest_axes(study: Study) -> list[str]:
    """Varying grid axes other than the panel and colour axes (told apart by markers)."""
    return varying_axes(study.trials, exclude=[study.panel, study.by])


def cell_label(row: pd.Series | dict, axes: Sequence[str]) -> str:
    return " · ".join(f"{row[a]}" for a in axes) if axes else ""


def budget_curves_data(study: Study) -> pd.DataFrame:
    """budget_curves.csv: per cell and strategy, one row per budget k = 1..N."""
    by = ["cell", *AXES, "strategy"]
    curves = budget_curves(study.trials, by=by, metric=study.metric)
    curves["metric"] = study.primary if study.metric == "score" else study.metric
    return curves


def cell_titles(study: Study, frame: pd.DataFrame) -> dict[str, str]:
    """Per cell, a short title from the grid axes that vary (wrapped for small panels)."""
    axes = varying_axes(study.trials) or [study.panel]
    firsts = frame.drop_duplicates("cell").set_index("cell")
    return {c: textwrap.fill(" · ".join(str(r[a]) for a in axes if a in r), 30) for c, r in firsts.iterrows()}


def cell_order(study: Study, frame: pd.DataFrame) -> list[str]:
    """Cells sorted by the colour axis, then the other axes, so neighbours differ in one thing."""
    cols = [study.by, *rest_axes(study), "cell"]
    return frame.drop_duplicates("cell").sort_values(cols)["cell"].tolist()


def top_share(values: pd.Series, share: float = TOP_SHARE) -> pd.Series:
    """The best ``share`` of a cell's trials (all trials count, failures as worst), finite ones."""
    ranked = values.fillna(np.inf).sort_values()
    n_top = max(1, int(np.ceil(share * len(ranked))))
    top = ranked.iloc[:n_top]
    return top[np.isfinite(top)]


def distributions_data(study: Study) -> tuple[pd.DataFrame, dict[tuple[str, str], np.ndarray]]:
    rows, samples = [], {}
    sign = -1.0 if study.higher_is_better else 1.0
    for cell, g in study.trials.groupby("cell", sort=True):
        vals = study.values(g)
        first = g.iloc[0]
        subsets = {"all": vals.dropna(), "top15": sign * top_share(sign * vals)}
        for name, v in subsets.items():
            arr = v.to_numpy(dtype=float)
            samples[(cell, name)] = arr
            q = np.quantile(arr, [0.0, 0.25, 0.5, 0.75, 1.0]) if arr.size else [np.nan] * 5
            rows.append({"cell": cell, **{a: first[a] for a in AXES}, "subset": name, "n": arr.size,
                         "trials": len(g), "diverged": int((g["status"] == Status.DIVERGED).sum()),
                         "failed": int((g["status"] == Status.FAILED).sum()),
                         "min": q[0], "q1": q[1], "median": q[2], "q3": q[3], "max": q[4],
                         "mean": float(arr.mean()) if arr.size else np.nan,
                         "metric": study.primary if study.metric == "score" else study.metric})
    return pd.DataFrame(rows), samples


def default_gpu(study: Study) -> float:
    """GPUs a trial held, for rows stored without it: the study's ``resources.gpu`` when it says,
    else 1 (GPU-hours are per GPU)."""
    res = study.file.resources if study.file else None
    return float(res.gpu) if res is not None and "gpu" in res.model_fields_set else 1.0


def compute_data(study: Study) -> pd.DataFrame:
    t = study.trials
    gpu = (pd.to_numeric(t["gpus_per_trial"], errors="coerce") if "gpus_per_trial" in t
           else pd.Series(np.nan, index=t.index))
    secs = pd.to_numeric(t["train_seconds"], errors="coerce") if "train_seconds" in t else 0.0
    frame = t[["cell", *AXES, "strategy", "trial_id", "status"]].copy()
    frame["index"] = t["index"] if "index" in t else np.arange(len(t))
    gpu = gpu.fillna(default_gpu(study))
    cpu_only = bool((gpu == 0).all())  # a CPU study would sit at x = 0: count its trial-hours instead
    frame["gpu_hours"] = (pd.Series(secs, index=t.index).fillna(0.0) * (1.0 if cpu_only else gpu)) / 3600.0
    frame["unit"] = "trial-hours (no GPU)" if cpu_only else "GPU-hours"
    sign = -1.0 if study.higher_is_better else 1.0
    frame["score"] = study.values()
    frame = frame.sort_values(["cell", "strategy", "index", "trial_id"], kind="stable")
    g = frame.groupby(["cell", "strategy"], sort=False)
    frame["cumulative_gpu_hours"] = g["gpu_hours"].cumsum()
    frame["_s"] = (sign * frame["score"]).fillna(np.inf)
    frame["best_so_far"] = sign * frame.groupby(["cell", "strategy"], sort=False)["_s"].cummin()
    frame["metric"] = study.primary if study.metric == "score" else study.metric
    return frame.drop(columns="_s").reset_index(drop=True)


def sensitivity_data(study: Study) -> pd.DataFrame:
    """sensitivity.csv: every trial's score against each searched hyperparameter (``kind``: how
    the axis is drawn; choices as categories)."""
    t = study.trials
    base = t[["cell", *AXES, "strategy", "trial_id", "status"]].assign(score=study.values())
    frames = []
    for name, kind in searched_hps(study.file, t).items():
        f = base.assign(hp=name, value=pd.to_numeric(t[f"hp_{name}"], errors="coerce"),
                        log_x=kind == "log", kind=kind)
        frames.append(f[f["value"].notna()])
    cols = ["cell", *AXES, "strategy", "trial_id", "status", "hp", "value", "score", "log_x", "kind"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out["metric"] = study.primary if study.metric == "score" else study.metric
    return out[cols + ["metric"]]


def learning_metric(study: Study, evals: pd.DataFrame) -> str | None:
    name = study.primary if study.metric == "score" else study.metric
    return name if name in evals.columns else None


def learning_data(study: Study, evals: pd.DataFrame, best: pd.DataFrame) -> pd.DataFrame:
    """The evaluations of the trials in ``best`` (:meth:`Study.ranked`, cut per cell), each with its
    rank in its cell (1: the cell's best trial)."""
    name = learning_metric(study, evals)
    cols = ["cell", *AXES, "strategy", "trial_id", "rank", "step", "seconds", "value", "metric"]
    if name is None or evals.empty:
        return pd.DataFrame(columns=cols)
    best = best.assign(rank=best.groupby("cell").cumcount() + 1)
    merged = evals[["trial_id", "step", "seconds", name]].merge(
        best[["cell", *AXES, "strategy", "trial_id", "rank"]], on="trial_id")
    merged = merged.rename(columns={name: "value"}).assign(metric=name)
    return merged.sort_values(["cell", "rank", "step"]).reset_index(drop=True)[cols]
