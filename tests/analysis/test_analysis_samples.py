"""gansweep samples: which trials are drawn, image grids and 2-D scatters, refusals, the report's section."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch

from gansweep.analysis.samples import choose_trials, write_samples
from gansweep.data import Dataset
from gansweep.errors import GansweepError
from gansweep.gan import GANConfig, GANTrainer
from gansweep.store import read_trials
from gansweep.store.generators import load_generator, save_drawn, save_generator, snapshot


def keep_generator(study_dir: Path, trial_id: str, dataset: str, drawn: bool = False) -> None:
    """Store a (briefly trained) generator for a trial of the synthetic study, as a trial would;
    ``drawn``: with its first samples beside it, as a trial keeps them since they are kept."""
    if dataset == "ring8":
        cfg, x = GANConfig("mlp", width=8, batch_size=8, z_dim=4), torch.randn(32, 2)
    else:
        cfg, x = GANConfig("dcgan", width=4, batch_size=8, z_dim=8), torch.rand(32, 1, 16, 16) * 2 - 1
    t = GANTrainer(cfg, Dataset(dataset, x, x), seed=0)
    t.train(2)
    save_generator(study_dir, trial_id, snapshot(t, 1.0, "fd", t.eval_rng.get_state()))
    if drawn:
        save_drawn(study_dir, load_generator(study_dir, trial_id))


def best_per_cell(study_dir: Path) -> pd.DataFrame:
    t = read_trials(study_dir)
    return t[t.score.notna()].sort_values("score").groupby("cell").head(1)


def test_choose_trials_best_per_cell_top_and_named(study_dir: Path) -> None:
    trials = read_trials(study_dir)
    chosen = choose_trials(trials)
    assert sorted(chosen.trial_id) == sorted(best_per_cell(study_dir).trial_id)
    assert list(chosen.score) == sorted(chosen.score) and chosen.score.map(math.isfinite).all()
    assert list(choose_trials(trials, cells=3).trial_id) == list(chosen.trial_id[:3])
    top = choose_trials(trials, top=5)
    assert list(top.score) == sorted(trials.score.dropna())[:5]
    named = list(trials.trial_id[[7, 3]])
    assert list(choose_trials(trials, trial_ids=named + named[:1]).trial_id) == named
    with pytest.raises(GansweepError, match="--trial 'nope': no such trial in this study"):
        choose_trials(trials, trial_ids=["nope"])


def test_samples_of_the_best_trial_of_each_cell(study_dir: Path, caplog) -> None:
    best = best_per_cell(study_dir)
    kept = best.groupby("dataset").head(1)  # one cell per data set kept its generator
    for row in kept.itertuples():
        keep_generator(study_dir, row.trial_id, row.dataset)
    paths = write_samples(study_dir)
    assert sorted(p.name for p in paths) == sorted(f"{t}.png" for t in kept.trial_id)
    assert all(p.parent == study_dir / "samples" and p.stat().st_size > 3_000 for p in paths)
    assert "kept no generator" in caplog.text  # the other cells are skipped, and said so
    one = kept.trial_id.iloc[0]
    assert write_samples(study_dir, trial_ids=[one], n=4, out=study_dir / "x") == [study_dir / "x" / "samples" / f"{one}.png"]
    images = kept[kept.dataset != "ring8"].trial_id.iloc[0]
    with pytest.raises(GansweepError, match="-n 1025: at most 1024 images per trial"):
        write_samples(study_dir, trial_ids=[images], n=1025)
    missing = best[~best.trial_id.isin(kept.trial_id)].trial_id.iloc[0]
    with pytest.raises(GansweepError, match=f"no stored generator for trial {missing}"):
        write_samples(study_dir, trial_ids=[missing])


def test_samples_refusals(study_dir: Path) -> None:
    with pytest.raises(GansweepError, match="no trial with a finite score kept a generator"):
        write_samples(study_dir)
    with pytest.raises(GansweepError, match="--device 'tpu': choose cpu or cuda"):
        write_samples(study_dir, device="tpu")
    with pytest.raises(GansweepError, match="-n 0"):
        write_samples(study_dir, n=0)
    with pytest.raises(GansweepError, match="-n 100000001: draw 1 to 100000 samples"):
        write_samples(study_dir, n=100_000_001)  # a typo must not hang the machine drawing it
    with pytest.raises(GansweepError, match="--device 'cuda:x': choose cpu or cuda"):
        write_samples(study_dir, device="cuda:x")
    with pytest.raises(GansweepError, match="--top 0"):
        write_samples(study_dir, top=0)
    (study_dir / "gansweep.json").write_text(json.dumps({"dry_run": True}))
    with pytest.raises(GansweepError, match="a dry run trains no GANs"):
        write_samples(study_dir)


def test_report_shows_samples_when_generators_were_kept(study_dir: Path) -> None:
    from gansweep.analysis.report import write_report

    page = write_report(study_dir).read_text()
    assert "No samples:" in page and 'id="samples"' in page
    row = best_per_cell(study_dir).iloc[0]
    keep_generator(study_dir, row.trial_id, row.dataset)
    page = write_report(study_dir).read_text()
    assert f'<img alt="{row.trial_id}"' in page and "No samples:" not in page


def test_the_report_shows_drawn_and_kept_samples_without_torch(study_dir: Path, tmp_path: Path) -> None:
    """Two ways a report avoids torch, in one ``gansweep report`` run as a user runs it (under
    ``-X importtime``; a report costs about 7 CPU-seconds, so one run checks all three cells):

    - a picture already drawn (``gansweep samples``, an earlier report) is shown as it is: the
      report drew every best trial's samples again, loading torch (~2 s) each time, though a
      stored trial's generator never changes;
    - a trial keeps its first scored samples beside its generator: the report (and ``samples``
      with the default ``-n``) draws them with numpy and matplotlib alone, for points (ring8) and
      images (digits), the same picture as from the generator.
    """
    import subprocess
    import sys

    import matplotlib.image

    from gansweep.analysis.samples import render
    from gansweep.store.generators import load_drawn

    best = best_per_cell(study_dir)
    kept = {ds: best.query("dataset == @ds").iloc[0] for ds in ("ring8", "digits")}
    for row in kept.values():
        keep_generator(study_dir, row.trial_id, row.dataset, drawn=True)
    drawn = best[~best.trial_id.isin([r.trial_id for r in kept.values()])].iloc[0]
    keep_generator(study_dir, drawn.trial_id, drawn.dataset)
    write_samples(study_dir, trial_ids=[drawn.trial_id])
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "gansweep.cli", "report", str(study_dir)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    imported = {ln.rsplit("|", 1)[-1].strip() for ln in done.stderr.splitlines() if ln.startswith("import time:")}
    assert {"gansweep.analysis.report", "gansweep.analysis.samples"} <= imported and "torch" not in imported
    page = (study_dir / "report.html").read_text()
    for row in [*kept.values(), drawn]:
        assert f'<img alt="{row.trial_id}"' in page, row.trial_id
    for dataset, row in kept.items():
        a = matplotlib.image.imread(render(load_generator(study_dir, row.trial_id), dataset, tmp_path / "g.png"))
        b = matplotlib.image.imread(render(load_drawn(study_dir, row.trial_id), dataset, tmp_path / "d.png"))
        assert a.shape == b.shape and abs(a - b).max() < 1e-6, dataset


def test_image_grid_lays_images_out_as_torchvision() -> None:
    from torchvision.utils import make_grid

    from gansweep.analysis.samples import image_grid

    for c, n, per_row in ((1, 7, 3), (3, 4, 2), (1, 64, 8)):
        x = torch.rand(n, c, 5, 6)
        want = make_grid(x, nrow=per_row, padding=1, pad_value=1.0).permute(1, 2, 0).numpy()
        assert (image_grid(x.numpy(), per_row) == want).all(), (c, n, per_row)


@pytest.mark.parametrize("where", ["file", "file/below"])
def test_an_out_that_is_a_file_is_one_line(study_dir: Path, tmp_path: Path, where: str) -> None:
    from gansweep.analysis.report import write_report

    (tmp_path / "file").write_text("mine")
    row = best_per_cell(study_dir).iloc[0]
    keep_generator(study_dir, row.trial_id, row.dataset)
    for write in (lambda out: write_samples(study_dir, out=out), lambda out: write_report(study_dir, out=out)):
        with pytest.raises(GansweepError, match=f"--out .*{tmp_path / 'file'} is a file"):
            write(tmp_path / where)
    assert (tmp_path / "file").read_text() == "mine"


def test_a_diverged_trial_is_not_the_best_of_its_cell(study_dir: Path) -> None:
    """A diverged trial stores the best score it had before diverging (and keeps that generator),
    but the report and the budget curves count it as +inf: drawing it as a cell's best would not be."""
    trials = read_trials(study_dir)
    best = best_per_cell(study_dir).iloc[0]
    trials.loc[trials.trial_id == best.trial_id, ["status", "score"]] = ["diverged", best.score - 1.0]
    assert best.trial_id not in set(choose_trials(trials).trial_id)
    assert best.trial_id not in set(choose_trials(trials, top=len(trials)).trial_id)
    assert list(choose_trials(trials, trial_ids=[best.trial_id]).trial_id) == [best.trial_id]  # named: drawn


