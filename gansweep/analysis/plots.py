"""The study's figures, each written as a PNG plus the plotted data as a CSV beside it.

Why this module exists: ``gansweep plot STUDY_DIR`` must turn ``results/`` alone (no Ray, no GPU,
no trial code) into the figures of "The GAN Landscape", also while the study still runs. Every
figure follows one reading convention: one panel per value of ``panel`` (the data set by
default, since scores of different data sets are not comparable), colour per value of ``by``
(the grid axis that varies most by default), line style per search strategy, a colour-blind-safe
palette (Okabe-Ito), legends outside the data, log scales where values span orders of
magnitude, and diverged or failed trials shown as such rather than dropped.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; never a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import matplotlib.ticker  # noqa: E402
import yaml  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from gansweep.analysis.budget import HIGHER_IS_BETTER, budget_curves, running_best  # noqa: E402
from gansweep.errors import GansweepError, NotAStudyError  # noqa: E402
from gansweep.store import read_evals, read_trials  # noqa: E402

log = logging.getLogger(__name__)

GRID_AXES = ("dataset", "architecture", "loss", "penalty", "normalization")
# Okabe & Ito (2008), ordered so the first colours contrast most on white; yellow last.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442"]
STRATEGY_STYLES = {"random": "-", "gp": "--", "optuna": "-.", "table1": (0, (1, 1.5))}
EXTRA_STYLES = [(0, (5, 1, 1, 1, 1, 1)), (0, (3, 3)), (0, (8, 2))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
METRIC_LABELS = {
    "fid": "FID", "fd": "Fréchet distance (FD)", "is": "Inception score", "kid": "KID",
    "modes": "modes covered", "hq": "high-quality samples (share)", "precision": "precision",
    "recall": "recall", "msssim": "MS-SSIM", "recon": "reconstruction error",
}
PLOTS = ("budget_curves", "distributions", "score_vs_compute", "sensitivity", "learning_curves")
TOP_SHARE = 0.15
BEST_PER_CELL = 3


# --------------------------------------------------------------------------------------------
# Loading


@dataclass
class Study:
    """What every plot needs: the stored trials, the study file, and the chosen layout."""

    path: Path
    spec: dict[str, Any]
    trials: pd.DataFrame
    metric: str  # column plotted ("score" or a metric column)
    primary: str  # primary metric's name, for labels
    panel: str
    by: str
    log_hps: set[str] = field(default_factory=set)

    @property
    def higher_is_better(self) -> bool:
        return self.metric in HIGHER_IS_BETTER

    @property
    def metric_label(self) -> str:
        name = self.primary if self.metric == "score" else self.metric
        label = METRIC_LABELS.get(name, name)
        return f"{label} ({'higher' if self.higher_is_better else 'lower'} is better)"

    def values(self, frame: pd.DataFrame | None = None) -> pd.Series:
        """The plotted metric; NaN for trials that did not complete."""
        frame = self.trials if frame is None else frame
        v = pd.to_numeric(frame[self.metric], errors="coerce").astype(float)
        return v.where(frame["status"] == "completed")


def read_spec(study_dir: Path) -> dict[str, Any]:
    """study.yaml as a dict ({} when absent); a broken file is a one-line error."""
    path = study_dir / "study.yaml"
    if not path.is_file():
        return {}
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" line {line + 1}" if line is not None else ""
        raise GansweepError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return spec if isinstance(spec, dict) else {}


def check_study_dir(study_dir: str | Path) -> Path:
    path = Path(study_dir)
    if not path.is_dir() or not ((path / "study.yaml").is_file() or (path / "results").is_dir()):
        raise NotAStudyError(f"{path} is not a study directory (it has neither study.yaml nor results/)")
    return path


def log_scale_hps(spec: dict[str, Any]) -> set[str]:
    """Hyperparameters that any search entry samples on a log scale."""
    out = set()
    for entry in spec.get("search") or []:
        space = entry.get("space") if isinstance(entry, dict) else None
        for name, dom in (space or {}).items() if isinstance(space, dict) else ():
            if isinstance(dom, dict) and dom.get("log") is True:
                out.add(name)
    return out


def varying_axes(trials: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Grid axes with more than one value, the one with most values first."""
    axes = [a for a in GRID_AXES if a in trials and a not in exclude and trials[a].nunique() > 1]
    return sorted(axes, key=lambda a: -trials[a].nunique())


