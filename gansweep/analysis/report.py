"""report.html: one self-contained page that answers a study (images embedded as base64).

Why this module exists: ``gansweep report STUDY_DIR`` gives a reader everything in one file they
can mail or archive: the study as run, its progress and failures, the best trials with their
hyperparameters, every plot, and a ranking of cells by the median best score at the full budget
with its 2.5-97.5 % band ("which regulariser wins for this budget"). It reads ``results/``
alone and works on a study that is still running. Every value from the study (names, error
messages, YAML) is HTML-escaped.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gansweep.analysis.budget import budget_curves
from gansweep.analysis.figures.common import atomic_write_bytes
from gansweep.analysis.loading import Study, load_study, study_name, varying_axes
from gansweep.analysis.plots import PLOTS, render_all
from gansweep.analysis.tables import BEST_PER_CELL
from gansweep.errors import GansweepError
from gansweep.metrics.specs import METRICS
from gansweep.store import SCORED
from gansweep.study.plan import Plan

SMALL_BUDGET = 10
SAMPLE_CELLS = 12  # samples of the best trial of this many cells (a generator is loaded for each)
MAX_FAILURES_LISTED = 200
STATUSES = ("completed", "stopped", "diverged", "failed")

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1200px;
     padding:0 1em;color:#222;line-height:1.4}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9em;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right;vertical-align:top}
th{background:#f3f3f3} td.l,th.l{text-align:left}
tr.win td{font-weight:bold;background:#eef6ff}
pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em}
td pre{margin:0;padding:.2em;white-space:pre-wrap;max-width:60em}
img{max-width:100%;border:1px solid #eee} .samples img{max-width:32%;margin:0 .5% .5% 0} .muted{color:#666;font-size:.9em}
.bad{color:#b03a00} .wide{overflow-x:auto;max-width:100%}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: Any, digits: int = 4) -> str:
    """A number for a table: 4 significant digits, +inf as 'diverged', NaN as a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "∞ (none found)" if value > 0 else "−∞ (none found)"
        return f"{value:.{digits}g}"
    return esc(value)


def table(frame: pd.DataFrame, left: Iterable[str] = (), row_class: Sequence[str] | None = None,
          raw: Iterable[str] = ()) -> str:
    """An HTML table; ``left`` columns left-aligned, ``raw`` columns already HTML."""
    left, raw = set(left), set(raw)
    head = "".join(f'<th class="{"l" if c in left else ""}">{esc(c)}</th>' for c in frame.columns)
    rows = []
    for i, (_, r) in enumerate(frame.iterrows()):
        cls = f' class="{row_class[i]}"' if row_class and row_class[i] else ""
        cells = "".join(f'<td class="{"l" if c in left else ""}">{r[c] if c in raw else fmt(r[c])}</td>'
                        for c in frame.columns)
        rows.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def planned_trials(plan: Plan | None) -> dict[tuple[str, str], int]:
    """Trials each (cell, search entry) of the plan holds, Table 1 included; {} without a study file."""
    return {(e.cell.id, e.label): e.trials for e in plan.entries} if plan else {}


