"""The progress bar counts each study trial once, across a resume (ProgressCallback).

After a killed driver, Tune's restored experiment can end again a trial the store already holds
(its state lags the store); the real kill test once showed 7/6 on its bar."""

from __future__ import annotations

import math
from types import SimpleNamespace

from gansweep.driver.callbacks import ProgressCallback


def _trial(trial_id: str, score: float) -> SimpleNamespace:
    return SimpleNamespace(config={"trial_id": trial_id}, last_result={"score": score, "status": "completed"})


def test_a_stored_trial_ended_again_by_a_restored_experiment_is_not_counted_twice():
    bar = ProgressCallback(6, {"c-random-0000": 0.5, "c-random-0001": math.inf})
    assert (bar.done, bar.best) == (2, 0.5)
    bar.on_trial_complete(0, [], _trial("c-random-0000", 0.5))  # stored before the kill, ended again
    assert bar.done == 2
    for i in range(2, 6):
        bar.on_trial_complete(0, [], _trial(f"c-random-{i:04d}", 1.0 / i))
    bar.on_trial_error(0, [], _trial("c-random-0005", math.nan))  # one trial, two events
    assert (bar.done, bar.best) == (6, 0.2) and bar.counts == {"completed": 4}


def test_a_fresh_study_starts_at_zero_with_no_best():
    bar = ProgressCallback(3, {})
    assert (bar.done, bar.best) == (0, math.inf)
    bar.on_trial_error(0, [], _trial("c-random-0000", math.nan))
    assert (bar.done, bar.counts) == (1, {"failed": 1})
