"""The distribution of scores per cell: all trials and the top share."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib
import matplotlib.patches
import matplotlib.ticker
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
from gansweep.analysis.tables import (
    TOP_SHARE,
    cell_label,
    cell_order,
    distributions_data,
    status_counts,
)

log = logging.getLogger(__name__)


def plot_distributions(a: StudyAnalysis, out_dir: Path) -> list[Path]:
    study = a.study
    data, samples = distributions_data(study)
    enc = encoding(study)
    panels = sorted(study.trials[study.panel].unique(), key=str)
    n_cells = max(study.trials.groupby(study.panel)["cell"].nunique())
    fig, axes = panel_grid(len(panels), width=max(4.5, 0.75 * n_cells + 1.5), height=4.2,
                           max_cols=1 if n_cells > 6 else 2 if n_cells > 3 else 3)
    for ax, pv in zip(axes, panels):
        sub = data[data[study.panel] == pv]
        cells = cell_order(study, sub)
        labels = []
        for x, cell in enumerate(cells):
            info = sub[(sub["cell"] == cell) & (sub["subset"] == "all")].iloc[0]
            colour = enc.colour[info[study.by]]
            for offset, name, alpha in ((-0.19, "all", 0.25), (0.19, "top15", 0.85)):
                arr = samples[(cell, name)]
                if arr.size == 0:
                    continue
                bp = ax.boxplot([arr], positions=[x + offset], widths=0.34, patch_artist=True,
                                showfliers=True, manage_ticks=False,
                                flierprops={"marker": ".", "markersize": 3, "alpha": 0.5,
                                            "markeredgecolor": colour},
                                medianprops={"color": "black", "linewidth": 1.2})
                for box in bp["boxes"]:
                    box.set_facecolor(matplotlib.colors.to_rgba(colour, alpha))
                    box.set_edgecolor(colour)
                for part in ("whiskers", "caps"):
                    for line in bp[part]:
                        line.set_color(colour)
            bad = int(info["diverged"] + info["failed"])
            name = cell_label(info, [study.by, *enc.rest])
            labels.append(f"{name}\n{int(info['n'])}/{int(info['trials'])} ok" + (f", {bad} ✗" if bad else ""))
        ax.set_xticks(range(len(cells)), labels, fontsize=8, rotation=30 if len(cells) > 6 else 0,
                      ha="right" if len(cells) > 6 else "center")
        ax.set_xlim(-0.6, len(cells) - 0.4)
        arrays = [samples[(c, "all")] for c in cells]
        if not any(a.size for a in arrays):
            no_data(ax)
        if spans_orders(np.concatenate(arrays) if arrays else np.empty(0)):
            ax.set_yscale("log")
            plain_log_ticks(ax.yaxis)
        ax.set_title(f"{study.panel} = {pv}  ({status_counts(study.trials[study.trials[study.panel] == pv])})",
                     fontsize=10)
        ax.set_ylabel(study.metric_label)
        ax.set_xlabel(" · ".join([study.by, *enc.rest]), fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    sections = enc.legend(strategies=False)[:1]
    sections.append(("subset", [
        matplotlib.patches.Patch(facecolor=matplotlib.colors.to_rgba("0.3", 0.25), edgecolor="0.3",
                                 label="all completed trials"),
        matplotlib.patches.Patch(facecolor=matplotlib.colors.to_rgba("0.3", 0.85), edgecolor="0.3",
                                 label=f"top {TOP_SHARE:.0%} of all trials")]))
    finish(fig, sections, f"{study_name(study)}: distribution of scores per cell (all strategies pooled)",
           note="Under each cell: completed / stored trials, ✗ diverged or failed (no score). Top 15 % is "
                "taken from all stored trials, failures ranked last.")
    return [save_figure(fig, out_dir / "distributions.png"), save_csv(data, out_dir / "distributions.csv")]