def progress(study: Study) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts by status overall and per cell and strategy."""
    t = study.trials
    overall = (t.groupby("strategy")["status"].value_counts().unstack(fill_value=0)
               .reindex(columns=list(STATUSES), fill_value=0))
    overall["stored"] = overall.sum(axis=1)
    plan = planned_trials(study.plan)
    per_label: dict[str, int] = {}
    for (_, label), n in plan.items():
        per_label[label] = per_label.get(label, 0) + n
    overall["planned"] = [per_label.get(s, np.nan) for s in overall.index]
    overall = overall.reset_index()
    per_cell = (t.groupby(["cell", "strategy"])["status"].value_counts().unstack(fill_value=0)
                .reindex(columns=list(STATUSES), fill_value=0))
    per_cell["stored"] = per_cell.sum(axis=1)
    per_cell["planned"] = [plan.get(key, np.nan) for key in per_cell.index]
    return overall, per_cell.reset_index()


def ranking(study: Study, small_budget: int = SMALL_BUDGET) -> pd.DataFrame:
    """Cells ranked within each data set and strategy by the median best at the full budget.

    Scores of different data sets are not comparable, so each (dataset, strategy) is its own
    ranking.
    The full budget of a strategy is the number of trials every one of its cells in the panel
    has stored (all planned trials once the study is complete; fewer while it runs), so cells are
    compared at the same budget. At k = N the band is a single point, so the ranking also gives
    the median and band at a small budget (10 trials).
    """
    t = study.trials
    curves = budget_curves(t, by=["cell", "dataset", "strategy"], metric=study.metric)
    sizes = curves.groupby(["cell", "strategy"])["budget"].max().rename("trials")
    curves = curves.join(sizes, on=["cell", "strategy"])
    label_axes = varying_axes(t, exclude=["dataset"])
    cells = t.drop_duplicates("cell").set_index("cell", drop=False)
    labels = (cells[label_axes].astype(str).agg(" · ".join, axis=1) if label_axes
              else cells["cell"].astype(str))
    label_axes = label_axes or ["cell"]
    rows = []
    for (pv, strat), g in curves.groupby(["dataset", "strategy"], sort=True):
        full = int(g["trials"].min())
        small = min(small_budget, full)
        at_full = g[g["budget"] == full].set_index("cell")
        at_small = g[g["budget"] == small].set_index("cell")
        sign = -1.0 if study.higher_is_better else 1.0
        order = sorted(at_full.index, key=lambda c: (sign * at_full.at[c, "median"],
                                                     sign * at_full.at[c, "hi"], c))
        for rank, cell in enumerate(order, 1):
            f, s = at_full.loc[cell], at_small.loc[cell]
            rows.append({"dataset": pv, "strategy": strat, "rank": rank, "cell": cell,
                         "label": labels.get(cell, cell), "label_axes": " · ".join(label_axes),
                         "trials": int(f["trials"]),
                         "budget": full, "median": f["median"], "lo": f["lo"], "hi": f["hi"],
                         "mean": f["mean"], "small_budget": small, "small_median": s["median"],
                         "small_lo": s["lo"], "small_hi": s["hi"]})
    return pd.DataFrame(rows)


def best_trials(study: Study, per_cell: int = BEST_PER_CELL) -> pd.DataFrame:
    t = study.trials.assign(_v=study.values())
    t = t[t["_v"].notna()].sort_values("_v", ascending=not study.higher_is_better, kind="stable")
    best = t.groupby("cell", sort=True).head(per_cell)
    metrics = [c for c in ("score", *METRICS.names()) if c in best and best[c].notna().any()]
    hps = [c for c in best.columns if c.startswith("hp_") and best[c].notna().any()]
    who = ["suggested_by"] if "suggested_by" in best and best["suggested_by"].notna().any() else []
    cols = ["cell", "strategy", *who, "trial_id", *metrics, *hps, "steps"]
    out = best.sort_values(["cell", "_v"], ascending=[True, not study.higher_is_better])
    return out[[c for c in cols if c in out]].rename(columns={h: h[3:] for h in hps})


def fallbacks(trials: pd.DataFrame) -> pd.DataFrame:
    """Per cell and search entry, the trials a sequential searcher could not suggest (its round
    failed) and that were drawn at random instead, with the first reason (``suggested_by``)."""
    if "suggested_by" not in trials:
        return pd.DataFrame(columns=["cell", "strategy", "fallback", "trials", "reason"])
    who = trials["suggested_by"].astype("string")
    fell = trials.assign(_fell=who.str.startswith("random fallback").fillna(False).astype(bool), _who=who)
    rows = []
    for (cell, strategy), g in fell.groupby(["cell", "strategy"], sort=True):
        n = int(g["_fell"].sum())
        if n:
            rows.append({"cell": cell, "strategy": strategy, "fallback": n, "trials": len(g),
                         "reason": str(g.loc[g["_fell"], "_who"].iloc[0])})
    return pd.DataFrame(rows, columns=["cell", "strategy", "fallback", "trials", "reason"])


def _fallbacks_html(study: Study) -> str:
    f = fallbacks(study.trials)
    if f.empty:
        return ""
    return ("<h3>Random fallbacks</h3><p>Trials of a GP/Optuna entry that its searcher could not suggest "
            "(a failed round) and that were drawn at random instead (<code>suggested_by</code>):</p>"
            + table(f, left=["cell", "strategy", "reason"]))


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{esc(path.stem)}" src="data:image/png;base64,{data}">'


def _section(title: str, body: str, anchor: str) -> str:
    return f'<h2 id="{esc(anchor)}">{esc(title)}</h2>\n{body}'


def _ranking_html(study: Study, rank: pd.DataFrame, confirmed: bool = False) -> str:
    from gansweep.analysis.confirmed_report import single_seed_note

    if rank.empty:
        return "<p>No trials to rank yet.</p>"
    parts = [single_seed_note(study, confirmed), f'<p class="muted">Cells ranked by the median of the best {esc(study.metric_label)} '
             f"among k trials drawn from those stored, at the full budget k (the number of trials "
             f"every cell of that strategy has stored), with the 2.5–97.5 % band. At k = N the best "
             f"is certain (the band is a point); the small-budget columns show the spread a user "
             f"with k = {SMALL_BUDGET} trials should expect. Diverged and failed trials count as no "
             f"result.</p>"]
    for (pv, strat), g in rank.groupby(["dataset", "strategy"], sort=True):
        g = g.sort_values("rank")
        full, small = int(g["budget"].iloc[0]), int(g["small_budget"].iloc[0])
        view = pd.DataFrame({
            "rank": g["rank"], g["label_axes"].iloc[0]: g["label"], "trials": g["trials"],
            f"median best @ k={full}": g["median"],
            f"band @ k={full}": [f"{fmt(a)} – {fmt(b)}" for a, b in zip(g["lo"], g["hi"])],
            f"mean @ k={full}": g["mean"],
        })
        if small < full:
            view[f"median best @ k={small}"] = g["small_median"].to_numpy()
            view[f"band @ k={small}"] = [f"{fmt(a)} – {fmt(b)}" for a, b in zip(g["small_lo"], g["small_hi"])]
        winner = g["label"].iloc[0]
        verdict = (("best in this search" if confirmed else "best in this search (single seed, unconfirmed)")
                   + f": {esc(winner)}" if np.isfinite(g["median"].iloc[0]) else "no trial finished: no winner")
        parts.append(f"<h3>dataset {esc(pv)}, strategy {esc(strat)}: {verdict}</h3>")
        parts.append(table(view, left=[g["label_axes"].iloc[0]], row_class=["win" if r == 1 else "" for r in g["rank"]]))
    return "\n".join(parts)


def _verdicts_html(study: Study, plot_paths: Sequence[Path], confirmed: bool = False) -> str:
    """Per data set and strategy: the matrix of P(row beats column) at the full budget, and one
    sentence per cell that beats another with the whole 95 % interval above one half."""
    path = next((p for p in plot_paths if p.name == "verdicts.csv"), None)
    data = pd.read_csv(path) if path is not None else pd.DataFrame()
    if data.empty:
        return "<p>No two cells of one data set and strategy to compare yet.</p>"
    axes = [a for a in varying_axes(study.trials, exclude=["dataset", "strategy"])]
    first = study.trials.drop_duplicates("cell").set_index("cell")
    label = {c: (" + ".join(str(first.loc[c, a]) for a in axes) if axes and c in first.index else c)
             for c in first.index}
    from gansweep.analysis.confirmed_report import single_seed_note

    parts = [single_seed_note(study, confirmed),
             f'<p class="muted">Each entry is the probability that the best of k trials of the row\'s '
             f"cell is better ({esc(study.metric_label)}) than the best of k trials of the column's, "
             f"computed exactly from the stored trials (diverged and failed count as no result), with "
             f"its 95 % bootstrap interval over the trials (1,000 resamples). "
             f"<b>Bold</b>: the interval lies above one half. All budgets: plots/verdicts.csv.</p>"]
    for (ds, strat), g in data.groupby(["dataset", "strategy"], sort=True):
        k = int(g["k"].max())
        g = g[g["k"] == k]
        cells = sorted(set(g["cell_a"]) | set(g["cell_b"]), key=lambda c: label.get(c, c))
        cell = {}
        for r in g.itertuples(index=False):
            cell[(r.cell_a, r.cell_b)] = (r.p_a_beats_b, r.lo, r.hi)
            cell[(r.cell_b, r.cell_a)] = (1 - r.p_a_beats_b, 1 - r.hi, 1 - r.lo)
        head = "".join(f'<th>{esc(label.get(c, c))}</th>' for c in cells)
        body = []
        for a in cells:
            tds = []
            for b in cells:
                if a == b:
                    tds.append("<td>–</td>")
                    continue
                p, lo, hi = cell[(a, b)]
                text = f"{p:.2f}<br><span class=\"muted\">{lo:.2f}–{hi:.2f}</span>"
                tds.append(f"<td><b>{text}</b></td>" if lo > 0.5 else f"<td>{text}</td>")
            body.append(f'<tr><th class="l">{esc(label.get(a, a))}</th>{"".join(tds)}</tr>')
        n = int(min(g["n_a"].min(), g["n_b"].min()))
        parts.append(f"<h3>dataset {esc(ds)}, strategy {esc(strat)}: k = {k} (full budget)</h3>")
        parts.append(f'<div class="wide"><table><tr><th class="l">row beats column</th>{head}</tr>'
                     + "".join(body) + "</table></div>")
        sentences = []
        for a in cells:
            beaten = [(b, *cell[(a, b)]) for b in cells if b != a and cell[(a, b)][1] > 0.5]
            if beaten:
                sentences.append(f"{esc(label.get(a, a))} beats " + ", ".join(
                    f"{esc(label.get(b, b))} at k = {k} with probability {p:.2f} ({lo:.2f}–{hi:.2f})"
                    for b, p, lo, hi in beaten) + ".")
        parts.append("<ul>" + "".join(f"<li>{s}</li>" for s in sentences) + "</ul>" if sentences
                     else f"<p>No pair resolved by {n} trials per cell at k = {k}.</p>")
    return "\n".join(parts)


def _failures_html(study: Study) -> str:
    t = study.trials
    bad = t[~t["status"].isin(SCORED)]
    if bad.empty:
        return "<p>No trial diverged or failed.</p>"
    errors = bad["error"].fillna("") if "error" in bad else pd.Series("", index=bad.index)
    first = errors.astype(str).str.strip().str.split("\n").str[0].str.slice(0, 300)
    summary = (pd.DataFrame({"status": bad["status"], "error": first.replace("", "(no message)")})
               .value_counts().rename("trials").reset_index())
    summary["error"] = [f"<pre>{esc(e)}</pre>" for e in summary["error"]]
    listed = bad.assign(error=errors).sort_values(["status", "cell", "trial_id"]).head(MAX_FAILURES_LISTED)
    view = listed[["trial_id", "cell", "strategy", "status", "error"]].copy()
    view["error"] = [f"<pre>{esc(e)}</pre>" if e else "–" for e in view["error"].astype(str)]
    more = len(bad) - len(listed)
    note = f'<p class="muted">{more} more not listed (see results/trials).</p>' if more > 0 else ""
    return ("<h3>By message</h3>" + table(summary, left=["status", "error"], raw=["error"])
            + "<h3>Trials</h3>" + table(view, left=["trial_id", "cell", "strategy", "status", "error"],
                                        raw=["error"]) + note)


def _samples_html(study: Study) -> str:
    """The best trial of each of the best cells, drawn from its kept generator."""
    if study.dry_run:
        return "<p>A dry run trains no GANs: no samples.</p>"
    from gansweep.analysis.samples import write_samples

    try:
        paths = write_samples(study.path, out=study.out_dir, cells=SAMPLE_CELLS, reuse=True)
    except GansweepError as exc:
        return f"<p>No samples: {esc(exc)}</p>"
    note = (f'<p class="muted">The best trial of each of the {len(paths)} best cells, from the generator of '
            f"its best evaluation, with that evaluation's random stream (more: <code>gansweep samples "
            f"{esc(study.path)} --top N</code>).</p>")
    return note + '<div class="samples">' + "".join(_img(p) for p in paths) + "</div>"


def _evaluations_html(study: Study) -> str | None:
    """``evaluations.csv`` (from ``gansweep evaluate``) when there is one, else None (no section)."""
    path = study.out_dir / "evaluations.csv"
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        return f"<p>evaluations.csv cannot be read: {esc(exc)}</p>"
    frame = frame.drop(columns=[c for c in ("seconds",) if c in frame])
    note = ('<p class="muted">The kept generators scored again by <code>gansweep evaluate</code> '
            f"(evaluations.csv, {len(frame)} trials); <code>stored_score</code> is the score of the search.</p>")
    stale = _stale_evaluations(study, frame)
    if stale:
        note += (f'<p class="bad">{len(stale)} of these trials have been re-run or removed since they were '
                 f"evaluated (their score in results/ differs): {esc(', '.join(stale[:5]))}"
                 f"{' …' if len(stale) > 5 else ''}; run <code>gansweep evaluate</code> again.</p>")
    return note + table(frame, left=[c for c in ("trial_id", "cell", "strategy") if c in frame])


def _stale_evaluations(study: Study, frame: pd.DataFrame) -> list[str]:
    """Trials of evaluations.csv whose stored score is not the study's score of that trial now."""
    if not {"trial_id", "stored_score"} <= set(frame.columns) or not {"trial_id", "score"} <= set(study.trials):
        return []
    now = dict(zip(study.trials["trial_id"].astype(str), pd.to_numeric(study.trials["score"], errors="coerce")))
    then = pd.to_numeric(frame["stored_score"], errors="coerce")
    out = []
    for trial_id, old in zip(frame["trial_id"].astype(str), then):
        cur = now.get(trial_id)
        same = cur is not None and ((pd.isna(cur) and pd.isna(old)) or bool(np.isclose(cur, old, rtol=1e-12, atol=0)))
        if not same:
            out.append(trial_id)
    return out


