"""Best score against the compute spent (GPU- or CPU-hours)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from gansweep.analysis.figures.common import (
    encoding,
    finish,
    no_data,
    panel_grid,
    plain_log_ticks,
    save_csv,
    save_figure,
    spans_orders,
)
from gansweep.analysis.loading import study_name
from gansweep.analysis.study_analysis import StudyAnalysis
from gansweep.analysis.tables import compute_data

log = logging.getLogger(__name__)


def plot_score_vs_compute(a: StudyAnalysis, out_dir: Path) -> list[Path]:
    from gansweep.analysis.compute import compute_curves

    study = a.study
    data = compute_data(study)
    sign = -1.0 if study.higher_is_better else 1.0
    bands, _ = compute_curves(data.assign(score=sign * data["score"]), costs=data["gpu_hours"].to_numpy())
    bands[["median", "lo", "hi"]] = sign * bands[["median", "lo", "hi"]]
    enc = encoding(study)
    panels = sorted(study.trials[study.panel].unique(), key=str)
    fig, axes = panel_grid(len(panels))
    for ax, pv in zip(axes, panels):
        sub = data[data[study.panel] == pv]
        best = sub["best_so_far"].replace([np.inf, -np.inf], np.nan)
        if best.isna().all():
            no_data(ax)
        for (cell, strat), g in sub.groupby(["cell", "strategy"], sort=True):
            c, ls, mk = enc.of(g.iloc[0])
            y = g["best_so_far"].replace([np.inf, -np.inf], np.nan).to_numpy()
            x = g["cumulative_gpu_hours"].to_numpy()
            ax.plot(x, y, color=c, linestyle=ls, drawstyle="steps-post", linewidth=1.6,
                    marker=mk, markevery=[len(x) - 1] if mk else None, markersize=6)
            b = bands[(bands["cell"] == cell) & (bands["strategy"] == strat)].replace([np.inf, -np.inf], np.nan)
            if len(b) > 1:  # any order of the same trials: median and 2.5–97.5 % of the best within x
                ax.fill_between(b["compute"], b["lo"], b["hi"], color=c, alpha=0.08, linewidth=0)
                ax.plot(b["compute"], b["median"], color=c, linestyle=ls, linewidth=0.8, alpha=0.7)
        if (sub["cumulative_gpu_hours"] > 0).any():
            pos = sub.loc[sub["cumulative_gpu_hours"] > 0, "cumulative_gpu_hours"]
            if pos.max() / pos.min() > 20:
                ax.set_xscale("log")
                plain_log_ticks(ax.xaxis)
        if spans_orders(best.to_numpy()):
            ax.set_yscale("log")
            plain_log_ticks(ax.yaxis)
        total = sub.groupby("strategy")["gpu_hours"].sum()
        unit = data["unit"].iloc[0] if len(data) else "GPU-hours"
        ax.set_title(f"{study.panel} = {pv}\n{unit}: " + ", ".join(f"{s} {h:.3g}" for s, h in total.items()),
                     fontsize=10)
        ax.set_xlabel(f"cumulative {unit} in the cell")
        ax.set_ylabel(f"best {study.metric_short} so far")
        ax.grid(True, alpha=0.3)
    finish(fig, enc.legend(), f"{study_name(study)}: best score versus compute",
           note="Steps: trials of each cell and strategy in the order the strategy suggested them; thin line and "
                "band: median and 2.5–97.5 % of the best within that compute over random orders of the same "
                "trials. GPU-hours = train_seconds × GPUs per trial / 3600, summed (a study without GPUs: "
                "train_seconds / 3600). Stopped trials count at the score they reached and cost what they ran.")
    return [save_figure(fig, out_dir / "score_vs_compute.png"), save_csv(data, out_dir / "score_vs_compute.csv"),
            save_csv(bands, out_dir / "score_vs_compute_bands.csv")]