def test_an_unreadable_generator_is_named_not_called_missing(study_dir: Path, caplog) -> None:
    best = best_per_cell(study_dir)
    good, bad = best.iloc[0], best.iloc[1]
    keep_generator(study_dir, good.trial_id, good.dataset)
    (study_dir / "generators" / f"{bad.trial_id}.pt").write_bytes(b"truncated")
    assert [p.stem for p in write_samples(study_dir)] == [good.trial_id]
    assert f"{bad.trial_id}.pt: not a readable gansweep generator" in caplog.text


def test_evaluate_refusals(study_dir: Path) -> None:
    from gansweep.analysis.evaluate import evaluate_study

    with pytest.raises(GansweepError, match="--samples 1: choose 2 to"):
        evaluate_study(study_dir, samples=1)
    with pytest.raises(GansweepError, match="--top 0"):
        evaluate_study(study_dir, top=0)
    with pytest.raises(GansweepError, match="--metric: .*unknown metric|--metric: .*did you mean"):
        evaluate_study(study_dir, metrics=["fdd"])
    with pytest.raises(GansweepError, match="none of the chosen trials kept a generator"):  # it kept none
        evaluate_study(study_dir, metrics=["fd"])
    with pytest.raises(GansweepError, match="no stored generator for trial"):
        evaluate_study(study_dir, trial_ids=[best_per_cell(study_dir).trial_id.iloc[0]], metrics=["fd"])
    (study_dir / "gansweep.json").write_text(json.dumps({"dry_run": True}))
    with pytest.raises(GansweepError, match="a dry run trains no GANs"):
        evaluate_study(study_dir)