def _equal_compute_html(study: Study) -> str | None:
    """Strategies of the same cell at equal compute (None when no cell has two strategies)."""
    from gansweep.analysis.compute import at_equal_compute

    eq = at_equal_compute(study.trials)
    if eq.empty:
        return None
    unit = eq["unit"].iloc[0]
    view = eq.drop(columns="unit").rename(columns={"compute": unit, "median": "median best", "lo": "2.5 %",
                                                   "hi": "97.5 %"})
    return (f"<p>Each strategy's best score within the compute ({esc(unit)}) that the cheapest strategy of the cell "
            "spent in all, over random orders of its trials (lower is better). Stopped trials count at the "
            "score they reached and cost the steps they ran.</p>" + table(view, left=["cell", "strategy"]))


def _rank_correlation_html(study: Study, plot_paths: Sequence[Path]) -> str | None:
    """From plots/rank_correlation.csv: per cell and strategy, how the score at an early step ranks
    the trials against their final scores (None when no cell has a ρ: no section)."""
    from gansweep.analysis.early_scores import summary

    path = next((p for p in plot_paths if p.name == "rank_correlation.csv"), None)
    data = pd.read_csv(path) if path is not None else pd.DataFrame()
    if data.empty or data["rho"].notna().sum() == 0:
        return None
    short = summary(data)
    sentences = []
    for r in short.itertuples(index=False):
        steady = (f"ρ ≥ 0.9 from step {int(r.steady_from)} on" if not pd.isna(r.steady_from)
                  else "ρ stays below 0.9 somewhere before the end")
        sentences.append(f"In cell {esc(r.cell)} ({esc(r.strategy)}), the score at step {r.first_step} of "
                         f"{r.final_step} ranks trials as the final score does with ρ = {r.rho_first:.2f} "
                         f"(n = {r.n_first}); {steady}.")
    steps = sorted(data["step"].unique())
    if len(steps) > 8:  # a readable table: eight steps, the first and the last among them
        steps = [steps[i] for i in np.unique(np.linspace(0, len(steps) - 1, 8).round().astype(int))]
    wide = (data[data["step"].isin(steps)].pivot_table(index=["cell", "strategy"], columns="step", values="rho",
                                                       aggfunc="first", dropna=False)
            .reindex(columns=steps))
    wide.columns = [f"step {c}" for c in wide.columns]
    counts = data.groupby(["cell", "strategy"])["n"].max().rename("trials")
    wide = wide.join(counts).reset_index()
    metric = data["metric"].dropna().iloc[0] if data["metric"].notna().any() else "score"
    note = (f'<p class="muted">Spearman ρ between each trial\'s {esc(metric)} at a step and its final score, '
            "over the trials that ran to the end (stopped, diverged and failed ones have no final score; in a "
            "stopping strategy only the survivors count). ρ near 1: stopping at that step keeps the trials "
            "that would have won; near 0: it drops them at random. All steps: plots/rank_correlation.csv.</p>")
    return (note + "<ul>" + "".join(f"<li>{s}</li>" for s in sentences) + "</ul>"
            + table(wide, left=["cell", "strategy"]))


