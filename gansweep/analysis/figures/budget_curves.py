"""Best score within a budget of k trials: the figure of "The GAN Landscape".

``budget_curves.png`` answers "which cell is best at k trials" on one axis per panel (``--panel``,
the data set by default): every cell and strategy of the panel is one median line, coloured by
``--by``, styled by strategy, marked by any other varying axis, on a y axis shared by the panel
(log where the scores span decades). ``budget_curves_by_cell.png`` keeps one small panel per cell,
with each curve's 2.5-97.5 % band and a sequential strategy's running best."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.lines import Line2D

from gansweep.analysis.figures.common import (
    MAX_DRAWN,
    compact_x,
    encoding,
    finish,
    finite_range,
    no_data,
    panel_grid,
    plain_log_ticks,
    save_csv,
    save_figure,
    set_value_scale,
    spans_orders,
    strategy_styles,
)
from gansweep.analysis.loading import Study, study_name
from gansweep.analysis.study_analysis import StudyAnalysis
from gansweep.analysis.tables import cell_titles, status_counts
from gansweep.status import Status

log = logging.getLogger(__name__)


BANDS_UP_TO = 4
"""Curves of a shared panel that still get their band: more would hide each other."""


def _drawn(g: Any) -> Any:
    """Log-spaced budgets of a long curve (drawing only: the CSV keeps every k)."""
    if len(g) > MAX_DRAWN:
        return g.iloc[np.unique(np.geomspace(1, len(g), MAX_DRAWN).astype(int) - 1)]
    return g


def plot_budget_curves(a: StudyAnalysis, out_dir: Path) -> list[Path]:
    """One axes per ``panel`` value, every cell of it on that shared axis (Kurach et al.'s layout)."""
    data = a.budget_curves
    return [save_figure(shared_axis_figure(a.study, data), out_dir / "budget_curves.png"),
            save_csv(data, out_dir / "budget_curves.csv")]


def shared_axis_figure(study: Study, data: Any) -> Any:
    """The figure of :func:`plot_budget_curves` (``data``: :attr:`StudyAnalysis.budget_curves`)."""
    trials = study.trials
    enc = encoding(study)
    panels = sorted(data[study.panel].unique(), key=str)
    strategies = sorted(data["strategy"].unique(), key=str)
    styles = {s: enc.style.get(s, "-") for s in strategies}
    good, bad_edge = ("hi", "bottom") if study.higher_is_better else ("lo", "top")
    log_x = data["budget"].max() >= 20
    fig, axes = panel_grid(len(panels), 5.6, 4.2, max_cols=2 if len(panels) > 1 else 1)
    for ax, value in zip(axes, panels):
        sub = data[data[study.panel] == value]
        curves = list(sub.groupby(["cell", "strategy"], sort=True))
        bands = len(curves) <= BANDS_UP_TO
        rng = finite_range([sub["median"], *([sub[good]] if bands else [])])
        if rng is None:
            no_data(ax)
        log_y = spans_orders(np.concatenate([sub["median"].to_numpy(), sub[good].to_numpy() if bands else []]))
        bottom, top = set_value_scale(ax, rng, log_y)
        above = top * 10 if log_y else top + (top - bottom)
        below = bottom / 10 if log_y else bottom - (top - bottom)
        for (_, strat), g in curves:
            colour, _, marker = enc.of(g.iloc[0])
            g = _drawn(g)
            k = g["budget"].to_numpy()
            med = g["median"].replace([np.inf, -np.inf], np.nan).to_numpy()
            if bands and len(k) > 1:
                lo = g["lo"].replace([np.inf, -np.inf], [above, below]).to_numpy(dtype=float)
                hi = g["hi"].replace([np.inf, -np.inf], [above, below]).to_numpy(dtype=float)
                ax.fill_between(k, lo, hi, color=colour, alpha=0.1, linewidth=0, zorder=1)
            every = max(1, len(k) // 6)
            ax.plot(k, med, color=colour, linestyle=styles[strat] if len(k) > 1 else "none", linewidth=1.6,
                    marker=marker or ("o" if len(k) == 1 else None), markevery=every, markersize=4, zorder=3)
        if log_x:
            ax.set_xscale("log")
            plain_log_ticks(ax.xaxis)
            ax.set_xlim(0.9, max(sub["budget"].max(), 2) * 1.1)
        else:
            ax.set_xlim(0.5, max(sub["budget"].max(), 2) + 0.5)
            compact_x(ax)
        ax.set_title(f"{study.panel} = {value}\n{status_counts(trials[trials[study.panel] == value])}", fontsize=9)
        ax.set_xlabel("budget k (trials)", fontsize=9)
        ax.set_ylabel(f"median best {study.metric_short}" + (" (log)" if log_y else ""), fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
    sections = enc.legend(strategies=False)
    sections.insert(1, ("strategy (line style)", [Line2D([], [], color="0.3", linestyle=styles[s], linewidth=1.6,
                                                         label=s) for s in strategies]))
    sections[0] = (f"{enc.by} (colour)", sections[0][1])
    if enc.rest:
        sections[-1] = (f"{sections[-1][0]} (marker)", sections[-1][1])
    extras = [Line2D([], [], color="0.3", linewidth=1.6, label="median best of k (exact)")]
    if any(len(list(data[data[study.panel] == v].groupby(["cell", "strategy"]))) <= BANDS_UP_TO for v in panels):
        extras.append(Line2D([], [], color="0.3", linewidth=8, alpha=0.1, label="2.5–97.5 % (≤ 4 curves)"))
    sections.append(("", extras))
    finish(fig, sections, f"{study_name(study)}\nmedian best {study.metric_short} within a budget of k trials; "
                          f"the cells of a {study.panel} on one axis",
           note=f"Each line is one cell and strategy: the exact median of the best of k trials drawn from its N. "
                f"Diverged and failed trials count as no result (a line that starts late: most of its trials "
                f"found nothing). Bands and the running best of sequential strategies: budget_curves_by_cell.png.")
    return fig


def plot_budget_curves_by_cell(a: StudyAnalysis, out_dir: Path) -> list[Path]:
    """Small multiples: one axes per cell, so 8-30 cells stay legible (issue 18)."""
    study, data = a.study, a.budget_curves
    trials = study.trials
    enc = encoding(study)
    cells = sorted(data["cell"].unique(), key=str)
    titles = cell_titles(study, data)
    strategies = sorted(data["strategy"].unique(), key=str)
    styles = strategy_styles(strategies)
    sequential = set(data.loc[data["running_best"].notna(), "strategy"])
    log_x = data["budget"].max() >= 20
    band_alpha = 0.18 if len(strategies) == 1 else 0.1
    good, bad_edge = ("hi", "bottom") if study.higher_is_better else ("lo", "top")
    cols = 3 if len(cells) <= 9 else 4 if len(cells) <= 16 else 5
    fig, axes = panel_grid(len(cells), 3.4, 2.7, max_cols=cols)
    for ax, cell in zip(axes, cells):
        sub = data[data["cell"] == cell]
        rng = finite_range([sub[good], sub["median"], sub["running_best"]])
        if rng is None:
            no_data(ax)
        log_y = spans_orders(np.concatenate([sub["median"].to_numpy(), sub[good].to_numpy()]))
        bottom, top = set_value_scale(ax, rng, log_y)
        above = top * 10 if log_y else top + (top - bottom)
        below = bottom / 10 if log_y else bottom - (top - bottom)
        for strat, g in sub.groupby("strategy", sort=True):
            c = enc.of(g.iloc[0])[0]
            ls = styles.get(strat, "-")
            if len(g) > MAX_DRAWN:  # drawing only: log-spaced budgets (the CSV keeps every k)
                g = g.iloc[np.unique(np.geomspace(1, len(g), MAX_DRAWN).astype(int) - 1)]
            k = g["budget"].to_numpy()
            med = g["median"].replace([np.inf, -np.inf], np.nan).to_numpy()
            lo = g["lo"].replace([np.inf, -np.inf], [above, below]).to_numpy(dtype=float)
            hi = g["hi"].replace([np.inf, -np.inf], [above, below]).to_numpy(dtype=float)
            if len(k) == 1:  # a single trial: a point, no band
                ax.plot(k, med, marker="o", color=c, linestyle="none")
                continue
            ax.fill_between(k, lo, hi, color=c, alpha=band_alpha, linewidth=0, zorder=1)
            ax.plot(k, med, color=c, linestyle=ls, linewidth=1.8, zorder=3, label=f"median {strat}")
            if strat in sequential:
                rbv = g["running_best"].replace([np.inf, -np.inf], np.nan).to_numpy()
                ax.plot(k, rbv, color=c, linestyle=ls, linewidth=0.9, alpha=0.8, drawstyle="steps-post",
                        zorder=2)
        if log_x:
            ax.set_xscale("log")
            plain_log_ticks(ax.xaxis)
            ax.set_xlim(0.9, max(sub["budget"].max(), 2) * 1.1)
        else:
            ax.set_xlim(0.5, max(sub["budget"].max(), 2) + 0.5)
            compact_x(ax)
        ax.set_title(f"{titles[cell]}\n{status_counts(trials[trials['cell'] == cell])}", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, which="major", alpha=0.3)
    for ax in axes:
        if ax.get_subplotspec().is_last_row() or ax is axes[-1]:
            ax.set_xlabel("budget k (trials)", fontsize=8)
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(f"best {study.metric_short}", fontsize=8)
    sections: list[tuple[str, list[Any]]] = []
    # every line style explained, even with one strategy (a lone GP's median is dashed)
    sections.append(("strategy (line style)", [Line2D([], [], color="0.3", linestyle=styles[s], linewidth=1.8,
                                                      label=s) for s in strategies]))
    extras = [Line2D([], [], color="0.3", linewidth=1.8, label="median best of k"),
              Line2D([], [], color="0.3", linewidth=8, alpha=band_alpha, label="2.5–97.5 %")]
    if sequential:
        extras.append(Line2D([], [], color="0.3", linewidth=0.9, drawstyle="steps-post",
                             label="running best (in suggestion order)"))
    sections.append(("", extras))
    finish(fig, sections, f"{study_name(study)}: best score within a budget of k trials (exact), one panel per cell",
           note=f"Diverged and failed trials count as no result: a band reaching the {bad_edge} edge means "
                "all k trials may have diverged; a median missing at small k means most likely did."
                + (" Stopped trials (early stopping within their cell) count at the score they reached "
                   "before they were stopped." if (trials["status"] == Status.STOPPED).any() else ""))
    return [save_figure(fig, out_dir / "budget_curves_by_cell.png")]  # its data: budget_curves.csv
