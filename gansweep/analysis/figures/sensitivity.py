"""Score against each searched hyperparameter."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from gansweep.analysis.figures.common import (
    encoding,
    failure_handle,
    finish,
    headroom,
    mark_failures_on_top,
    plain_log_ticks,
    save_csv,
    save_figure,
    spans_orders,
)
from gansweep.analysis.loading import study_name
from gansweep.analysis.study_analysis import StudyAnalysis
from gansweep.analysis.tables import sensitivity_data

log = logging.getLogger(__name__)


def plot_sensitivity(a: StudyAnalysis, out_dir: Path) -> list[Path]:
    study = a.study
    data = sensitivity_data(study)
    if data.empty:
        log.info("no hp_ columns with values: no sensitivity plot")
        return [save_csv(data, out_dir / "sensitivity.csv")]
    enc = encoding(study)
    panels = sorted(study.trials[study.panel].unique(), key=str)
    hps = list(dict.fromkeys(data["hp"]))
    fig = Figure(figsize=(3.3 * len(hps) + 1.0, 3.0 * len(panels) + 0.6))
    axes = fig.subplots(len(panels), len(hps), squeeze=False, sharey="row")
    for r, pv in enumerate(panels):
        sub = data[data[study.panel] == pv]
        log_y = spans_orders(sub["score"].to_numpy())
        if log_y:
            axes[r][0].set_yscale("log")
            plain_log_ticks(axes[r][0].yaxis)
        for c, hp in enumerate(hps):
            ax = axes[r][c]
            d = sub[sub["hp"] == hp]
            choice = bool((data.loc[data["hp"] == hp, "kind"] == "choice").any())
            levels = sorted(data.loc[data["hp"] == hp, "value"].unique())
            position = {v: i for i, v in enumerate(levels)}
            groups = list(d.groupby(study.by, sort=True))
            for j, (key, g) in enumerate(groups):
                colour = enc.colour[key]
                xs = g["value"].to_numpy()
                if choice:  # categories side by side: one slot per colour inside each category
                    xs = np.array([position[v] for v in xs]) + (j - (len(groups) - 1) / 2) * 0.6 / max(len(groups), 1)
                ok = g["score"].notna().to_numpy()
                ax.scatter(xs[ok], g["score"].to_numpy()[ok], s=14, color=colour, alpha=0.65, linewidths=0)
                mark_failures_on_top(ax, xs[~ok], colour)
            if choice:
                ax.set_xticks(range(len(levels)))
                ax.set_xticklabels([f"{v:g}" for v in levels])
                ax.set_xlim(-0.6, len(levels) - 0.4)
            elif bool(d["log_x"].any()) and len(d) and (d["value"] > 0).all():
                ax.set_xscale("log")
                # failure marks alone (every trial diverged) give the axis no data limits
                ax.set_xlim(d["value"].min() / 1.5, d["value"].max() * 1.5)
            ax.set_xlabel(hp + (" (log scale)" if ax.get_xscale() == "log" else ""))
            if c == 0:
                ax.set_ylabel(f"{study.panel} = {pv}\n{study.metric_label}", fontsize=9)
            if r == 0:
                ax.set_title(hp, fontsize=10)
            ax.grid(True, alpha=0.3)
        headroom(axes[r][0])
    sections = enc.legend(strategies=False)[:1] + [("", [failure_handle()])]
    finish(fig, sections, f"{study_name(study)}: score against each hyperparameter (every trial, all strategies)")
    return [save_figure(fig, out_dir / "sensitivity.png"), save_csv(data, out_dir / "sensitivity.csv")]