def render_report(study: Study, plot_paths: Sequence[Path]) -> str:
    t = study.trials
    name = study_name(study)
    overall, per_cell = progress(study)
    counts = t["status"].value_counts()
    last = pd.to_datetime(t["written_at"]).max() if "written_at" in t else None
    planned = overall["planned"].sum() if overall["planned"].notna().all() else None
    head = (f"<p>{len(t)} trials stored"
            + (f" of {int(planned)} planned" if planned else "")
            + f" in {t['cell'].nunique()} cells: "
            + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in STATUSES)
            + (f". Last result written {esc(last)}." if last is not None and not pd.isna(last) else ".")
            + f" Plotted metric: {esc(study.metric_label)}.</p>")
    yaml_path = study.path / "study.yaml"
    yaml_text = yaml_path.read_text() if yaml_path.is_file() else "(no study.yaml in the study directory)"
    pngs = {p.stem: p for p in plot_paths if p.suffix == ".png"}
    plots_html = "\n".join(f"<h3>{esc(stem.replace('_', ' '))}</h3>{_img(pngs[stem])}"
                           f'<p class="muted">Data: plots/{esc(stem)}.csv</p>'
                           for stem in PLOTS if stem in pngs)
    best = best_trials(study)
    from gansweep.analysis.confirmed_report import confirmation_rows, confirmed_html, has_rows

    rows = confirmation_rows(study)
    confirmed = has_rows(rows)
    sections = [
        _section("Which cell wins" + (" in the search (single seed per configuration)" if confirmed else ""),
                 _ranking_html(study, ranking(study), confirmed), "ranking"),
        _section("Is the difference real? Verdicts between cells", _verdicts_html(study, plot_paths, confirmed),
                 "verdicts"),
        _section("Progress", "<h3>By strategy</h3>" + table(overall, left=["strategy"])
                 + "<h3>By cell and strategy</h3>" + table(per_cell, left=["cell", "strategy"])
                 + _fallbacks_html(study), "progress"),
        _section(f"Best {BEST_PER_CELL} trials per cell",
                 table(best, left=["cell", "strategy", "suggested_by", "trial_id"]) if not best.empty
                 else "<p>No completed trial yet.</p>", "best"),
        _section("Plots", plots_html or "<p>No plots.</p>", "plots"),
        _section("Samples", _samples_html(study), "samples"),
        _section("Failures", _failures_html(study), "failures"),
        _section("The study as run (study.yaml)", f"<pre>{esc(yaml_text)}</pre>", "study"),
    ]
    if confirmed:  # the headline: numbers that held up under new seeds and a fresh evaluation
        sections.insert(0, _section("Confirmed: which cell wins with new seeds and a fresh evaluation",
                                    confirmed_html(study, rows, plot_paths), "confirmed"))
    links = ([("confirmed", "confirmed")] if confirmed else []) + [("ranking", "ranking"), ("verdicts", "verdicts"), ("progress", "progress"), ("best trials", "best"), ("plots", "plots"),
             ("samples", "samples"), ("failures", "failures"), ("study.yaml", "study")]
    equal = _equal_compute_html(study)
    if equal is not None:
        sections.insert(2 + confirmed, _section("Strategies at equal compute", equal, "compute"))
        links.insert(2 + confirmed, ("equal compute", "compute"))
    early = _rank_correlation_html(study, plot_paths)
    if early is not None:  # next to the strategies at equal compute, where stopping is judged
        at = 2 + confirmed + (equal is not None)
        sections.insert(at, _section("Does an early score predict the final one?", early, "rank-correlation"))
        links.insert(at, ("early scores", "rank-correlation"))
    evaluations = _evaluations_html(study)
    if evaluations is not None:
        at = 4 + confirmed + (early is not None)
        sections.insert(at, _section("Evaluated again", evaluations, "evaluations"))
        links.insert(at, ("evaluated again", "evaluations"))
    toc = " · ".join(f'<a href="#{a}">{esc(x)}</a>' for x, a in links)
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>gansweep report: {esc(name)}</title><style>{CSS}</style></head><body>\n"
            f"<h1>Study {esc(name)}</h1>\n<p class=\"muted\">{esc(study.path)} · generated {generated}"
            f" by gansweep</p>\n{head}\n<p>{toc}</p>\n" + "\n".join(sections) + "\n</body></html>\n")


def write_report(study_dir: str | Path, *, by: str | None = None, panel: str | None = None,
                 metric: str | None = None, out: str | Path | None = None) -> Path:
    """Regenerate the plots and write ``study_dir/report.html`` (self-contained); return its path.

    ``out`` moves ``report.html`` and ``plots/`` elsewhere (default for a study in a bucket: ``./<name>``).

    ``by``, ``panel`` and ``metric`` are those of :func:`gansweep.analysis.plots.plot_study`.
    Raises NotAStudyError when ``study_dir`` is not a study directory and GansweepError when it
    holds no results yet. Works on the partial results of a running study.
    """
    study = load_study(study_dir, by=by, panel=panel, metric=metric, out=out)
    paths = render_all(study)
    page = render_report(study, paths)
    target = study.out_dir / "report.html"
    return atomic_write_bytes(target, lambda tmp: tmp.write_text(page, encoding="utf-8"))
