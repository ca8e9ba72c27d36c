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
import textwrap
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.patches
import matplotlib.ticker
import numpy as np
import pandas as pd
import yaml
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # the object API: no pyplot state, no backend chosen for the user
from matplotlib.lines import Line2D

from gansweep.analysis.budget import budget_curves, running_best
from gansweep.errors import GansweepError, NotAStudyError
from gansweep.storage import StoragePath, location, refuse_links
from gansweep.metrics import specs as metric_specs
from gansweep.store import SCORED, read_evals, read_trials
from gansweep.study.schema import AXES

log = logging.getLogger(__name__)

GRID_AXES = AXES
# Okabe & Ito (2008), ordered so the first colours contrast most on white; yellow last.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442"]
STRATEGY_STYLES = {"random": "-", "gp": "--", "optuna": "-.", "table1": (0, (1, 1.5))}
EXTRA_STYLES = [(0, (5, 1, 1, 1, 1, 1)), (0, (3, 3)), (0, (8, 2))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
PLOTS = ("budget_curves", "distributions", "score_vs_compute", "sensitivity", "learning_curves")
TOP_SHARE = 0.15
MAX_DRAWN = 300  # points drawn per budget curve
BEST_PER_CELL = 3


# --------------------------------------------------------------------------------------------
# Loading


@dataclass
class Study:
    """What every plot needs: the stored trials, the study file, and the chosen layout.

    ``path`` is where the study is (a directory or ``s3://…``); ``out`` the local directory the
    figures and the report go to (see :func:`output_dir`).
    """

    path: StoragePath
    spec: dict[str, Any]
    trials: pd.DataFrame
    metric: str  # column plotted ("score" or a metric column)
    primary: str  # primary metric's name, for labels
    panel: str
    by: str
    log_hps: set[str] = field(default_factory=set)
    out: Path | None = None
    dry_run: bool = False  # synthetic trials: every title says so

    @property
    def out_dir(self) -> Path:
        return self.out if self.out is not None else output_dir(self.path)

    @property
    def higher_is_better(self) -> bool:
        return metric_specs.higher_is_better(self.primary if self.metric == "score" else self.metric)

    @property
    def metric_label(self) -> str:
        name = self.primary if self.metric == "score" else self.metric
        label = metric_specs.label(name)
        return f"{label} ({'higher' if self.higher_is_better else 'lower'} is better)"

    @property
    def metric_short(self) -> str:
        """E.g. 'FD (lower is better)': short enough for an axis label."""
        name = self.primary if self.metric == "score" else self.metric
        short = name.upper() if name in ("fid", "fd", "is", "kid") else name.replace("_", " ")
        return f"{short} ({'higher' if self.higher_is_better else 'lower'} is better)"

    def values(self, frame: pd.DataFrame | None = None) -> pd.Series:
        """The plotted metric; NaN for trials that found nothing (stopped ones: what they reached)."""
        frame = self.trials if frame is None else frame
        v = pd.to_numeric(frame[self.metric], errors="coerce").astype(float)
        return v.where(frame["status"].isin(SCORED))


def read_spec(study_dir: StoragePath) -> dict[str, Any]:
    """study.yaml as a dict ({} when absent); a broken file is a one-line error."""
    path = study_dir / "study.yaml"
    if not path.is_file():
        return {}
    from gansweep.study.load import parse_yaml, study_text

    try:  # the study loader's reading: size, UTF-8 and alias-expansion limits (a shared study may be hostile)
        spec = parse_yaml(study_text(path.read_bytes(), str(path)), str(path))
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" line {line + 1}" if line is not None else ""
        raise GansweepError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    return spec if isinstance(spec, dict) else {}


def check_study_dir(study_dir: str | StoragePath) -> StoragePath:
    path = location(study_dir)
    if not path.is_dir() or not ((path / "study.yaml").is_file() or (path / "results").is_dir()):
        raise NotAStudyError(f"{path} is not a study directory (it has neither study.yaml nor results/)")
    refuse_links(path)  # a link inside (plots/, results/) would lead the writes out of it
    return path


def output_dir(study_dir: StoragePath, out: str | Path | None = None) -> Path:
    """Where figures, the report and exports go: ``out``, else the study directory itself, or
    ``./<study name>`` for a study in a bucket (plots are written locally, never into the bucket)."""
    if out is not None:
        out = Path(out)
        for p in (out, *out.parents):  # a file on the way would be a traceback at the first write
            if p.exists():
                if not p.is_dir():
                    raise GansweepError(f"--out {out}: {p} is a file; give a directory (it is created if missing)")
                break
        return out
    return study_dir if isinstance(study_dir, Path) else Path(study_dir.name)


def log_scale_hps(spec: dict[str, Any]) -> set[str]:
    """Hyperparameters that any search entry samples on a log scale."""
    out = set()
    for entry in spec.get("search") or []:
        space = entry.get("space") if isinstance(entry, dict) else None
        for name, dom in (space or {}).items() if isinstance(space, dict) else ():
            if isinstance(dom, dict) and dom.get("log") is True:
                out.add(name)
    return out


def searched_hps(spec: dict[str, Any], trials: pd.DataFrame) -> dict[str, str]:
    """Hyperparameters some search entry varies, with their axis kind: 'choice' (categorical or
    integer choices, drawn as categories), 'log' or 'linear'. A hyperparameter fixed by every
    entry (a single value, one choice) is not searched and gets no sensitivity panel."""
    kinds: dict[str, str] = {}
    for entry in spec.get("search") or []:
        space = entry.get("space") if isinstance(entry, dict) else None
        for name, dom in (space or {}).items() if isinstance(space, dict) else ():
            if not isinstance(dom, dict):
                continue
            if isinstance(dom.get("choices"), list) and len(dom["choices"]) > 1:
                kinds[name] = "choice"
            elif "low" in dom and "high" in dom and dom["low"] != dom["high"]:
                is_int = all(isinstance(dom[b], int) and not isinstance(dom[b], bool) for b in ("low", "high"))
                kinds.setdefault(name, "choice" if is_int and dom["high"] - dom["low"] <= 12
                                 else "log" if dom.get("log") is True else "linear")
    # table1 and other fixed-value strategies vary nothing; keep only what the trials show varying
    return {n: k for n, k in kinds.items() if f"hp_{n}" in trials and trials[f"hp_{n}"].nunique() > 1}


def varying_axes(trials: pd.DataFrame, exclude: Sequence[str] = ()) -> list[str]:
    """Grid axes with more than one value, the one with most values first."""
    axes = [a for a in GRID_AXES if a in trials and a not in exclude and trials[a].nunique() > 1]
    return sorted(axes, key=lambda a: -trials[a].nunique())


def _default_primary(trials: pd.DataFrame) -> str:
    """The metric the score is, when the study names none: each data set's default; ``score`` when
    its data sets' defaults differ (digits' fd beside cifar10's fid: no one name is right)."""
    datasets = trials["dataset"].dropna().unique() if "dataset" in trials else []
    defaults = {metric_specs.default_primary(str(d)) for d in datasets}
    return defaults.pop() if len(defaults) == 1 else "score"


def load_study(study_dir: str | StoragePath, by: str | None = None, panel: str | None = None,
               metric: str | None = None, out: str | Path | None = None) -> Study:
    """Read a study directory and resolve the layout; GansweepError on bad options or no results."""
    path = check_study_dir(study_dir)
    spec = read_spec(path)
    trials = read_trials(path)
    if trials.empty:
        raise GansweepError(f"{path}: no results yet (results/trials holds no trial)")
    metrics_spec = spec.get("metrics") if isinstance(spec.get("metrics"), dict) else {}
    primary = str(metrics_spec.get("primary") or _default_primary(trials))
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
    return Study(path, spec, trials, metric, primary, panel, by, log_scale_hps(spec), output_dir(path, out),
                 read_dry_run(path))


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


def save_figure(fig: Figure, path: Path) -> Path:
    atomic_write_bytes(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    return path


def save_csv(frame: pd.DataFrame, path: Path) -> Path:
    return atomic_write_bytes(path, lambda tmp: frame.to_csv(tmp, index=False))


def colours(values: Sequence[Any]) -> dict[Any, str]:
    vals = sorted(set(values), key=str)
    if len(vals) <= len(PALETTE):
        return {v: PALETTE[i] for i, v in enumerate(vals)}
    cmap = matplotlib.colormaps["tab20"]
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
    name = str(study.spec.get("name") or study.path.name)
    return f"{name} (DRY RUN: synthetic trials, not trained GANs)" if study.dry_run else name


def read_dry_run(study_dir: StoragePath) -> bool:
    """Whether the study ran synthetic trials (``gansweep.json``); False when unknown."""
    import json

    try:
        return bool(json.loads((study_dir / "gansweep.json").read_text()).get("dry_run"))
    except (OSError, ValueError, AttributeError):
        return False


def panel_grid(n: int, width: float = 5.2, height: float = 3.9, max_cols: int = 3
               ) -> tuple[Figure, list[Axes]]:
    cols = min(n, max_cols)
    rows = -(-n // cols)
    fig = Figure(figsize=(width * cols, height * rows))  # object API: no pyplot state, no backend switch
    axes = fig.subplots(rows, cols, squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def status_counts(frame: pd.DataFrame) -> str:
    n = len(frame)
    div = int((frame["status"] == "diverged").sum())
    fail = int((frame["status"] == "failed").sum())
    stopped = int((frame["status"] == "stopped").sum())
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


def finish(fig: Figure, sections: list[tuple[str, list[Any]]], title: str, note: str | None = None
           ) -> None:
    """Lay out the panels, one sectioned legend to their right, the title above, a note below.

    Space for the legend is reserved from its longest label, so the figure is laid out once
    (``bbox_inches="tight"`` would lay it out a second time while saving).
    """
    handles: list[Any] = []
    labels: list[str] = []
    titles = set()
    for head, hs in sections:
        if not hs:
            continue
        if handles:
            handles.append(Line2D([], [], linestyle="none"))
            labels.append("")
        if head:
            handles.append(Line2D([], [], linestyle="none"))
            labels.append(head)
            titles.add(head)
        handles += hs
        labels += [h.get_label() for h in hs]
    width, height = fig.get_size_inches()
    if width < 9.0:  # room for the title and the note beside a single small panel
        width = 9.0
        fig.set_size_inches(width, height)
    legend_in = 0.9 + 0.075 * max((len(lbl) for lbl in labels), default=0) if handles else 0.1
    right = max(0.5, 1.0 - legend_in / width)
    top = 1.0 - 0.3 / height
    bottom = 0.3 / height if note else 0.0
    fig.suptitle(title, fontsize=11, x=right / 2)
    if note:
        note = textwrap.fill(note, width=int(width * 15))
        bottom = (0.15 + 0.15 * (note.count("\n") + 1)) / height
        fig.text(0.01, 0.01, note, fontsize=8, color="0.35", va="bottom")
    fig.tight_layout(rect=(0.0, bottom, right, top))
    if handles:
        leg = fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(right, top),
                         frameon=False, handlelength=3.2, fontsize=9)
        for text, label in zip(leg.get_texts(), labels):
            if label in titles:
                text.set_fontweight("bold")


def _finite_range(arrays: Sequence[np.ndarray]) -> tuple[float, float] | None:
    vals = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays]) if arrays else np.empty(0)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return None
    return float(vals.min()), float(vals.max())


def _set_value_scale(ax: Axes, lo_hi: tuple[float, float] | None, log: bool) -> tuple[float, float]:
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
# Shared encodings


@dataclass
class Encoding:
    """Colour per ``by`` value, line style per strategy, marker per remaining varying axes."""

    by: str
    colour: dict[Any, str]
    style: dict[str, Any]
    rest: list[str]
    marker: dict[str, str]

    def of(self, row: pd.Series | dict) -> tuple[str, Any, str | None]:
        return (self.colour[row[self.by]], self.style.get(row.get("strategy"), "-"),
                self.marker.get(cell_label(row, self.rest)) if self.rest else None)

    def legend(self, strategies: bool = True, marker_fill: bool = False) -> list[tuple[str, list[Line2D]]]:
        sections = [(self.by, [Line2D([], [], color=self.colour[v], linewidth=2.5, label=str(v))
                               for v in sorted(self.colour, key=str)])]
        if strategies:
            sections.append(("strategy", [Line2D([], [], color="0.3", linestyle=self.style[s], linewidth=1.8,
                                                 label=s) for s in self.style]))
        if self.rest:
            sections.append((" · ".join(self.rest), [Line2D([], [], color="0.3", marker=m, linestyle="none",
                                                            label=k) for k, m in self.marker.items()]))
        return sections


def encoding(study: Study) -> Encoding:
    rest = rest_axes(study)
    keys = sorted({cell_label(r, rest) for _, r in study.trials[rest].drop_duplicates().iterrows()}) if rest else []
    return Encoding(study.by, colours(study.trials[study.by]), strategy_styles(study.trials["strategy"]),
                    rest, {k: MARKERS[i % len(MARKERS)] for i, k in enumerate(keys)})


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


def compact_x(ax: Axes) -> None:
    """At most ~4 integer x ticks, thousands as "25k", so small panels' tick labels never overlap."""
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4, integer=True))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda v, _: f"{v / 1000:g}k" if abs(v) >= 1000 else f"{v:g}"))


