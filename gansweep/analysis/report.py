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

from gansweep.analysis.figures.common import write_output
from gansweep.analysis.loading import study_name
from gansweep.analysis.plots import PLOTS, render_all
from gansweep.analysis.study_analysis import BEST_PER_CELL, SMALL_BUDGET, StudyAnalysis
from gansweep.errors import GansweepError
from gansweep.status import FINAL, SCORED
from gansweep.store.studydir import REPORT_FILE, SAMPLES_DIR

SAMPLE_CELLS = 12  # samples of the best trial of this many cells (a generator is loaded for each)
MAX_FAILURES_LISTED = 200

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


def _fallbacks_html(a: StudyAnalysis) -> str:
    f = a.fallbacks
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


def _ranking_html(a: StudyAnalysis) -> str:
    from gansweep.analysis.confirmed_report import single_seed_note

    rank, confirmed = a.ranking, a.confirmed
    if rank.empty:
        return "<p>No trials to rank yet.</p>"
    parts = [single_seed_note(a.study, confirmed), f'<p class="muted">Cells ranked by the median of the best {esc(a.study.metric_label)} '
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


def _verdicts_html(a: StudyAnalysis) -> str:
    """Per data set and strategy: the matrix of P(row beats column) at the full budget, and one
    sentence per cell that beats another with the whole 95 % interval above one half."""
    data = a.verdicts
    if data.empty:
        return "<p>No two cells of one data set and strategy to compare yet.</p>"
    label = a.cell_labels()
    from gansweep.analysis.confirmed_report import single_seed_note

    parts = [single_seed_note(a.study, a.confirmed),
             f'<p class="muted">Each entry is the probability that the best of k trials of the row\'s '
             f"cell is better ({esc(a.study.metric_label)}) than the best of k trials of the column's, "
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


def _failures_html(a: StudyAnalysis) -> str:
    t = a.trials
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


def _samples_html(a: StudyAnalysis) -> str:
    """The best trial of each of the best cells (the first rows of the best-trials table), drawn
    from its kept generator."""
    study = a.study
    if study.dry_run:
        return "<p>A dry run trains no GANs: no samples.</p>"
    from gansweep.analysis.samples import draw_samples

    try:
        paths = draw_samples(study.path, a.best_of_cells(SAMPLE_CELLS), a.trials, study.out_dir / SAMPLES_DIR,
                             reuse=True)
    except GansweepError as exc:
        return f"<p>No samples: {esc(exc)}</p>"
    note = (f'<p class="muted">The best trial of each of the {len(paths)} best cells, from the generator of '
            f"its best evaluation, with that evaluation's random stream (more: <code>gansweep samples "
            f"{esc(study.path)} --top N</code>).</p>")
    return note + '<div class="samples">' + "".join(_img(p) for p in paths) + "</div>"


def _evaluations_html(a: StudyAnalysis) -> str | None:
    """``evaluations.csv`` (from ``gansweep evaluate``) when there is one, else None (no section)."""
    frame = a.evaluations
    if frame is None:
        return None
    if isinstance(frame, str):
        return f"<p>evaluations.csv cannot be read: {esc(frame)}</p>"
    frame = frame.drop(columns=[c for c in ("seconds",) if c in frame])
    note = ('<p class="muted">The kept generators scored again by <code>gansweep evaluate</code> '
            f"(evaluations.csv, {len(frame)} trials); <code>stored_score</code> is the score of the search.</p>")
    stale = a.stale_evaluations
    if stale:
        note += (f'<p class="bad">{len(stale)} of these trials have been re-run or removed since they were '
                 f"evaluated (their score in results/ differs): {esc(', '.join(stale[:5]))}"
                 f"{' …' if len(stale) > 5 else ''}; run <code>gansweep evaluate</code> again.</p>")
    return note + table(frame, left=[c for c in ("trial_id", "cell", "strategy") if c in frame])


def _equal_compute_html(a: StudyAnalysis) -> str | None:
    """Strategies of the same cell at equal compute (None when no cell has two strategies)."""
    eq = a.equal_compute
    if eq.empty:
        return None
    unit = eq["unit"].iloc[0]
    view = eq.drop(columns="unit").rename(columns={"compute": unit, "median": "median best", "lo": "2.5 %",
                                                   "hi": "97.5 %"})
    return (f"<p>Each strategy's best score within the compute ({esc(unit)}) that the cheapest strategy of the cell "
            "spent in all, over random orders of its trials (lower is better). Stopped trials count at the "
            "score they reached and cost the steps they ran.</p>" + table(view, left=["cell", "strategy"]))


def _rank_correlation_html(a: StudyAnalysis) -> str | None:
    """Per cell and strategy, how the score at an early step ranks the trials against their final
    scores (None when no cell has a ρ: no section)."""
    from gansweep.analysis.early_scores import summary

    data = a.rank_correlation
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


def render_report(a: StudyAnalysis, plot_paths: Sequence[Path]) -> str:
    study, t = a.study, a.trials
    name = study_name(study)
    overall, per_cell = a.progress
    counts = t["status"].value_counts()
    last = pd.to_datetime(t["written_at"]).max() if "written_at" in t else None
    planned = overall["planned"].sum() if overall["planned"].notna().all() else None
    head = (f"<p>{len(t)} trials stored"
            + (f" of {int(planned)} planned" if planned else "")
            + f" in {t['cell'].nunique()} cells: "
            + ", ".join(f"{int(counts.get(s, 0))} {s}" for s in FINAL)
            + (f". Last result written {esc(last)}." if last is not None and not pd.isna(last) else ".")
            + f" Plotted metric: {esc(study.metric_label)}.</p>")
    yaml_text = study.text if study.text is not None else "(no study.yaml in the study directory)"
    pngs = {p.stem: p for p in plot_paths if p.suffix == ".png"}
    plots_html = "\n".join(f"<h3>{esc(stem.replace('_', ' '))}</h3>{_img(pngs[stem])}"
                           f'<p class="muted">Data: plots/{esc(stem)}.csv</p>'
                           for stem in PLOTS if stem in pngs)
    best = a.best_table
    from gansweep.analysis.confirmed_report import confirmed_html

    confirmed = a.confirmed
    sections = [
        _section("Which cell wins" + (" in the search (single seed per configuration)" if confirmed else ""),
                 _ranking_html(a), "ranking"),
        _section("Is the difference real? Verdicts between cells", _verdicts_html(a), "verdicts"),
        _section("Progress", "<h3>By strategy</h3>" + table(overall, left=["strategy"])
                 + "<h3>By cell and strategy</h3>" + table(per_cell, left=["cell", "strategy"])
                 + _fallbacks_html(a), "progress"),
        _section(f"Best {BEST_PER_CELL} trials per cell",
                 table(best, left=["cell", "strategy", "suggested_by", "trial_id"]) if not best.empty
                 else "<p>No completed trial yet.</p>", "best"),
        _section("Plots", plots_html or "<p>No plots.</p>", "plots"),
        _section("Samples", _samples_html(a), "samples"),
        _section("Failures", _failures_html(a), "failures"),
        _section("The study as run (study.yaml)", f"<pre>{esc(yaml_text)}</pre>", "study"),
    ]
    if confirmed:  # the headline: numbers that held up under new seeds and a fresh evaluation
        sections.insert(0, _section("Confirmed: which cell wins with new seeds and a fresh evaluation",
                                    confirmed_html(a, plot_paths), "confirmed"))
    links = ([("confirmed", "confirmed")] if confirmed else []) + [("ranking", "ranking"), ("verdicts", "verdicts"), ("progress", "progress"), ("best trials", "best"), ("plots", "plots"),
             ("samples", "samples"), ("failures", "failures"), ("study.yaml", "study")]
    equal = _equal_compute_html(a)
    if equal is not None:
        sections.insert(2 + confirmed, _section("Strategies at equal compute", equal, "compute"))
        links.insert(2 + confirmed, ("equal compute", "compute"))
    early = _rank_correlation_html(a)
    if early is not None:  # next to the strategies at equal compute, where stopping is judged
        at = 2 + confirmed + (equal is not None)
        sections.insert(at, _section("Does an early score predict the final one?", early, "rank-correlation"))
        links.insert(at, ("early scores", "rank-correlation"))
    evaluations = _evaluations_html(a)
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
    a = StudyAnalysis.load(study_dir, by=by, panel=panel, metric=metric, out=out)
    paths = render_all(a)
    page = render_report(a, paths)
    return write_output(a.study.out_dir / REPORT_FILE, lambda f: f.write(page.encode("utf-8")))
