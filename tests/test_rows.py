"""A trial row describes one generator: the evaluation that produced its score, and the whole
resolved trial in ``config``; rows stored before that are re-derived from their evaluations."""

import json
import math

from gansweep.driver.callbacks import trial_row
from gansweep.store import TrialStore, read_trials
from gansweep.trial.worker import _final

CONFIG = {"trial_id": "ring8.mlp.ns.none.sn-random-0000", "cell": "ring8.mlp.ns.none.sn", "dataset": "ring8",
          "architecture": "mlp", "loss": "ns", "penalty": "none", "normalization": "sn", "strategy": "random",
          "round": None, "index": 0, "seed": 7, "hp": {"lr": 1e-3}}
# fd is best at step 300; modes and hq are best at step 100: the demo's headline trial, in small
EVALS = [{"step": 100, "seconds": 1.0, "fd": 0.5, "modes": 8.0, "hq": 0.9},
         {"step": 200, "seconds": 2.0, "fd": 0.2, "modes": 6.0, "hq": 0.4},
         {"step": 300, "seconds": 3.0, "fd": 0.1, "modes": 5.0, "hq": 0.2},
         {"step": 400, "seconds": 4.0, "fd": 0.1, "modes": 4.0, "hq": 0.1}]
COLUMNS = ["fd", "modes", "hq"]


def test_the_row_holds_the_scored_evaluation_not_each_metrics_best():
    result = _final(EVALS, "fd", "completed", 400, 4.0)
    assert result.best_step == 300  # the first of equal scores: the generator the trial kept
    row, evals = trial_row(CONFIG, result, "s", 0.0, COLUMNS)
    assert (row["score"], row["fd"], row["modes"], row["hq"]) == (0.1, 0.1, 5.0, 0.2)
    assert len(evals) == 4


def test_a_diverged_trial_without_a_finite_score_has_no_metrics():
    result = _final([{"step": 100, "seconds": 1.0, "fd": math.nan, "modes": 3.0}], "fd", "diverged", 100, 1.0)
    row, _ = trial_row(CONFIG, result, "s", 0.0, COLUMNS)
    assert math.isnan(row["score"]) and math.isnan(row["modes"]) and row["status"] == "diverged"


def test_config_is_the_resolved_trial():
    resolved = {**CONFIG, "training": {"steps": 400}, "metrics": {"primary": "fd"}}
    row, _ = trial_row(CONFIG, _final(EVALS, "fd", "completed", 400, 4.0), "s", 0.0, COLUMNS,
                       resolve=lambda c: resolved)
    assert row["config"] == resolved


def _old_row(trial_id: str) -> dict:
    """A row as gansweep wrote it before: each metric's own best over the evaluations."""
    return {**{k: CONFIG[k] for k in ("cell", "dataset", "architecture", "loss", "penalty", "normalization",
                                       "strategy", "index")},
            "trial_id": trial_id, "status": "completed", "score": 0.1, "fd": 0.1, "modes": 8.0, "hq": 0.9,
            "steps": 400, "config": json.dumps({**CONFIG, "trial_id": trial_id})}


def test_rows_stored_before_are_re_derived_from_their_evaluations(tmp_path):
    store = TrialStore(tmp_path / "results", COLUMNS, ["lr"])
    old_id, new_id = CONFIG["trial_id"], CONFIG["trial_id"][:-1] + "1"
    store.write(_old_row(old_id), EVALS)
    new, evals = trial_row({**CONFIG, "trial_id": new_id}, _final(EVALS, "fd", "completed", 400, 4.0), "s", 0.0,
                           COLUMNS, resolve=lambda c: {**c, "metrics": {"primary": "fd"}})
    store.write(new, evals)
    trials = read_trials(tmp_path).set_index("trial_id")
    assert trials.loc[old_id, ["fd", "modes", "hq"]].tolist() == [0.1, 5.0, 0.2]
    assert trials.loc[new_id, ["fd", "modes", "hq"]].tolist() == [0.1, 5.0, 0.2]
    # nothing on disk was rewritten: reading is read-only
    import pandas as pd
    raw = pd.read_parquet(tmp_path / "results" / "trials").set_index("trial_id")
    assert raw.loc[old_id, "modes"] == 8.0


