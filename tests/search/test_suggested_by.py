"""``suggested_by``: the strategy that actually drew each trial (or the random fallback and why) is
in its stored row; old studies, whose files lack the column, read it as null."""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gansweep.driver.callbacks import trial_row
from gansweep.search.composite import StudySearcher
from gansweep.search.gp import GPSearcher
from gansweep.store import TrialStore, read_trials
from gansweep.study import Plan, PlanEntry, study_from_data
from gansweep.study.plan import Cell, entry_trials
from gansweep.trial.worker import _final

from .helpers import PAPER_SPACE

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
CELL = Cell("digits", "dcgan", "ns", "gp", "none")


def plan() -> Plan:
    study = study_from_data({
        "name": "who",
        "search": [{"strategy": "gp", "rounds": 2, "per_round": 2, "space": PAPER_SPACE},
                   {"strategy": "random", "trials": 2, "space": PAPER_SPACE}],
    }, "who.yaml")
    return Plan(study, [CELL], [PlanEntry(CELL, s, s.name or s.strategy, entry_trials(s, CELL)) for s in study.search])


def run_all(searcher: StudySearcher) -> list[dict]:
    """Tune's controller in small: start what is suggested, report results, until finished."""
    configs, running, n = [], [], 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        config = searcher.suggest(f"t{n}")
        if config == StudySearcher.FINISHED:
            return configs
        if config is None:
            for tid in running:
                searcher.on_trial_complete(tid, {"status": "completed", "score": 1.0 + 0.1 * len(configs)})
            running.clear()
            time.sleep(0.01)
            continue
        configs.append(config)
        running.append(f"t{n}")
        n += 1
    raise AssertionError("the searcher did not finish")


def test_a_failed_gp_round_is_stored_as_the_random_fallback_and_logged(tmp_path, monkeypatch, caplog):
    real_job = GPSearcher.round_job

    def broken(*args):
        raise np.linalg.LinAlgError("not positive definite")

    def round_job(self, round_, *args):  # round 0 (the GP's own design) works, round 1's fit fails
        return (broken, ()) if round_ == 1 else real_job(self, round_, *args)

    monkeypatch.setattr(GPSearcher, "round_job", round_job)
    searcher = StudySearcher(plan())
    with caplog.at_level(logging.WARNING, logger="gansweep.search"):
        configs = run_all(searcher)
    searcher.close()
    by = {(c["strategy"], c["index"]): c["suggested_by"] for c in configs}
    fallback = "random fallback: gp round 1 failed (LinAlgError: not positive definite)"
    assert by == {("gp", 0): "gp:initial-design", ("gp", 1): "gp:initial-design", ("gp", 2): fallback, ("gp", 3): fallback,
                  ("random", 0): "random", ("random", 1): "random"}
    # one warning naming the cell and round when the fallback's trials are handed out
    warned = [r.getMessage() for r in caplog.records if r.name == "gansweep.search.composite"]
    assert warned == [f"cell {CELL.id}, gp: round 1 is drawn at random, its gp computation failed "
                      "(LinAlgError: not positive definite)"]

    store = TrialStore(tmp_path / "results", ["fd"], list(configs[0]["hp"]))
    for c in configs:
        row, evals = trial_row(c, _final([{"step": 10, "seconds": 1.0, "fd": 0.5}], "fd", "completed", 10, 1.0),
                               "who", 0.0, ["fd"])
        store.write(row, evals)
    stored = read_trials(tmp_path).set_index("trial_id")
    assert {tid: stored.loc[tid, "suggested_by"] for tid in stored.index} == \
        {c["trial_id"]: by[c["strategy"], c["index"]] for c in configs}


def test_rows_stored_before_the_column_read_it_as_null(tmp_path):
    config = {"trial_id": "ring8.mlp.ns.none.sn-random-0000", "cell": "ring8.mlp.ns.none.sn", "dataset": "ring8",
              "architecture": "mlp", "loss": "ns", "penalty": "none", "normalization": "sn",
              "strategy": "random", "round": None, "index": 0, "seed": 1, "hp": {"lr": 1e-3}}
    result = _final([{"step": 10, "seconds": 1.0, "fd": 0.5}], "fd", "completed", 10, 1.0)
    store = TrialStore(tmp_path / "results", ["fd"], ["lr"], fsync=False)
    ids = [f"ring8.mlp.ns.none.sn-random-000{i}" for i in range(3)]
    for i, tid in enumerate(ids):
        row, evals = trial_row({**config, "trial_id": tid, "index": i, "suggested_by": "random"}, result, "s", 0.0,
                               ["fd"])
        store.write(row, evals)
    # the first two as older gansweeps wrote them: no suggested_by column; the second kept it in
    # its config only (as gansweep did for a while), the first nowhere
    for tid in ids[:2]:
        path = tmp_path / "results" / "trials" / f"{tid}.parquet"
        table = pq.read_table(path).drop_columns(["suggested_by"])
        if tid == ids[0]:
            plain = json.loads(table.column("config")[0].as_py())
            del plain["suggested_by"]
            table = table.set_column(table.schema.get_field_index("config"), "config", pa.array([json.dumps(plain)]))
        pq.write_table(table, path)
    got = read_trials(tmp_path).set_index("trial_id")["suggested_by"]
    assert got.isna().tolist() == [True, False, False] and got[ids[1]] == got[ids[2]] == "random"
    # a resumed study compacts old and new small files together, keeping every row
    reopened = TrialStore(tmp_path / "results", ["fd"], ["lr"], fsync=False)
    assert reopened.compact() == 3
    assert not list((tmp_path / "results" / "trials").glob("ring8*.parquet"))
    again = read_trials(tmp_path).set_index("trial_id")["suggested_by"]
    assert again.isna().tolist() == [True, False, False]
