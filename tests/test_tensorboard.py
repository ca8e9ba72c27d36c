"""TensorBoard event files under <study>/tb: one run per trial, each metric per evaluation step,
the hyperparameters in the HParams view; read back from the files as TensorBoard reads them."""

import struct
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from gansweep.driver.tensorboard import TensorBoardCallback, tags
from gansweep.store import read_evals, read_trials


def read_events(run: Path) -> tuple[dict[str, dict[int, float]], set[str]]:
    """Scalars (tag → step → value) and the plugin names of every event file of a run: TFRecords
    (length, its CRC, the Event proto, its CRC), parsed with tensorboardX's own protobufs."""
    from tensorboardX.proto.event_pb2 import Event

    scalars: dict[str, dict[int, float]] = {}
    plugins: set[str] = set()
    for path in sorted(run.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        at = 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = Event.FromString(data[at + 12:at + 12 + length])
            at += 12 + length + 4
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name:
                    plugins.add(value.metadata.plugin_data.plugin_name)
                if value.HasField("simple_value"):
                    scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    return scalars, plugins


def test_an_evaluation_s_scalars_are_sectioned_and_finite():
    got = tags({"step": 5, "seconds": 1.0, "fd": 0.5, "modes": 8, "d_loss": 1.5, "sv_d0": 2.0,
                "hq": float("nan"), "note": "x"}, ["fd", "modes", "hq"])
    assert got == {"metrics/fd": 0.5, "metrics/modes": 8.0, "losses/d_loss": 1.5, "diagnostics/sv_d0": 2.0}


def test_each_evaluation_is_written_as_it_is_reported(tmp_path):
    cb = TensorBoardCallback(str(tmp_path), ["fd"])
    trial = SimpleNamespace(config={"trial_id": "c-random-0000", "hp": {"lr": 0.01, "beta2": 0.999},
                                    "searched": ["lr"], "loss": "ns", "strategy": "random"},
                            last_result=None)
    history = [{"step": 100, "fd": 3.0, "g_loss": 0.7}]
    cb.on_trial_result(0, [], trial, {"evals": list(history), "status": "running"})
    run = tmp_path / "tb" / "c-random-0000"
    assert read_events(run)[0] == {"metrics/fd": {100: 3.0}, "losses/g_loss": {100: pytest.approx(0.7)}}  # flushed
    history.append({"step": 200, "fd": 2.0, "g_loss": 0.6})
    cb.on_trial_result(0, [], trial, {"evals": list(history), "status": "running"})
    trial.last_result = {"evals": list(history), "status": "completed", "score": 2.0, "best_step": 200,
                         "final": True}
    cb.on_trial_complete(0, [], trial)
    scalars, plugins = read_events(run)
    assert scalars["metrics/fd"] == {100: 3.0, 200: 2.0}  # each step once
    assert scalars["hparams/score"] == {200: 2.0} and "hparams" in plugins
    assert cb.written == 2


def test_a_dry_run_study_writes_a_run_per_trial_with_its_metrics(tmp_path, cli):
    import yaml

    study = {"name": "tb", "grid": {"loss": ["ns", "wgan"], "penalty": ["none"]},
             "training": {"steps": 1000, "eval_every": 250},
             "search": [{"strategy": "random", "trials": 3, "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}}}]}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(study))
    code, out, err = cli("run", tmp_path / "s.yaml", "--out", tmp_path / "runs", "--dry-run")
    assert code == 0, err
    sd = tmp_path / "runs" / "tb"
    trials, evals = read_trials(sd), read_evals(sd)
    assert sorted(p.name for p in (sd / "tb").iterdir()) == sorted(trials.trial_id)
    for row in trials.itertuples():
        scalars, plugins = read_events(sd / "tb" / row.trial_id)
        mine = evals[evals.trial_id == row.trial_id].dropna(subset=["fd"])
        assert scalars.get("metrics/fd", {}) == pytest.approx(dict(zip(mine.step, mine.fd)), rel=1e-6)
        assert "hparams" in plugins
        if pd.notna(row.score):
            assert scalars["hparams/score"] == {row.best_step: pytest.approx(row.score, rel=1e-6)}