def cell_titles(study: Study, frame: pd.DataFrame) -> dict[str, str]:
    """Per cell, a short title from the grid axes that vary (wrapped for small panels)."""
    axes = varying_axes(study.trials) or [study.panel]
    firsts = frame.drop_duplicates("cell").set_index("cell")
    return {c: textwrap.fill(" · ".join(str(r[a]) for a in axes if a in r), 30) for c, r in firsts.iterrows()}


def plot_budget_curves(study: Study, out_dir: Path) -> list[Path]:
    """Small multiples: one axes per cell, so 8-30 cells stay legible (issue 18)."""
    data = budget_curves_data(study)
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
        rng = _finite_range([sub[good], sub["median"], sub["running_best"]])
        if rng is None:
            no_data(ax)
        log_y = spans_orders(np.concatenate([sub["median"].to_numpy(), sub[good].to_numpy()]))
        bottom, top = _set_value_scale(ax, rng, log_y)
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
    if len(strategies) > 1:  # one strategy needs no legend entry
        sections.append(("strategy", [Line2D([], [], color="0.3", linestyle=styles[s], linewidth=1.8, label=s)
                                      for s in strategies]))
    extras = [Line2D([], [], color="0.3", linewidth=1.8, label="median"),
              Line2D([], [], color="0.3", linewidth=8, alpha=band_alpha, label="2.5–97.5 %")]
    if sequential:
        extras.append(Line2D([], [], color="0.3", linewidth=0.9, drawstyle="steps-post", label="running best"))
    sections.append(("", extras))
    finish(fig, sections, f"{study_name(study)}: best score within a budget of k trials (exact), one panel per cell",
           note=f"Diverged and failed trials count as no result: a band reaching the {bad_edge} edge means "
                "all k trials may have diverged; a median missing at small k means most likely did."
                + (" Stopped trials (early stopping within their cell) count at the score they reached "
                   "before they were stopped." if (trials["status"] == "stopped").any() else ""))
    return [save_figure(fig, out_dir / "budget_curves.png"), save_csv(data, out_dir / "budget_curves.csv")]


