"""The plotted metric over training steps for the best trials of each cell."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib
import matplotlib.patches
import matplotlib.ticker
from matplotlib.lines import Line2D

from gansweep.analysis.figures.common import (
    compact_x,
    encoding,
    finish,
    panel_grid,
    plain_log_ticks,
    save_csv,
    save_figure,
    spans_orders,
)
from gansweep.analysis.loading import study_name
from gansweep.analysis.study_analysis import StudyAnalysis
from gansweep.analysis.tables import cell_titles
from gansweep.metrics import specs as metric_specs

log = logging.getLogger(__name__)


def plot_learning_curves(a: StudyAnalysis, out_dir: Path) -> list[Path]:
    """Small multiples: per cell, the median over its trials and their 25-75 % band (issue 18)."""
    study, data = a.study, a.learning
    if data.empty:
        log.info("no evaluations of the plotted metric stored: no learning curves")
        return []
    every = a.learning_all
    enc = encoding(study)
    metric = data["metric"].iloc[0]
    label = metric_specs.label(metric)
    cells = sorted(every["cell"].unique(), key=str)
    titles = cell_titles(study, every)
    cols = 3 if len(cells) <= 9 else 4 if len(cells) <= 16 else 5
    fig, axes = panel_grid(len(cells), 3.4, 2.7, max_cols=cols)
    for ax, cell in zip(axes, cells):
        sub = every[every["cell"] == cell]
        c = enc.of(sub.iloc[0])[0]
        stats = sub.groupby("step")["value"].agg(
            median="median", q1=lambda v: v.quantile(0.25), q3=lambda v: v.quantile(0.75), n="count")
        ax.fill_between(stats.index, stats["q1"], stats["q3"], color=c, alpha=0.2, linewidth=0, zorder=1)
        ax.plot(stats.index, stats["median"], color=c, linewidth=1.8, zorder=3, label="median")
        best = sub[sub["rank"] == 1]
        ax.plot(best["step"], best["value"], color="0.2", linewidth=0.8, linestyle="--", zorder=2,
                label="best trial")
        if spans_orders(sub["value"].to_numpy()):
            ax.set_yscale("log")
            plain_log_ticks(ax.yaxis)
        ax.set_title(f"{titles[cell]}\n{sub['trial_id'].nunique()} trials", fontsize=8)
        compact_x(ax)
        ax.tick_params(which="both", labelsize=7)
        if ax.get_yscale() == "log":  # minor labels (2, 5) only where a panel spans under a decade
            if sub["value"].max() / max(sub["value"].min(), 1e-300) > 10:
                ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        else:
            ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4))
        ax.grid(True, alpha=0.3)
    for ax in axes:
        if ax.get_subplotspec().is_last_row() or ax is axes[-1]:
            ax.set_xlabel("training step", fontsize=8)
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(label, fontsize=8)
    sections = [("", [Line2D([], [], color="0.3", linewidth=1.8, label="median over trials"),
                      Line2D([], [], color="0.3", linewidth=8, alpha=0.2, label="25–75 % of trials"),
                      Line2D([], [], color="0.2", linewidth=0.8, linestyle="--", label="best trial")])]
    finish(fig, sections, f"{study_name(study)}: learning curves per cell")
    return [save_figure(fig, out_dir / "learning_curves.png"), save_csv(data, out_dir / "learning_curves.csv")]