def test_evaluate_an_image_generator_gives_back_its_score(study_dir: Path) -> None:
    """Digits and a DCGAN, the feature space gansweep trains for digits: the stored FD comes back."""
    from gansweep.analysis.evaluate import evaluate_study
    from gansweep.data import load_dataset
    from gansweep.metrics import Evaluator

    row = best_per_cell(study_dir).query("dataset == 'digits'").iloc[0]
    data = load_dataset("digits")
    t = GANTrainer(GANConfig("dcgan", width=4, batch_size=8, z_dim=8), data, seed=0)
    t.train(3)
    evaluator = Evaluator(data, ["fd"], 300, cache_dir=study_dir / "cache")
    stream = t.eval_rng.get_state()
    score = evaluator(t)["fd"]
    save_generator(study_dir, row.trial_id,
                   snapshot(t, score, "fd", stream, (evaluator.samples, evaluator.options.batch_size)))
    frame, path = evaluate_study(study_dir, trial_ids=[row.trial_id], samples=300, metrics=["fd"])
    assert path == study_dir / "evaluations.csv" and list(frame.trial_id) == [row.trial_id]
    assert frame.fd.iloc[0] == score and frame.step.iloc[0] == 3
    bigger, _ = evaluate_study(study_dir, trial_ids=[row.trial_id], samples=600, metrics=["fd"], out=study_dir / "b")
    assert math.isfinite(bigger.fd.iloc[0]) and bigger.fd.iloc[0] != score


