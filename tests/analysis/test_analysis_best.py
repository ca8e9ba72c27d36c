"""One definition of a cell's best trial: the report's best-trials table, the samples it draws and
``gansweep samples`` agree, and a stopped trial counts (its score is a real evaluated generator's,
the best it reached: docs/STOPPING.md). The report counted stopped trials while the samples kept
completed ones only, so the report could show one trial in its table and draw another."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from conftest import build_study
from synthetic_study import HPS, METRICS

from gansweep.analysis.samples import choose_trials
from gansweep.analysis.study_analysis import StudyAnalysis
from gansweep.store import TrialStore, read_trials

CELL = "digits.dcgan.ns.none.none"
STOPPED = f"{CELL}-random-0099"


@pytest.fixture(scope="module")
def stopped_best(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic study plus, in one cell, a stopped trial that scored below every other trial of it."""
    study_dir = build_study(tmp_path_factory.mktemp("stopped") / "synthetic")
    trials = read_trials(study_dir)
    score = float(trials.loc[trials.cell == CELL, "score"].min()) / 2
    hp = {name: 0.5 for name in HPS}
    row = {"trial_id": STOPPED, "study": "synthetic", "cell": CELL, "dataset": "digits", "architecture": "dcgan",
           "loss": "ns", "penalty": "none", "normalization": "none", "strategy": "random", "round": None,
           "index": 99, "status": "stopped", "score": score, "fd": score, "modes": 8.0,
           **{f"hp_{k}": v for k, v in hp.items()}, "steps": 2000, "train_seconds": 60.0, "gpu": 1.0,
           "error": None, "config": {"hp": hp, "cell": CELL}}
    evals = [{"step": 1000, "seconds": 30.0, "fd": 2 * score, "modes": 8}, {"step": 2000, "seconds": 60.0, "fd": score,
                                                                           "modes": 8}]
    TrialStore(study_dir / "results", metrics=METRICS, hps=HPS).write(row, evals)
    return study_dir


def test_a_stopped_trial_can_be_its_cells_best_everywhere(stopped_best: Path, monkeypatch) -> None:
    a = StudyAnalysis.load(stopped_best)
    table = a.best_table
    assert table[table.cell == CELL].iloc[0]["trial_id"] == STOPPED  # the table counts it
    assert a.best_of_cells().set_index("cell").at[CELL, "trial_id"] == STOPPED
    chosen = choose_trials(read_trials(stopped_best))  # gansweep samples' default
    assert chosen.set_index("cell").at[CELL, "trial_id"] == STOPPED

    drawn: list[pd.DataFrame] = []
    monkeypatch.setattr("gansweep.analysis.samples.draw_samples", lambda path, rows, *args, **kw: drawn.append(rows) or [])
    from gansweep.analysis.report import SAMPLE_CELLS, write_report

    write_report(stopped_best)
    (rows,) = drawn
    assert list(rows.trial_id) == list(a.best_of_cells(SAMPLE_CELLS).trial_id)  # the report draws the table's bests
    assert STOPPED in set(rows.trial_id)
    firsts = table.groupby("cell", sort=False).head(1).set_index("cell")["trial_id"]
    assert all(firsts[r.cell] == r.trial_id for r in rows.itertuples())


def test_write_report_reads_each_part_of_the_study_once(study_dir: Path, monkeypatch) -> None:
    """The report read results/trials twice (again for its samples), results/evals twice (the
    learning curves, then the rank correlations), and its verdicts back from plots/verdicts.csv.
    (The store's reader itself may read results/evals to migrate rows of older versions, as the
    synthetic study's are: that is inside read_trials, not counted here.)"""
    import sys
    from collections import Counter

    import gansweep.analysis.loading as loading
    import gansweep.store.confirm  # noqa: F401  (patched below)
    import gansweep.store.studydir as studydir
    from gansweep.analysis.report import write_report

    reads: Counter[str] = Counter()

    def counting(name, real):
        def read(*args, **kwargs):
            reads[name] += 1
            return real(*args, **kwargs)
        return read

    for module in [m for n, m in sys.modules.items() if n == "gansweep.store" or n.startswith("gansweep.analysis")
                   or n == "gansweep.store.confirm"]:
        for name in ("read_trials", "read_evals", "read_confirm"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, counting(name, getattr(module, name)))
    for module in (loading, studydir):
        if not hasattr(module, "read_file"):
            continue
        real_file = module.read_file
        monkeypatch.setattr(module, "read_file", lambda path, real=real_file: reads.update([Path(path).name]) or real(path))
    real_read_csv = pd.read_csv
    monkeypatch.setattr(pd, "read_csv", lambda path, *a, **k: reads.update([Path(path).name]) or real_read_csv(path, *a, **k))
    write_report(study_dir)
    assert reads == {"read_trials": 1, "read_evals": 1, "read_confirm": 1, "study.yaml": 1}, reads
