"""What every figure shares: the reading convention (Okabe-Ito palette, a line style per
strategy, panels, legends outside the data, log scales where values span orders of magnitude)
and writing a PNG and its CSV atomically. matplotlib's object API only: no pyplot state."""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import matplotlib
import matplotlib.patches
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from gansweep.analysis.loading import Study
from gansweep.analysis.tables import cell_label, rest_axes
from gansweep.storage import atomic_write

log = logging.getLogger(__name__)


# Okabe & Ito (2008), ordered so the first colours contrast most on white; yellow last.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000", "#F0E442"]


STRATEGY_STYLES = {"random": "-", "gp": "--", "optuna": "-.", "table1": (0, (1, 1.5))}


EXTRA_STYLES = [(0, (5, 1, 1, 1, 1, 1)), (0, (3, 3)), (0, (8, 2))]


MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


MAX_DRAWN = 300  # points drawn per budget curve


def write_output(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Write a figure, a table or the report all or nothing (:func:`gansweep.storage.atomic_write`:
    a temporary file, flushed to disk, renamed into place), its directory made when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)
    return path


def save_figure(fig: Figure, path: Path) -> Path:
    return write_output(path, lambda f: fig.savefig(f, format="png", dpi=110))


def save_csv(frame: pd.DataFrame, path: Path) -> Path:
    return write_output(path, lambda f: frame.to_csv(f, index=False))


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
    # the title is centred over the panels: wrapped to their width (about 11 characters an inch)
    title = "\n".join(textwrap.fill(line, max(20, int(right * width * 11))) for line in title.split("\n"))
    if title.count("\n"):  # more lines of title: a taller figure, not smaller panels
        height += 0.2 * title.count("\n")
        fig.set_size_inches(width, height)
    top = 1.0 - (0.1 + 0.2 * (title.count("\n") + 1)) / height
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


def finite_range(arrays: Sequence[np.ndarray]) -> tuple[float, float] | None:
    vals = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays]) if arrays else np.empty(0)
    vals = vals[np.isfinite(vals)]
    if vals.size == 0:
        return None
    return float(vals.min()), float(vals.max())


def set_value_scale(ax: Axes, lo_hi: tuple[float, float] | None, log: bool) -> tuple[float, float]:
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


def compact_x(ax: Axes) -> None:
    """At most ~4 integer x ticks, thousands as "25k", so small panels' tick labels never overlap."""
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(4, integer=True))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(
        lambda v, _: f"{v / 1000:g}k" if abs(v) >= 1000 else f"{v:g}"))


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
