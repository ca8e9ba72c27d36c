"""The report's confirmation section, and its plain warning when a study has none.

Why this module exists: report.html's headline must rest on numbers that hold up. With a
confirmation stage (``results/confirm``, docs/CONFIRM.md) the report opens with the confirmed
winners: per cell the configuration its search chose, retrained with new seeds and scored on a
fresh evaluation (mean ± standard error over seeds), P(A beats B) with seed variance, its interval
and how many more seeds would resolve an open pair, and which search winners held up. Without
one, the report says that its rankings and verdicts are single-seed.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from gansweep.analysis.loading import Study
from gansweep.analysis.study_analysis import StudyAnalysis


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(v: float, digits: int = 4) -> str:
    return "–" if v is None or v != v else f"{v:.{digits}g}"


def single_seed_note(study: Study, confirmed: bool) -> str:
    """The caveat every search-based ranking and verdict of the report carries."""
    if confirmed:
        return ('<p class="muted">These are the search\'s numbers: one training run per configuration, each '
                "scored on the evaluation stream that chose its step. The confirmed numbers (new seeds, a fresh "
                'evaluation) are in <a href="#confirmed">Confirmed</a>; where the two disagree, the confirmed ones '
                "hold.</p>")
    return ('<p class="bad"><b>Single-seed results, not confirmed.</b> Every number below rests on one training '
            "run per configuration, scored on the same evaluation that chose its best step (an optimistic "
            "score). The ranking at the full budget k = N is the best trial of each cell, a single draw: its "
            "band is a point by construction and says nothing about seed variance, which for GANs is large. "
            "Confirm the winners before quoting them: <code>gansweep confirm "
            f"{_esc(study.path)}</code> (docs/CONFIRM.md).</p>")


def confirmed_html(a: StudyAnalysis, plot_paths: Sequence[Path] = ()) -> str:
    """The section: headline sentences, the confirmed table per data set and strategy, the verdicts."""
    rows, summary, verdicts, held, table = (a.confirmed_rows, a.confirmed_summary, a.confirmed_verdicts, a.held_up,
                                            a.confirmed_table)
    samples = sorted({int(s) for s in rows["samples"].dropna()}) if "samples" in rows else []
    seeds = int(rows.groupby("confirms").size().max())
    parts = [f'<p class="muted">Each cell\'s top {int(table.groupby(["cell", "strategy"]).size().max())} '
             f"configurations of the search, trained again with {seeds} new training seeds each (never a "
             "search's seed) to the search's training length, and scored once, at the end, on a fresh "
             f"evaluation stream of {', '.join(map(str, samples))} samples. The configurations were selected on "
             "the search's stream; none of these numbers comes from it. <i>choice</i> is the configuration the "
             "search ranked first in its cell; mean ± standard error over its seeds; seed sd pools the "
             f"within-configuration spread of the cell's configurations. P(A beats B): the probability that a "
             "retrained run of A's choice scores better than one of B's, with its 95 % bootstrap interval over "
             "seeds (1,000 resamples, seeded). Lower is better; a diverged run loses.</p>"]
    if not held.empty:
        parts.append("<ul>" + "".join(f"<li><b>{_esc(r.dataset)}, {_esc(r.strategy)}:</b> {_esc(r.sentence)}.</li>"
                                      for r in held.itertuples(index=False)) + "</ul>")
    for (ds, strat), g in summary.groupby(["dataset", "strategy"], sort=True):
        g = g.sort_values(["choice_mean", "cell"])
        body = []
        for rank, r in enumerate(g.itertuples(index=False), 1):
            held_txt = {True: "yes", False: "no"}.get(r.choice_held, "–")
            win = ' class="win"' if rank == 1 else ""
            body.append(f"<tr{win}><td>{rank}</td><td class=\"l\">{_esc(r.cell)}</td>"
                        f"<td>{_num(r.search_best)}</td><td>{_num(r.choice_mean)} ± {_num(r.choice_se, 2)}</td>"
                        f"<td>{_num(r.seed_std, 3)}</td><td>{_num(r.top_mean)} ± {_num(r.top_se, 2)} "
                        f"({r.configs})</td><td>{held_txt}</td><td>{r.diverged}/{r.runs}</td></tr>")
        parts.append(f"<h3>dataset {_esc(ds)}, strategy {_esc(strat)}: confirmed best is "
                     f"{_esc(g.iloc[0]['cell'])}</h3>")
        parts.append('<table><thead><tr><th>rank</th><th class="l">cell</th><th>search best (selected on it)</th>'
                     "<th>choice confirmed: mean ± se</th><th>seed sd</th><th>top configurations pooled: mean ± se "
                     "(configurations)</th><th>choice still best of its top?</th><th>diverged runs</th></tr></thead>"
                     f"<tbody>{''.join(body)}</tbody></table>")
        v = verdicts[(verdicts.dataset == ds) & (verdicts.strategy == strat)]
        order = list(g["cell"])  # each cell against the next in the confirmed ranking: is the order real?
        v = v[[abs(order.index(a) - order.index(b)) == 1 for a, b in zip(v.cell_a, v.cell_b)]] if not v.empty else v
        if not v.empty:
            v = v.assign(_at=[min(order.index(a), order.index(b)) for a, b in zip(v.cell_a, v.cell_b)]).sort_values("_at")
            lines = []
            for r in v.itertuples(index=False):
                if r.verdict == "B better":
                    a, b, p, lo, hi = r.cell_b, r.cell_a, 1 - r.p_a_beats_b, 1 - r.hi, 1 - r.lo
                else:
                    a, b, p, lo, hi = r.cell_a, r.cell_b, r.p_a_beats_b, r.lo, r.hi
                if r.verdict in ("A better", "B better"):
                    lines.append(f"<li>{_esc(a)} beats {_esc(b)}: P = {p:.2f} ({lo:.2f}–{hi:.2f})</li>")
                else:
                    if order.index(a) > order.index(b):  # the better-ranked cell first
                        a, b, p, lo, hi = b, a, 1 - p, 1 - hi, 1 - lo
                    lines.append(f"<li>{_esc(a)} vs {_esc(b)}: P(first beats second) = {p:.2f} "
                                 f"({lo:.2f}–{hi:.2f}), {_esc(r.resolution)}</li>")
            parts.append("<ul>" + "".join(lines) + "</ul>")
    png = next((p for p in plot_paths if p.name == "confirmed.png"), None)
    if png is not None:
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        parts.append(f'<img alt="confirmed" src="data:image/png;base64,{data}">')
    parts.append('<p class="muted">Each cell against the next in the confirmed ranking above; every pair: '
                 "plots/confirmed_verdicts.csv. All configurations and runs: plots/confirmed.csv "
                 "(<code>gansweep export</code> writes confirmed.csv).</p>")
    return "\n".join(parts)
