"""The study's composite searcher with round-based cells: a pending GP round never idles the others.

Tune's controller is simulated: trials are started while the searcher has suggestions, results
come back in a shuffled order, and the searcher is saved and restored (JSON, as Tune does) midway.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from gansweep.search.composite import StudySearcher
from gansweep.study import Plan, PlanEntry, study_from_data
from gansweep.study.plan import Cell, entry_trials, resolve_hps
from gansweep.trial.synthetic import final_score

from .helpers import MAX_CALL_WALL_S, MAX_CALL_WORK_S, PAPER_SPACE

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def small_plan() -> Plan:
    study = study_from_data({
        "name": "rounds",
        "grid": {"penalty": ["none", "gp"]},
        "search": [
            {"strategy": "gp", "rounds": 2, "per_round": 3, "space": PAPER_SPACE},
            {"strategy": "optuna", "trials": 5, "per_round": 2, "space": PAPER_SPACE},
            {"strategy": "random", "trials": 4, "space": PAPER_SPACE},
        ],
    }, "rounds.yaml")
    cells = [Cell("digits", "dcgan", "ns", p, "none") for p in ("none", "gp")]
    entries = [PlanEntry(c, s, s.name or s.strategy, entry_trials(s, c)) for c in cells for s in study.search]
    return Plan(study, cells, entries)


def score(config: dict) -> float:
    cell = Cell(*(config[a] for a in ("dataset", "architecture", "loss", "penalty", "normalization")))
    return final_score({"hp": resolve_hps(cell, config["hp"]), **cell.fields()})


def test_composite_serves_other_cells_while_rounds_fit(tmp_path):
    plan = small_plan()
    searcher = StudySearcher(plan)
    rng = np.random.default_rng(0)
    running: dict[str, dict] = {}
    seen: list[str] = []
    longest, longest_work, n, restored = 0.0, 0.0, 0, False
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        t, c = time.perf_counter(), time.thread_time()
        config = searcher.suggest(f"t{n}")
        if n:  # the first call builds every cell's searcher
            wall, cpu = time.perf_counter() - t, time.thread_time() - c
            longest, longest_work = max(longest, wall), max(longest_work, min(wall, cpu))
        if config == StudySearcher.FINISHED:
            break
        if config is not None:
            running[f"t{n}"] = config
            seen.append(config["trial_id"])
            n += 1
            continue
        if running:  # nothing to start: a result comes back
            tid = list(running)[int(rng.integers(len(running)))]
            config = running.pop(tid)
            t, c = time.perf_counter(), time.thread_time()
            searcher.on_trial_complete(tid, {"score": score(config), "status": "completed"})
            wall, cpu = time.perf_counter() - t, time.thread_time() - c
            longest, longest_work = max(longest, wall), max(longest_work, min(wall, cpu))
        else:  # only pending rounds: a controller would poll again later
            time.sleep(0.01)
        if not restored and len(seen) >= 10:  # the driver restarts: state through a JSON file
            searcher.save(str(tmp_path / "searcher.json"))
            searcher.close()
            searcher = StudySearcher(plan)
            searcher.restore(str(tmp_path / "searcher.json"))
            restored = True
    else:
        pytest.fail("the composite did not finish")
    for tid, config in running.items():  # FINISHED: nothing more to start; the last trials end
        searcher.on_trial_complete(tid, {"score": score(config), "status": "completed"})
    running.clear()
    searcher.close()
    assert restored and not running
    assert sorted(seen) == sorted(plan.trial_ids())
    print(f"\nlongest suggest/on_trial_complete: {longest * 1e3:.2f} ms wall, {longest_work * 1e3:.2f} ms work")
    assert longest_work < MAX_CALL_WORK_S and longest < MAX_CALL_WALL_S