# --------------------------------------------------------------------------------------------
# Helpers of the per-trial figures


def cell_order(study: Study, frame: pd.DataFrame) -> list[str]:
    """Cells sorted by the colour axis, then the other axes, so neighbours differ in one thing."""
    cols = [study.by, *rest_axes(study), "cell"]
    return frame.drop_duplicates("cell").sort_values(cols)["cell"].tolist()


def mark_failures_on_top(ax: Axes, xs: np.ndarray, colour: str) -> None:
    """Diverged/failed trials as x at the top edge of the axes (they have no score)."""
    if len(xs):
        ax.scatter(xs, np.full(len(xs), 0.97), transform=ax.get_xaxis_transform(), marker="x",
                   s=22, color=colour, linewidths=1.0, alpha=0.8, clip_on=False, zorder=3)


def no_data(ax: Axes, what: str = "no completed trial yet") -> None:
    ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", va="center", color="0.4")


def headroom(ax: Axes, share: float = 0.1) -> None:
    """Free the top edge of the axes for the failure markers."""
    lo, hi = ax.get_ylim()
    if ax.get_yscale() == "log":
        ax.set_ylim(lo, hi * (hi / lo) ** share)
    else:
        ax.set_ylim(lo, hi + (hi - lo) * share)


def failure_handle() -> Line2D:
    return Line2D([], [], color="0.3", marker="x", linestyle="none", label="diverged / failed (top edge)")


