"""The confirmed scores per cell: every confirmation run as a point, each configuration's mean with
its 95 % interval over seeds, and the search's score of that configuration (docs/CONFIRM.md).

Written only when the study has a confirmation (``results/confirm``); the plotted data is
``plots/confirmed.csv``, one row per run; every pair's verdict is ``plots/confirmed_verdicts.csv``."""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib.lines
import numpy as np

from gansweep.analysis.figures.common import MARKERS, finish, panel_grid, save_csv, save_figure
from gansweep.analysis.loading import study_name
from gansweep.analysis.study_analysis import StudyAnalysis

log = logging.getLogger(__name__)


def plot_confirmed(a: StudyAnalysis, out_dir: Path) -> list[Path]:
    if a.confirmed_rows.empty:
        return []
    study, data, table = a.study, a.confirmed_runs, a.confirmed_table
    groups = sorted({(d, s) for d, s in zip(data["dataset"], data["strategy"])})
    n_cells = int(data.groupby(["dataset", "strategy"])["cell"].nunique().max())
    fig, axes = panel_grid(len(groups), width=max(5.5, 1.4 * n_cells + 1.5), height=4.2,
                           max_cols=1 if n_cells > 6 else 2)
    ranks = sorted(int(r) for r in data["rank"].unique())
    jitter = np.random.default_rng(0)  # fixed: the same figure every time
    for ax, (ds, strat) in zip(axes, groups):
        sub = table[(table.dataset == ds) & (table.strategy == strat)]
        cells = sorted(sub.cell.unique(), key=lambda c: (sub[sub.cell == c]["mean"].min(), c))
        width = 0.7 / max(1, len(ranks))
        finite = data[np.isfinite(data["value"])]["value"]
        top = float(finite.max()) if len(finite) else 1.0
        for x, cell in enumerate(cells):
            for r in sub[sub.cell == cell].itertuples(index=False):
                off = x - 0.35 + width * (ranks.index(r.rank) + 0.5)
                v = data[(data.confirms == r.confirms)]["value"].to_numpy()
                fin = v[np.isfinite(v)]
                colour = f"C{ranks.index(r.rank) % 10}"
                ax.scatter(off + jitter.uniform(-width / 4, width / 4, fin.size), fin, s=14, alpha=0.6,
                           color=colour, marker=MARKERS[ranks.index(r.rank) % len(MARKERS)], zorder=2)
                if fin.size < v.size:  # diverged runs: a cross at the top
                    ax.scatter([off], [top], marker="x", color="#b03a00", s=30, zorder=3)
                if r.mean == r.mean:
                    lo, hi = (r.lo, r.hi) if r.se == r.se else (r.mean, r.mean)
                    ax.errorbar([off], [r.mean], yerr=[[r.mean - lo], [hi - r.mean]], fmt="_", color="black",
                                markersize=12, capsize=3, zorder=4)
                ax.scatter([off], [r.search_score], marker="*", s=60, facecolor="white", edgecolor="black",
                           zorder=5)
        ax.set_xticks(range(len(cells)), _labels(cells), fontsize=8,
                      rotation=30 if len(cells) > 4 else 0, ha="right" if len(cells) > 4 else "center")
        ax.set_xlim(-0.6, len(cells) - 0.4)
        ax.set_title(f"dataset {ds}, strategy {strat}", fontsize=10)
        ax.set_ylabel(study.metric_short if study.metric == "score" else study.primary)
        ax.grid(True, axis="y", alpha=0.3)
    handles = [matplotlib.lines.Line2D([], [], linestyle="none", marker=MARKERS[i % len(MARKERS)], color=f"C{i % 10}",
                                       label=f"search rank {r}: a run (seed)") for i, r in enumerate(ranks)]
    handles += [matplotlib.lines.Line2D([], [], linestyle="none", marker="_", color="black", markersize=12,
                                        label="mean, 95 % interval over seeds"),
                matplotlib.lines.Line2D([], [], linestyle="none", marker="*", markerfacecolor="white",
                                        markeredgecolor="black", label="the search's score (selected on it)"),
                matplotlib.lines.Line2D([], [], linestyle="none", marker="x", color="#b03a00",
                                        label="a diverged run")]
    finish(fig, [("", handles)], f"{study_name(study)}: confirmed scores",
           note="New training seeds, a fresh evaluation. Each cell's top configurations of the search, trained again with new seeds to the search's length "
                "and scored once on a fresh evaluation stream (lower is better). A star above its points is a "
                "search score that was optimistic: chosen as the best of its evaluations on the stream it reports.")
    csv = data.drop(columns=[c for c in ("config", "stream", "error") if c in data])
    return [save_figure(fig, out_dir / "confirmed.png"), save_csv(csv, out_dir / "confirmed.csv"),
            save_csv(a.confirmed_verdicts, out_dir / "confirmed_verdicts.csv")]


def _labels(cells: list[str]) -> list[str]:
    """Cell ids without the parts every cell shares (``ns.gp`` rather than ``digits.dcgan.ns.gp.none``)."""
    parts = [c.split(".") for c in cells]
    varying = [i for i in range(len(parts[0])) if len({p[i] for p in parts}) > 1] if len(cells) > 1 else []
    return [".".join(p[i] for i in varying) or c for p, c in zip(parts, cells)]
