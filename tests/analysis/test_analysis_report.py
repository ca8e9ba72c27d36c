"""report.html from the synthetic stored study: self-contained, names every cell, escapes."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pandas as pd
import pytest
from synthetic_study import DATASETS, ERROR, NORMS, PENALTIES

from gansweep.analysis.loading import load_study
from gansweep.analysis.report import write_report
from gansweep.analysis.study_analysis import StudyAnalysis
from gansweep.errors import GansweepError, NotAStudyError


def test_report_is_self_contained_and_complete(reported_study: Path) -> None:
    page = (reported_study / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    for d in DATASETS:
        for p in PENALTIES:
            for n in NORMS:
                assert f"{d}.dcgan.ns.{p}.{n}" in page
    assert page.count('src="data:image/png;base64,') == 6  # every figure, budget curves also by cell
    assert not re.search(r'src="(?!data:)', page)  # nothing loaded from elsewhere
    for heading in ("Which cell wins", "Progress", "Best 3 trials per cell", "Plots", "Failures",
                    "The study as run"):
        assert heading in page
    assert "penalty_weight" in page and "primary: fd" in page
    assert html.escape(ERROR) == "RuntimeError: CUDA &lt;out of memory&gt; &amp; &quot;boom&quot;"
    assert html.escape(ERROR) in page and "<out of memory>" not in page


def test_ranking_orders_cells_at_the_full_budget(reported_study: Path) -> None:
    study = load_study(reported_study)
    rank = StudyAnalysis(study).ranking
    g = rank[(rank.dataset == "digits") & (rank.strategy == "random")].sort_values("rank")
    assert len(g) == 4 and g["budget"].eq(12).all()
    assert g["median"].is_monotonic_increasing
    trials = study.trials
    best = trials[(trials.dataset == "digits") & (trials.strategy == "random") & (trials.status == "completed")]
    assert g["cell"].iloc[0] == best.loc[best.score.idxmin(), "cell"]


def test_report_on_running_study(partial_study: Path) -> None:
    page = (partial_study / "report.html").read_text()
    assert "Which cell wins" in page and "planned" in page and "higher is better" in page
    assert "dataset ring8, strategy random" in page


def test_report_errors(tmp_path: Path) -> None:
    with pytest.raises(NotAStudyError):
        write_report(tmp_path)
    (tmp_path / "results").mkdir()
    with pytest.raises(GansweepError, match="no results yet"):
        write_report(tmp_path)


def test_evaluations_section_flags_trials_re_run_since(study_dir: Path) -> None:
    """evaluations.csv whose trials' scores in results/ changed (re-run, or gone) is said to be stale."""
    import pandas as pd

    from gansweep.analysis.report import _evaluations_html

    assert _evaluations_html(StudyAnalysis.load(study_dir)) is None
    t = load_study(study_dir).trials.dropna(subset=["score"]).head(3)
    rows = pd.DataFrame({"trial_id": [*t.trial_id, "gone-0000"], "stored_score": [*t.score, 1.0],
                         "samples": 50_000, "fd": 1.5, "seconds": 2.0})
    rows.to_csv(study_dir / "evaluations.csv", index=False)
    section = _evaluations_html(StudyAnalysis.load(study_dir))
    assert "4 trials" in section and "seconds" not in section and "1 of these trials" in section
    assert "gone-0000" in section.split("</p>")[1]
    rows.iloc[:3].to_csv(study_dir / "evaluations.csv", index=False)
    assert "re-run or removed" not in _evaluations_html(StudyAnalysis.load(study_dir))
    rows.loc[0, "stored_score"] += 1
    rows.iloc[:3].to_csv(study_dir / "evaluations.csv", index=False)
    assert "1 of these trials have been re-run or removed since they were evaluated" in html.unescape(
        _evaluations_html(StudyAnalysis.load(study_dir)))