# --------------------------------------------------------------------------------------------
# Distributions


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
            rows.append({"cell": cell, **{a: first[a] for a in GRID_AXES}, "subset": name, "n": arr.size,
                         "trials": len(g), "diverged": int((g["status"] == "diverged").sum()),
                         "failed": int((g["status"] == "failed").sum()),
                         "min": q[0], "q1": q[1], "median": q[2], "q3": q[3], "max": q[4],
                         "mean": float(arr.mean()) if arr.size else np.nan,
                         "metric": study.primary if study.metric == "score" else study.metric})
    return pd.DataFrame(rows), samples


def plot_distributions(study: Study, out_dir: Path) -> list[Path]:
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


# --------------------------------------------------------------------------------------------
# Score versus compute


def default_gpu(study: Study) -> float:
    res = study.spec.get("resources") if isinstance(study.spec.get("resources"), dict) else {}
    try:
        return float(res.get("gpu", 1.0))
    except (TypeError, ValueError):
        return 1.0


def compute_data(study: Study) -> pd.DataFrame:
    t = study.trials
    gpu = pd.to_numeric(t["gpu"], errors="coerce") if "gpu" in t else pd.Series(np.nan, index=t.index)
    secs = pd.to_numeric(t["train_seconds"], errors="coerce") if "train_seconds" in t else 0.0
    frame = t[["cell", *GRID_AXES, "strategy", "trial_id", "status"]].copy()
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