def load_study(study_dir: str | Path, by: str | None = None, panel: str | None = None,
               metric: str | None = None) -> Study:
    """Read a study directory and resolve the layout; GansweepError on bad options or no results."""
    path = check_study_dir(study_dir)
    spec = read_spec(path)
    trials = read_trials(path)
    if trials.empty:
        raise GansweepError(f"{path}: no results yet (results/trials holds no trial)")
    metrics_spec = spec.get("metrics") if isinstance(spec.get("metrics"), dict) else {}
    primary = str(metrics_spec.get("primary") or ("fd" if "fd" in trials else "fid"))
    metric = metric or "score"
    numeric = [c for c in trials.columns if c == "score" or (
        c not in GRID_AXES and not c.startswith("hp_") and pd.api.types.is_float_dtype(trials[c])
        and c not in ("train_seconds", "gpu", "round"))]
    if metric not in numeric:
        raise GansweepError(f"unknown metric {metric!r}; this study has: {', '.join(numeric)}")
    choices = [a for a in GRID_AXES if a in trials]
    panel = panel or "dataset"
    if panel not in choices:
        raise GansweepError(f"--panel {panel!r}: choose one of {', '.join(choices)}")
    if by is None:
        axes = varying_axes(trials, exclude=[panel])
        by = axes[0] if axes else next(a for a in ("normalization", "penalty", *choices) if a != panel)
    if by not in choices or by == panel:
        allowed = [a for a in choices if a != panel]
        raise GansweepError(f"--by {by!r}: choose one of {', '.join(allowed)} (not the panel axis)")
    for col in GRID_AXES:  # tolerate stores written before an axis existed
        if col not in trials:
            trials[col] = "-"
    return Study(path, spec, trials, metric, primary, panel, by, log_scale_hps(spec))


# --------------------------------------------------------------------------------------------
# Helpers


def atomic_write_bytes(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a hidden temporary file in the same directory, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def save_figure(fig: plt.Figure, path: Path) -> Path:
    atomic_write_bytes(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)
    return path


def save_csv(frame: pd.DataFrame, path: Path) -> Path:
    return atomic_write_bytes(path, lambda tmp: frame.to_csv(tmp, index=False))


def colours(values: Sequence[Any]) -> dict[Any, str]:
    vals = sorted(set(values), key=str)
    if len(vals) <= len(PALETTE):
        return {v: PALETTE[i] for i, v in enumerate(vals)}
    cmap = plt.get_cmap("tab20")
    return {v: matplotlib.colors.to_hex(cmap(i % 20)) for i, v in enumerate(vals)}


def strategy_styles(strategies: Sequence[str]) -> dict[str, Any]:
    extra = iter(EXTRA_STYLES * 4)
    return {s: STRATEGY_STYLES.get(s) or next(extra) for s in sorted(set(strategies))}


def spans_orders(values: np.ndarray, ratio: float = 30.0) -> bool:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return v.size > 1 and v.min() > 0 and v.max() / v.min() > ratio


def plain_log_ticks(axis: Any) -> None:
    """Log-axis ticks as plain numbers (3, 10, 30) instead of 3x10^0."""
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(fmt)
    axis.set_minor_locator(matplotlib.ticker.LogLocator(subs=(2.0, 5.0)))
    axis.set_minor_formatter(fmt)


def study_name(study: "Study") -> str:
    return str(study.spec.get("name") or study.path.name)


def panel_grid(n: int, width: float = 5.2, height: float = 3.9, max_cols: int = 3
               ) -> tuple[plt.Figure, list[plt.Axes]]:
    cols = min(n, max_cols)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def status_counts(frame: pd.DataFrame) -> str:
    n = len(frame)
    div = int((frame["status"] == "diverged").sum())
    fail = int((frame["status"] == "failed").sum())
    parts = [f"{n} trials"]
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


def outside_legend(fig: plt.Figure, sections: list[tuple[str, list[Line2D]]]) -> None:
    """One legend to the right of all panels, in titled sections."""
    handles: list[Any] = []
    labels: list[str] = []
    for title, hs in sections:
        if not hs:
            continue
        if handles:
            handles.append(Line2D([], [], linestyle="none"))
            labels.append("")
        handles.append(Line2D([], [], linestyle="none"))
        labels.append(title)
        handles += hs
        labels += [h.get_label() for h in hs]
    if handles:
        leg = fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 0.95),
                         frameon=False, handlelength=3.2, fontsize=9)
        for text, label in zip(leg.get_texts(), labels):
            if any(label == t for t, _ in sections):
                text.set_fontweight("bold")