def test_verdicts_csv_agrees_with_brute_force_and_the_report_shows_them(reported_study: Path) -> None:
    import itertools

    import numpy as np
    import pandas as pd

    v = pd.read_csv(reported_study / "plots" / "verdicts.csv")
    for col in ("dataset", "strategy", "cell_a", "cell_b", "k", "p_a_beats_b", "lo", "hi", "verdict"):
        assert col in v.columns
    trials = load_study(reported_study).trials
    # every pair of one data set and strategy, at each default budget up to the full one
    assert set(v["strategy"]) <= set(trials["strategy"])
    random = v[(v.dataset == "digits") & (v.strategy == "random")]
    assert len(random.drop_duplicates(["cell_a", "cell_b"])) == 6 and random["k"].max() == 12

    def scores(cell: str) -> list[float]:
        t = trials[(trials.cell == cell) & (trials.strategy == "random")]
        return [s if st == "completed" and s == s else np.inf for s, st in zip(t.score, t.status)]

    for r in random[random.k <= 2].itertuples():  # independent check: every pair of k-subsets
        a, b = scores(r.cell_a), scores(r.cell_b)
        wins = [1.0 if min(x) < min(y) else 0.5 if min(x) == min(y) else 0.0
                for x in itertools.combinations(a, r.k) for y in itertools.combinations(b, r.k)]
        assert r.p_a_beats_b == pytest.approx(np.mean(wins), abs=1e-9)
        assert r.lo <= r.p_a_beats_b <= r.hi
        assert r.verdict in ("A better", "B better") or r.verdict.startswith("not resolved by ")
    page = (reported_study / "report.html").read_text()
    assert "Verdicts between cells" in page and "row beats column" in page
    won = v[v.verdict.isin(["A better", "B better"]) & (v.k == v.groupby(["dataset", "strategy"])["k"].transform("max"))]
    assert not won.empty
    assert " beats " in page and "with probability" in page


def test_the_report_says_who_suggested_each_best_trial_and_where_gp_fell_back(study_dir: Path, tmp_path: Path) -> None:
    """``suggested_by`` was stored but shown nowhere: a GP entry whose rounds failed looked like GP."""
    import json
    import shutil

    from gansweep.store import TrialStore, read_evals, read_trials

    trials, evals = read_trials(study_dir), read_evals(study_dir)
    gp = trials.strategy == "gp"
    reason = "random fallback: gp round 0 failed (ValueError: singular)"
    first_cell = sorted(trials.cell)[0]
    fell = gp & (trials.cell == first_cell) & (trials["round"] == 0)
    trials["suggested_by"] = trials.strategy.where(~fell, reason)
    again = tmp_path / "again"  # the same study, its rows stored again as the driver stores them
    again.mkdir()
    shutil.copy(study_dir / "study.yaml", again / "study.yaml")
    store = TrialStore(again / "results", metrics=["fd", "modes"], hps=[c[3:] for c in trials if c.startswith("hp_")])
    for row in trials.drop(columns=["written_at"]).to_dict("records"):
        row = {k: None if k != "config" and not pd.api.types.is_float_dtype(trials[k]) and pd.isna(v) else v
               for k, v in row.items()}
        row["config"] = json.loads(row["config"])
        row["round"] = None if pd.isna(row["round"]) else int(row["round"])
        store.write(row, evals[evals.trial_id == row["trial_id"]].drop(columns=["trial_id"]).to_dict("records"))
    page = write_report(again).read_text()
    assert '<th class="l">suggested_by</th>' in page
    section = page[page.index("Random fallbacks"):]
    row = re.search(r"<tr>(.*?)</tr>", section[section.index("<tbody>"):]).group(1)
    assert first_cell in row and html.escape(reason) in row
    assert f">{int(fell.sum())}<" in row and f">{int((gp & (trials.cell == first_cell)).sum())}<" in row


def test_planned_trials_come_from_the_plan_table1_included(tmp_path: Path) -> None:
    """The report counted planned trials from raw study.yaml keys: Table 1 (12 or 24 settings per
    cell, by penalty) showed none, and cells not started yet were left out of the totals."""
    from gansweep.analysis.study_analysis import planned_trials, progress
    from gansweep.study import build_plan, study_from_data

    file = study_from_data({"name": "p", "grid": {"dataset": ["digits"], "penalty": ["none", "gp"]},
                            "search": [{"strategy": "table1"}, {"strategy": "random", "trials": 5,
                                                                   "space": {"lr": {"low": 1e-4, "high": 1e-2}}}]}, "p.yaml")
    plan = build_plan(file, "p.yaml", weights=False)
    stored = pd.DataFrame({"cell": ["digits.dcgan.ns.none.none"], "strategy": ["random"], "status": ["completed"]})
    overall, per_cell = progress(stored, plan)
    assert dict(zip(overall.strategy, overall.planned)) == {"random": 10}
    assert per_cell.planned.tolist() == [5]
    assert planned_trials(plan) == {("digits.dcgan.ns.gp.none", "table1"): 24, ("digits.dcgan.ns.gp.none", "random"): 5,
                                    ("digits.dcgan.ns.none.none", "table1"): 12, ("digits.dcgan.ns.none.none", "random"): 5}
