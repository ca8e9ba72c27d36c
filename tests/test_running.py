"""Evaluations of running trials are stored as they are reported; status shows those trials."""

from types import SimpleNamespace

import yaml

from gansweep.driver.callbacks import StoreCallback
from gansweep.store import read_evals, read_trials
from gansweep.store.running import read_running, write_running

CONFIG = {"trial_id": "ring8.mlp.ns.none.none-random-0000", "cell": "ring8.mlp.ns.none.none", "dataset": "ring8",
          "architecture": "mlp", "loss": "ns", "penalty": "none", "normalization": "none", "strategy": "random",
          "round": None, "index": 0, "seed": 3, "hp": {"lr": 1e-3}, "searched": ["lr"]}


def test_each_report_replaces_the_running_file_and_the_stored_row_removes_it(tmp_path):
    cb = StoreCallback(str(tmp_path / "results"), "s", ["fd"], ["lr"], 0.0, fsync=False)
    trial = SimpleNamespace(config=CONFIG, last_result=None, trial_id="t")
    history = [{"step": 100, "seconds": 1.0, "fd": 3.0, "d_loss": 0.5}]
    cb.on_trial_result(0, [], trial, {**history[-1], "evals": list(history), "score": 3.0, "status": "running"})
    history.append({"step": 200, "seconds": 2.0, "fd": 2.0, "d_loss": 0.4})
    cb.on_trial_result(0, [], trial, {**history[-1], "evals": list(history), "score": 2.0, "status": "running"})
    running = read_running(tmp_path)
    assert running[["trial_id", "step", "score", "evaluations"]].values.tolist() == [[CONFIG["trial_id"], 200, 2.0, 2]]
    assert read_trials(tmp_path).empty and read_evals(tmp_path).empty  # not a result yet
    trial.last_result = {**history[-1], "evals": list(history), "score": 2.0, "best_step": 200, "status": "completed",
                         "steps": 200, "train_seconds": 2.0, "final": True}
    cb.on_trial_complete(0, [], trial)
    assert read_running(tmp_path).empty
    assert read_evals(tmp_path).step.tolist() == [100, 200] and len(read_trials(tmp_path)) == 1
    cb.on_trial_result(0, [], trial, {**history[-1], "evals": list(history), "score": 2.0})  # a late report: stored already
    assert read_running(tmp_path).empty


def test_status_shows_running_trials_with_their_latest_step_and_score(tmp_path, cli):
    study = {"name": "live", "grid": {"loss": ["ns"], "penalty": ["none"]}, "training": {"steps": 1000, "eval_every": 250},
             "search": [{"strategy": "random", "trials": 2, "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}}}]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(study))
    assert cli("run", tmp_path / "s.yaml", "--out", tmp_path / "runs", "--dry-run")[0] == 0
    sd = tmp_path / "runs" / "live"
    write_running(sd / "results", "digits.dcgan.ns.none.none-random-0009", [{"step": 250, "fd": 7.5}], ["fd"], 250, 7.5)
    stored = read_trials(sd).trial_id.iloc[0]
    write_running(sd / "results", stored, [{"step": 250, "fd": 1.0}], ["fd"], 250, 1.0)  # stale: it is stored
    code, out, err = cli("status", sd)
    assert code == 0, err
    text = " ".join(out.split())
    assert "1 trials running" in text and "digits.dcgan.ns.none.none-random-0009: step 250, best score 7.5" in text
    assert f"{stored}: step" not in text