def _finite_range(arrays: Sequence[np.ndarray]) -> tuple[float, float] | None:
    vals = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays]) if arrays else np.empty(0)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return None
    return float(vals.min()), float(vals.max())


def _set_value_scale(ax: plt.Axes, lo_hi: tuple[float, float] | None, log: bool) -> tuple[float, float]:
    """Set y limits with a margin; return them (bands that reach +inf are drawn to the top)."""
    if lo_hi is None:
        lo_hi = (0.0, 1.0)
    lo, hi = lo_hi
    if log:
        ax.set_yscale("log")
        span = np.log10(hi) - np.log10(lo) if hi > lo else 1.0
        top, bottom = 10 ** (np.log10(hi) + 0.08 * span), 10 ** (np.log10(lo) - 0.05 * span)
        plain_log_ticks(ax.yaxis)
    else:
        span = hi - lo if hi > lo else max(abs(hi), 1.0)
        top, bottom = hi + 0.08 * span, lo - 0.05 * span
    ax.set_ylim(bottom, top)
    return bottom, top


# --------------------------------------------------------------------------------------------
# Budget curves


def budget_curves_data(study: Study) -> pd.DataFrame:
    """budget_curves.csv: per cell and strategy, one row per budget k = 1..N."""
    by = ["cell", *GRID_AXES, "strategy"]
    curves = budget_curves(study.trials, by=by, metric=study.metric)
    rb = running_best(study.trials, metric=study.metric, by=["cell", "strategy"])
    curves = curves.merge(rb[["cell", "strategy", "budget", "running_best"]],
                          on=["cell", "strategy", "budget"], how="left")
    curves["metric"] = study.primary if study.metric == "score" else study.metric
    return curves