def plot_score_vs_compute(study: Study, out_dir: Path) -> list[Path]:
    from gansweep.analysis.compute import compute_curves

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


# --------------------------------------------------------------------------------------------
# Hyperparameter sensitivity


def sensitivity_data(study: Study) -> pd.DataFrame:
    """sensitivity.csv: every trial's score against each searched hyperparameter (``kind``: how
    the axis is drawn; choices as categories)."""
    t = study.trials
    base = t[["cell", *GRID_AXES, "strategy", "trial_id", "status"]].assign(score=study.values())
    frames = []
    for name, kind in searched_hps(study.spec, t).items():
        f = base.assign(hp=name, value=pd.to_numeric(t[f"hp_{name}"], errors="coerce"),
                        log_x=kind == "log", kind=kind)
        frames.append(f[f["value"].notna()])
    cols = ["cell", *GRID_AXES, "strategy", "trial_id", "status", "hp", "value", "score", "log_x", "kind"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out["metric"] = study.primary if study.metric == "score" else study.metric
    return out[cols + ["metric"]]


def plot_sensitivity(study: Study, out_dir: Path) -> list[Path]:
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


# --------------------------------------------------------------------------------------------
# Learning curves


def learning_metric(study: Study, evals: pd.DataFrame) -> str | None:
    name = study.primary if study.metric == "score" else study.metric
    return name if name in evals.columns else None


def learning_data(study: Study, evals: pd.DataFrame, per_cell: int = BEST_PER_CELL) -> pd.DataFrame:
    name = learning_metric(study, evals)
    cols = ["cell", *GRID_AXES, "strategy", "trial_id", "rank", "step", "seconds", "value", "metric"]
    if name is None or evals.empty:
        return pd.DataFrame(columns=cols)
    t = study.trials.assign(_v=study.values())
    t = t[t["_v"].notna()]
    t = t.sort_values("_v", ascending=not study.higher_is_better, kind="stable")
    best = t.groupby("cell", sort=True).head(per_cell).copy()
    best["rank"] = best.groupby("cell").cumcount() + 1
    merged = evals[["trial_id", "step", "seconds", name]].merge(
        best[["cell", *GRID_AXES, "strategy", "trial_id", "rank"]], on="trial_id")
    merged = merged.rename(columns={name: "value"}).assign(metric=name)
    return merged.sort_values(["cell", "rank", "step"]).reset_index(drop=True)[cols]


def plot_learning_curves(study: Study, out_dir: Path) -> list[Path]:
    """Small multiples: per cell, the median over its trials and their 25-75 % band (issue 18)."""
    evals = read_evals(study.path)
    data = learning_data(study, evals)
    if data.empty:
        log.info("no evaluations of the plotted metric stored: no learning curves")
        return []
    every = learning_data(study, evals, per_cell=10**9)
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


# --------------------------------------------------------------------------------------------
# Verdicts (a table, no figure: the report draws it as a matrix)


def write_verdicts(study: Study, out_dir: Path) -> list[Path]:
    """verdicts.csv: P(A beats B at k) with its bootstrap interval for every pair of cells."""
    from gansweep.analysis.verdicts import verdicts

    data = verdicts(study.trials, metric=study.metric)
    data["metric"] = study.primary if study.metric == "score" else study.metric
    return [save_csv(data, out_dir / "verdicts.csv")]


# --------------------------------------------------------------------------------------------
# Entry point

PLOTTERS: dict[str, Callable[[Study, Path], list[Path]]] = {
    "budget_curves": plot_budget_curves,
    "distributions": plot_distributions,
    "score_vs_compute": plot_score_vs_compute,
    "sensitivity": plot_sensitivity,
    "learning_curves": plot_learning_curves,
    "verdicts": write_verdicts,
}


def plot_study(study_dir: str | StoragePath, by: str | None = None, panel: str | None = None,
               metric: str | None = None, out: str | Path | None = None) -> list[Path]:
    """Write ``plots/<name>.png`` and ``plots/<name>.csv`` for every figure; return their paths.

    ``plots/`` is in ``out``, by default the study directory (``./<name>`` for a study in a bucket).

    ``panel``: grid axis with one panel per value (default ``dataset``); ``by``: grid axis
    coloured (default: the one with most values); ``metric``: column plotted (default
    ``score``, the primary metric). Works on the partial results of a running study. Raises
    NotAStudyError when ``study_dir`` has neither study.yaml nor results/, GansweepError when
    no trial is stored yet or an option names nothing in the study.
    """
    return render_all(load_study(study_dir, by=by, panel=panel, metric=metric, out=out))


def render_all(study: Study) -> list[Path]:
    """Every figure of a loaded study into ``plots/``."""
    out_dir = study.out_dir / "plots"
    written: list[Path] = []
    for plotter in PLOTTERS.values():
        written += plotter(study, out_dir)
    return written
