"""The confirmation in report.html, plots and exports (issue 28), on the synthetic stored study: its
confirmation rows are written by the confirmation's own store callback, no Ray needed."""

from __future__ import annotations

import html
import itertools
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from synthetic_study import HPS, METRICS

from gansweep.analysis.confirmed import confirmed_verdicts, read_confirmed
from gansweep.analysis.export import export_study
from gansweep.analysis.plots import plot_study
from gansweep.analysis.report import write_report
from gansweep.driver.confirm import ConfirmStoreCallback
from gansweep.store import read_trials
from gansweep.study import load_study
from gansweep.study.plan import Cell, Plan, PlanEntry, entry_trials
from gansweep.study.schema import AXES
from gansweep.study.confirm import ConfirmSettings, confirm_configs, select

# the confirmed level of each (penalty, normalization): the search's favourite (none.none) is not the best
LEVELS = {("none", "none"): 10.0, ("none", "sn"): 6.0, ("gp", "none"): 14.0, ("gp", "sn"): 10.2}
SETTINGS = ConfirmSettings(top=2, seeds=4, samples=1000)


def _plan(study) -> Plan:
    """The synthetic study's plan, built as build_plan does (which refuses its dcgan-on-ring8 cells)."""
    cells = [Cell(*combo) for combo in itertools.product(*(getattr(study.grid, a) for a in AXES))]
    entries = [PlanEntry(c, s, s.name or s.strategy, entry_trials(s, c)) for c in cells for s in study.search]
    return Plan(study, cells, entries)


def confirm(study_dir: Path) -> pd.DataFrame:
    """Store a confirmation of the synthetic study as the driver's callback does, from planned configs."""
    plan = _plan(load_study(study_dir / "study.yaml"))
    configs = confirm_configs(plan, select(plan, read_trials(study_dir), SETTINGS.top), SETTINGS)
    cb = ConfirmStoreCallback(str(study_dir), "synthetic", METRICS, HPS, 1.0, SETTINGS.samples, fsync=False)
    rng = np.random.default_rng(5)
    for c in configs:
        scale = 1.0 if c["dataset"] == "digits" else 0.01
        v = LEVELS[(c["penalty"], c["normalization"])] * scale * float(rng.lognormal(0, 0.05)) * (1 + 0.05 * c["rank"])
        result = {"final": True, "status": "completed", "score": v, "best_step": 5000, "steps": 5000,
                  "train_seconds": 1.0, "evals": [{"step": 5000, "seconds": 1.0, "fd": v, "modes": 8.0}]}
        cb.on_trial_complete(0, [], SimpleNamespace(config=c, last_result=result))
        cb.on_trial_complete(0, [], SimpleNamespace(config=c, last_result={**result, "score": 0.0}))  # a re-run
    return read_confirmed(study_dir)


def _text(page: str, anchor: str, until: str) -> str:
    i, j = page.index(f'id="{anchor}"'), page.index(f'id="{until}"')
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page[i:j])))


def test_a_report_without_confirmation_says_its_verdicts_are_single_seed(reported_study: Path) -> None:
    page = (reported_study / "report.html").read_text()
    assert 'id="confirmed"' not in page
    ranking = _text(page, "ranking", "verdicts")
    assert "Single-seed results, not confirmed" in ranking and "best in this search (single seed, unconfirmed)" in ranking
    assert "band is a point by construction" in ranking and "gansweep confirm" in ranking
    assert "Single-seed results, not confirmed" in _text(page, "verdicts", "progress")


def test_confirmation_leads_the_report_plots_and_exports(study_dir: Path) -> None:
    rows = confirm(study_dir)
    assert len(rows) == 8 * 3 * SETTINGS.top * SETTINGS.seeds and rows.trial_id.is_unique  # the re-run kept the first
    assert (rows.score > 0).all() and (rows.samples == SETTINGS.samples).all()
    v = confirmed_verdicts(rows).set_index(["dataset", "strategy", "cell_a", "cell_b"])
    pair = v.loc[("digits", "random", "digits.dcgan.ns.none.none", "digits.dcgan.ns.none.sn")]
    assert pair["verdict"] == "B better" and pair["hi"] < 0.5
    close = v.loc[("digits", "random", "digits.dcgan.ns.gp.sn", "digits.dcgan.ns.none.none")]
    assert close["verdict"] == "not resolved with 4 seeds" and "more seed" in close["resolution"]

    page = write_report(study_dir).read_text()
    assert page.index('id="confirmed"') < page.index('id="ranking"')  # the headline comes first
    confirmed = _text(page, "confirmed", "ranking")
    assert "Which cell wins in the search (single seed per configuration)" in page
    assert "Single-seed results, not confirmed" not in page
    assert "confirmed best is digits.dcgan.ns.none.sn" in confirmed
    assert "digits.dcgan.ns.none.sn beats digits.dcgan.ns." in confirmed  # the best against the second
    assert "beats digits.dcgan.ns.none.sn" not in confirmed
    assert 'src="data:image/png;base64,' in page[page.index('id="confirmed"'):page.index('id="ranking"')]
    assert "not resolved with 4 seeds — about" in confirmed
    search_best = read_trials(study_dir).query("status == 'completed' and dataset == 'digits' and strategy == 'random'")
    winner = search_best.loc[search_best.score.idxmin(), "cell"]
    if winner != "digits.dcgan.ns.none.sn":
        assert f"{winner}, the search's winner, did not hold up: digits.dcgan.ns.none.sn beats it" in confirmed

    paths = plot_study(study_dir)
    assert {study_dir / "plots" / f"confirmed{x}" for x in (".png", ".csv", "_verdicts.csv")} <= set(paths)
    plotted = pd.read_csv(study_dir / "plots" / "confirmed.csv")
    assert len(plotted) == len(rows) and {"confirms", "seed_index", "value", "search_score"} <= set(plotted)
    written = export_study(study_dir)
    assert study_dir / "export" / "confirmed.csv" in written
    assert len(pd.read_csv(study_dir / "export" / "confirmed.csv")) == len(rows)


def test_without_confirmation_no_confirmed_plot_or_export(study_dir: Path) -> None:
    assert not any(p.name.startswith("confirmed") for p in plot_study(study_dir))
    assert not any(p.name.startswith("confirmed") for p in export_study(study_dir))


@pytest.mark.parametrize("configs", ["choice", "top"])
def test_confirmed_verdicts_are_seeded(study_dir: Path, configs: str) -> None:
    rows = confirm(study_dir)
    a = confirmed_verdicts(rows, resamples=200, seed=3, configs=configs)
    pd.testing.assert_frame_equal(a, confirmed_verdicts(rows, resamples=200, seed=3, configs=configs))