def test_samples_titles_say_what_the_row_says():
    from types import SimpleNamespace

    import pandas as pd

    from gansweep.analysis.samples import row_metrics, title

    row, _ = trial_row(CONFIG, _final(EVALS, "fd", "completed", 400, 4.0), "s", 0.0, COLUMNS)
    trials = pd.DataFrame([{**row, "hp_lr": 1e-3, "config": "{}"}])
    assert row_metrics(trials) == COLUMNS
    kept = SimpleNamespace(trial_id=CONFIG["trial_id"], metric="fd", score=0.1, step=300)  # the kept generator
    assert title(kept, trials[COLUMNS].iloc[0].to_dict()) == f"{CONFIG['trial_id']}\nfd 0.1 at step 300\nmodes 5 · hq 0.2"


def test_tunes_pickle_of_the_store_callback_names_no_trial_context(tmp_path):
    import pickle

    from gansweep.driver.callbacks import StoreCallback
    from gansweep.study.schema import Data, Metrics, Resources, Training
    from gansweep.trial.settings import TrialContext

    context = TrialContext(Training(), Metrics(), Data(), Resources(), cache_dir=str(tmp_path))
    callback = StoreCallback(str(tmp_path / "results"), "s", COLUMNS, ["lr"], 0.0, resolve=context.resolve)
    assert b"TrialContext" not in pickle.dumps(callback)  # a later rename cannot break resume


def test_the_resolved_trial_is_the_study_models_and_reruns_through_them(tmp_path):
    from gansweep.study.schema import Data, Metrics, Resources, Training
    from gansweep.trial.settings import TrialContext

    from gansweep.gan.specs import ARCH_SPECS
    from gansweep.metrics.checks import EvalOptions

    context = TrialContext(Training(steps=30, eval_every=10, options={"depth": 2}),
                           Metrics(extra=["modes"], options={"is_splits": 5}), Data(),
                           Resources(), cache_dir=str(tmp_path), dry_run=True)
    resolved = json.loads(json.dumps(context.resolve(CONFIG)))  # as stored in the row
    assert resolved["metrics"]["primary"] == "mmd"  # ring8's default, resolved per data set
    # options complete with today's defaults: a later version's defaults cannot change the row
    assert resolved["training"]["options"] == {**ARCH_SPECS["mlp"].options, "depth": 2}
    assert resolved["metrics"]["options"] == {**EvalOptions().__dict__, "is_splits": 5}
    again = TrialContext.from_resolved(resolved, cache_dir=str(tmp_path))
    assert (again.training.steps, again.metrics.extra, again.dry_run) == (30, ["modes"], True)
    assert again.training.options == resolved["training"]["options"]
    assert again.resolve(CONFIG) == context.resolve(CONFIG)  # resolving is idempotent
    assert again.eval_points() == [10, 20, 30]


def test_tune_state_pickled_with_the_old_trial_settings_still_loads():
    import pickle

    # as gansweep before TrialContext wrote it into tuner.pkl: the store callback's resolve, a
    # method of a TrialSettings instance (protocol 4: module, qualname, instance, its fields)
    old = (b"\x80\x04\x8c\x17gansweep.trial.settings\x94\x8c\x15TrialSettings.resolve\x94\x93\x94"
           b"\x8c\x17gansweep.trial.settings\x94\x8c\rTrialSettings\x94\x93\x94)\x81\x94"
           b"}\x94\x8c\x05steps\x94K\x1esb\x86\x94.")
    method, settings = pickle.loads(old)
    assert callable(method) and settings.steps == 30