def plot_budget_curves(study: Study, out_dir: Path) -> list[Path]:
    data = budget_curves_data(study)
    trials = study.trials
    panels = sorted(trials[study.panel].unique(), key=str)
    colour = colours(trials[study.by])
    style = strategy_styles(trials["strategy"])
    rest = rest_axes(study)
    rest_keys = sorted({cell_label(r, rest) for _, r in trials[rest].drop_duplicates().iterrows()}) if rest else []
    marker = {key: MARKERS[i % len(MARKERS)] for i, key in enumerate(rest_keys)}
    sequential = set(data.loc[data["running_best"].notna(), "strategy"])
    log_x = data["budget"].max() >= 40

    fig, axes = panel_grid(len(panels))
    for ax, pv in zip(axes, panels):
        sub = data[data[study.panel] == pv]
        # the y range follows medians and lower quantiles; wide upper bands run off the top
        rng = _finite_range([sub["lo"], sub["median"], sub["running_best"]])
        log_y = spans_orders(np.concatenate([sub["median"].to_numpy(), sub["lo"].to_numpy()]))
        bottom, top = _set_value_scale(ax, rng, log_y)
        beyond = top * 10 if log_y else top + (top - bottom)
        for (cell, strat), g in sub.groupby(["cell", "strategy"], sort=True):
            first = g.iloc[0]
            c, ls = colour[first[study.by]], style[strat]
            k = g["budget"].to_numpy()
            med = g["median"].replace([np.inf, -np.inf], np.nan).to_numpy()
            lo = g["lo"].replace([np.inf, -np.inf], np.nan).to_numpy()
            hi = g["hi"].replace(np.inf if not study.higher_is_better else -np.inf,
                                 beyond if not study.higher_is_better else bottom / 10 if log_y else bottom - (top - bottom))
            hi = hi.to_numpy(dtype=float)
            if len(k) == 1:  # a single trial: a point, no band
                ax.plot(k, med, marker=marker.get(cell_label(first, rest), "o"), color=c, linestyle="none")
                continue
            ax.fill_between(k, lo, hi, color=c, alpha=0.07, linewidth=0)
            mk = marker.get(cell_label(first, rest)) if rest else None
            ax.plot(k, med, color=c, linestyle=ls, linewidth=1.8, marker=mk,
                    markevery=max(1, len(k) // 5) if mk else None, markersize=5)
            if strat in sequential:
                rbv = g["running_best"].replace([np.inf, -np.inf], np.nan).to_numpy()
                ax.plot(k, rbv, color=c, linestyle=ls, linewidth=0.9, alpha=0.8, drawstyle="steps-post")
        if log_x:
            ax.set_xscale("log")
            plain_log_ticks(ax.xaxis)
        ax.set_xlim(0.9 if log_x else 0.5, max(sub["budget"].max(), 2) * (1.1 if log_x else 1.0) + (0 if log_x else 0.5))
        ax.set_title(f"{study.panel} = {pv}\n{status_counts(trials[trials[study.panel] == pv])}", fontsize=10)
        ax.set_xlabel("budget k (number of trials)")
        ax.set_ylabel(f"best {study.metric_label}")
        ax.grid(True, which="major", alpha=0.3)
    sections = [
        (study.by, [Line2D([], [], color=colour[v], linewidth=2.5, label=str(v)) for v in sorted(colour, key=str)]),
        ("strategy", [Line2D([], [], color="0.3", linestyle=style[s], linewidth=1.8, label=s) for s in style]),
    ]
    if rest:
        sections.append((" · ".join(rest), [Line2D([], [], color="0.3", marker=marker[k], linestyle="none", label=k)
                                             for k in rest_keys]))
    extras = [Line2D([], [], color="0.3", linewidth=8, alpha=0.15, label="2.5–97.5 % of best")]
    if sequential:
        extras.append(Line2D([], [], color="0.3", linewidth=0.9, drawstyle="steps-post",
                             label=f"running best ({', '.join(sorted(sequential))})"))
    sections.append(("reading", extras))
    outside_legend(fig, sections)
    fig.suptitle(f"{study_name(study)}: median best score within a budget of k trials "
                 f"(exact, k drawn from the stored trials)", fontsize=11)
    fig.text(0.0, -0.02, "Diverged and failed trials count as no result: a band reaching the top edge "
             "means all k trials may have diverged; missing medians at small k mean most likely did.",
             fontsize=8, color="0.35")
    fig.tight_layout()
    return [save_figure(fig, out_dir / "budget_curves.png"), save_csv(data, out_dir / "budget_curves.csv")]


# --------------------------------------------------------------------------------------------
# Entry point

PLOTTERS: dict[str, Callable[[Study, Path], list[Path]]] = {
    "budget_curves": plot_budget_curves,
}


def plot_study(study_dir: str | Path, by: str | None = None, panel: str | None = None,
               metric: str | None = None) -> list[Path]:
    """Write ``plots/<name>.png`` and ``plots/<name>.csv`` for every figure; return their paths.

    ``panel``: grid axis with one panel per value (default ``dataset``); ``by``: grid axis
    coloured (default: the one with most values); ``metric``: column plotted (default
    ``score``, the primary metric). Works on the partial results of a running study. Raises
    NotAStudyError when ``study_dir`` has neither study.yaml nor results/, GansweepError when
    no trial is stored yet or an option names nothing in the study.
    """
    study = load_study(study_dir, by=by, panel=panel, metric=metric)
    out_dir = study.path / "plots"
    written: list[Path] = []
    for name, plotter in PLOTTERS.items():
        written += plotter(study, out_dir)
    return written