def test_evaluate_gives_back_recon_of_a_batch_norm_generator(study_dir: Path) -> None:
    """recon runs the generator as the trial did (train mode: a DCGAN's batch norm on batch statistics)."""
    import yaml

    from gansweep.analysis.evaluate import evaluate_study
    from gansweep.data import load_dataset
    from gansweep.metrics import Evaluator

    spec = yaml.safe_load((study_dir / "study.yaml").read_text())
    options = {"recon_images": 16, "recon_steps": 5}
    spec["metrics"]["options"] = options
    (study_dir / "study.yaml").write_text(yaml.safe_dump(spec))
    row = best_per_cell(study_dir).query("dataset == 'digits'").iloc[0]
    data = load_dataset("digits")
    t = GANTrainer(GANConfig("dcgan", width=4, batch_size=8, z_dim=8), data, seed=0)
    t.train(3)
    evaluator = Evaluator(data, ["fd", "recon"], 300, cache_dir=study_dir / "cache", options=options)
    stream = t.eval_rng.get_state()
    scored = evaluator(t)
    save_generator(study_dir, row.trial_id,
                   snapshot(t, scored["fd"], "fd", stream, (evaluator.samples, evaluator.options.batch_size)))
    frame, _ = evaluate_study(study_dir, trial_ids=[row.trial_id], samples=300, metrics=["fd", "recon"])
    assert frame.fd.iloc[0] == scored["fd"] and frame.recon.iloc[0] == pytest.approx(scored["recon"], rel=1e-9)


def test_evaluate_cli_table_with_an_is_column(cli, monkeypatch, study_dir: Path) -> None:
    """'is' (Inception score) is a Python keyword: the table must not read columns as attributes."""
    import gansweep.analysis.evaluate as evaluate

    frame = pd.DataFrame([{"trial_id": "t0", "cell": "c", "strategy": "random", "stored_score": 3.0, "step": 20,
                           "samples": 500, "fid": 3.0, "is": 7.25, "is_std": float("nan"), "seconds": 1.0}])
    monkeypatch.setattr(evaluate, "evaluate_study", lambda *a, **k: (frame, study_dir / "evaluations.csv"))
    code, out, err = cli("evaluate", study_dir)
    assert code == 0, err
    assert "7.25" in out and "nan" in out and "evaluations.csv" in out


def test_a_stored_trial_id_that_is_a_path_never_becomes_a_file_name(study_dir: Path, tmp_path: Path, caplog) -> None:
    """A hostile row (trial_id ``../../../<tmp>/x``, best score of all) is skipped by samples and report."""
    import shutil
    import subprocess

    import pyarrow as pa
    import pyarrow.parquet as pq

    best = best_per_cell(study_dir)
    row = best.iloc[0]
    keep_generator(study_dir, row.trial_id, row.dataset)
    part = next((study_dir / "results" / "trials").rglob(f"{row.trial_id}*.parquet"))
    table = pq.read_table(part)
    evil_dir = tmp_path / "outside"
    evil = "../../../../../../../.." + str(evil_dir / "x")
    table = table.set_column(table.schema.get_field_index("trial_id"), table.schema.field("trial_id"),
                             pa.array([evil] * len(table), table.schema.field("trial_id").type))
    table = table.set_column(table.schema.get_field_index("score"), table.schema.field("score"),
                             pa.array([-1.0] * len(table), table.schema.field("score").type))
    pq.write_table(table, part.with_name("hostile-" + part.name))
    # the generator of the hostile id sits where ../ would lead from generators/ (as an attacker would place it)
    evil_dir.mkdir()
    shutil.copy(study_dir / "generators" / f"{row.trial_id}.pt", evil_dir / "x.pt")
    paths = write_samples(study_dir)
    assert [p.name for p in paths] == [f"{row.trial_id}.png"]
    assert "outside the plan's grammar" in caplog.text
    with pytest.raises(GansweepError, match="no such trial"):
        write_samples(study_dir, trial_ids=[evil])
    done = subprocess.run(["gansweep", "report", str(study_dir)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in evil_dir.iterdir()) == ["x.pt"]  # nothing written beside it
