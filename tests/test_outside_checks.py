"""What an outside reviewer does with a study, as a user would: read the rows with plain pandas (the
docs' own example), and hit the command line with hostile study directories. Each test here
failed before its fix."""

import pandas as pd

from gansweep.store.parquet import INTEGER_TRIAL_COLUMNS, TrialStore


def _row(tid: str, round_: int | None, status: str, best_step: int | None) -> dict:
    return {"trial_id": tid, "study": "s", "cell": "c", "strategy": "gp" if round_ is not None else "random",
            "round": round_, "index": 0, "seed": 7, "suggested_by": "random", "status": status,
            "score": 1.0 if status == "completed" else None, "fd": 1.0, "steps": 10, "best_step": best_step,
            "train_seconds": 1.0, "gpus_per_trial": 0.0}


def test_plain_pandas_reads_round_and_best_step_as_integers(tmp_path):
    """docs/STUDY-DIRECTORY.md reads results with ``pd.read_parquet`` and calls ``round`` and
    ``best_step`` Int64: a null (random search's round, a diverged trial's best step) must not turn
    the column into float64, in the small files a running study writes and after compaction."""
    store = TrialStore(tmp_path / "results", ["fd"], ["lr"], compact_at=0, fsync=False)
    store.write(_row("a", None, "completed", 10))
    store.write(_row("b", 2, "diverged", None))
    for _ in range(2):
        df = pd.read_parquet(tmp_path / "results" / "trials")
        assert {c: str(df[c].dtype) for c in INTEGER_TRIAL_COLUMNS} == dict.fromkeys(INTEGER_TRIAL_COLUMNS, "Int64")
        assert df.set_index("trial_id")["round"].isna().to_dict() == {"a": True, "b": False}
        store.compact()


def test_a_points_trials_kept_samples_hold_every_sample_it_scored_and_say_how_many(tmp_path):
    """An outside check recomputes a trial's modes and hq from ``generators/<id>.samples.npz`` with
    numpy alone: it must hold all the scored points (PacGAN's study scores 2,500, more than the 2,000
    drawn before) and say how many were scored (a study scoring 500 kept 2,000, 1,500 unscored)."""
    import io

    import numpy as np
    import torch

    from gansweep.gan import GANConfig, GANTrainer
    from gansweep.store.generators import drawn_path, load_generator, save_drawn, save_generator, snapshot
    from gansweep.data import Dataset

    x = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    t = GANTrainer(GANConfig("mlp", width=2, batch_size=4, z_dim=8), Dataset("points", x, x), seed=3)
    t.train(2)
    for scored in (2500, 500):
        stream = t.eval_rng.get_state()
        tid = f"ring8.mlp.ns.none.none-random-{scored:04d}"
        save_generator(tmp_path, tid, snapshot(t, 1.0, "mmd", stream, draws=(scored, 500)))
        g = load_generator(tmp_path, tid)
        save_drawn(tmp_path, g)
        with np.load(io.BytesIO(drawn_path(tmp_path, tid).read_bytes()), allow_pickle=False) as z:
            assert int(z["scored"]) == scored and len(z["samples"]) >= max(scored, 2000)
            assert torch.equal(torch.from_numpy(z["samples"][:scored]), g.sample(scored).float())


def test_a_diverged_trial_leaves_no_nan_scalar_nor_library_warning_in_tensorboard(tmp_path, caplog):
    """A dry run of 708 trials printed 18 'tensorboardX.x2num: NaN or Inf found in input tensor'
    warnings into the study's log, one per diverged trial's NaN ``hparams/score``: its HParams entry
    stays (status diverged), the scalar curve is left out as every non-finite value is."""
    import logging
    from types import SimpleNamespace

    from gansweep.driver.tensorboard import TensorBoardCallback

    cb = TensorBoardCallback(str(tmp_path), ["fd"])
    trial = SimpleNamespace(config={"trial_id": "c-random-0000", "hp": {"lr": 0.5}, "searched": ["lr"],
                                    "loss": "ns", "strategy": "random"},
                            last_result={"evals": [{"step": 100, "fd": 3.0}], "status": "diverged",
                                         "score": float("nan"), "steps": 150, "final": True})
    with caplog.at_level(logging.WARNING):
        cb.on_trial_complete(0, [], trial)
    assert not [r for r in caplog.records if "NaN" in r.getMessage()]
    scalars, plugins = _events(tmp_path / "tb" / "c-random-0000")
    assert scalars == {"metrics/fd": {100: 3.0}} and "hparams" in plugins


def _events(run):
    """Scalars and plugin names of a run's event files (TFRecords of tensorboardX's Event protos)."""
    import struct

    from tensorboardX.proto.event_pb2 import Event

    scalars, plugins = {}, set()
    for path in sorted(run.glob("events.out.tfevents.*")):
        data, at = path.read_bytes(), 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at:at + 8])
            event = Event.FromString(data[at + 12:at + 12 + length])
            at += 12 + length + 4
            for value in event.summary.value:
                plugins.add(value.metadata.plugin_data.plugin_name)
                if value.HasField("simple_value"):
                    scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    return scalars, plugins
