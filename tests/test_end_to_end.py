"""A tiny real study through Ray Tune: real GANs, real metrics, Parquet rows, plots."""

import json

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow

STUDY = {
    "name": "tiny",
    "grid": {"dataset": ["ring8"], "architecture": ["mlp"], "penalty": ["none", "gp"]},
    "training": {"steps": 40, "eval_every": 20, "batch_size": 64, "z_dim": 8, "width": 32},
    "metrics": {"samples": 500, "extra": ["fd", "modes", "hq"]},
    "search": [{"strategy": "random", "trials": 2,
                "space": {"lr": {"low": 1e-4, "high": 1e-3, "log": True},
                          "penalty_weight": {"low": 0.1, "high": 10.0, "log": True}}}],
    "failure": {"max_failures": 0},
}


def test_tiny_real_study(cli, tmp_path):
    study_file = tmp_path / "tiny.yaml"
    study_file.write_text(yaml.safe_dump(STUDY))
    code, out, err = cli("run", study_file, "--out", tmp_path)
    assert code == 0, err
    study_dir = tmp_path / "tiny"
    trials = pd.read_parquet(study_dir / "results" / "trials")
    assert sorted(trials.trial_id) == [
        "ring8.mlp.ns.gp.none-random-0000", "ring8.mlp.ns.gp.none-random-0001",
        "ring8.mlp.ns.none.none-random-0000", "ring8.mlp.ns.none.none-random-0001"]
    assert set(trials.status) == {"completed"}, trials.error.tolist()
    assert trials.score.notna().all() and (trials.score == trials.mmd).all()  # ring8's default primary
    assert trials.modes.between(0, 8).all() and trials.hq.between(0, 1).all()
    assert (trials.steps == 40).all() and (trials.train_seconds > 0).all()
    assert (trials.suggested_by == "random").all()  # who drew each trial's hyperparameters
    gp = trials[trials.penalty == "gp"]
    assert gp.hp_penalty_weight.between(0.1, 10).all()
    assert trials[trials.penalty == "none"].hp_penalty_weight.isna().all()
    config = json.loads(trials.config[0])
    assert config["trial_id"] == trials.trial_id[0] and "hp" in config
    evals = pd.read_parquet(study_dir / "results" / "evals")
    assert len(evals) == 2 * len(trials) and set(evals.step) == {20, 40}
    best = evals.groupby("trial_id").mmd.min()
    assert (best.loc[trials.trial_id].values == trials.mmd.values).all()

    # a row describes one generator: every metric column is that of the evaluation that produced
    # the score (the first at the lowest mmd), never another evaluation's best modes or hq
    for row in trials.itertuples():
        mine = evals[evals.trial_id == row.trial_id]
        scored = mine.loc[mine.mmd.idxmin()]
        assert (row.mmd, row.fd, row.modes, row.hq) == (scored.mmd, scored.fd, scored.modes, scored.hq), row.trial_id
    # the row's config is the whole resolved trial: alone, it reruns the trial to the same score
    from gansweep.gan.specs import ARCH_SPECS
    from gansweep.metrics.checks import EvalOptions

    resolved = json.loads(trials.config[0])
    assert resolved["training"] == {**{k: STUDY["training"][k] for k in ("steps", "eval_every", "batch_size",
                                                                          "z_dim", "width")},
                                    "resolution": None, "prior": "normal", "timeout": None,
                                    "options": dict(ARCH_SPECS["mlp"].options)}  # every option, defaults too
    assert resolved["metrics"]["options"] == EvalOptions().__dict__
    assert resolved["metrics"]["primary"] == "mmd" and resolved["metrics"]["extra"] == ["fd", "modes", "hq"]
    assert resolved["metrics"]["samples"] == 500 and resolved["dry_run"] is False
    from gansweep.trial.worker import rerun

    again = rerun(json.loads(trials.config[0]), cache_dir=str(tmp_path / "rerun-cache"))
    assert again["status"] == "completed" and again["score"] == trials.score[0]
    assert [e["mmd"] for e in again["evals"]] == evals[evals.trial_id == trials.trial_id[0]].mmd.tolist()
    code, out, err = cli("plot", study_dir)
    assert code == 0, err
    curves = pd.read_csv(study_dir / "plots" / "budget_curves.csv")
    assert {"budget", "median", "lo", "hi", "mean"} <= set(curves.columns)
    assert set(curves.cell) == set(trials.cell) and curves.budget.max() == 2
    assert (study_dir / "plots" / "budget_curves.png").stat().st_size > 10_000

    # an ended trial's last checkpoint in Tune holds its result, not G, D and Adam's moments
    assert not list((study_dir / "tune").rglob("trial.pt"))
    assert len(list((study_dir / "tune").rglob("final.json"))) == len(trials)

    # every trial kept the generator of its best evaluation: it draws exactly what was scored
    from gansweep.data import load_dataset
    from gansweep.metrics import Evaluator
    from gansweep.store.generators import DRAWN_POINTS, load_drawn, load_generator

    for row in trials.itertuples():
        g = load_generator(study_dir, row.trial_id)
        assert g.score == row.mmd and g.metric == "mmd"
        assert g.step == evals[evals.trial_id == row.trial_id].set_index("step").mmd.idxmin()
        evaluator = Evaluator(load_dataset("ring8"), ["mmd", "fd"], STUDY["metrics"]["samples"],
                              cache_dir=str(tmp_path / "cache"), seed=json.loads(row.config)["seed"])
        again = evaluator(g.sampler)
        assert (again["mmd"], again["fd"]) == (row.mmd, row.fd)
        kept = load_drawn(study_dir, row.trial_id)  # its first scored samples, kept beside it (no torch to read)
        assert (kept.step, kept.score, kept.metric) == (g.step, g.score, g.metric)
        assert (kept.samples == g.sample(DRAWN_POINTS).numpy()).all()

    code, out, err = cli("samples", study_dir)  # the best trial of each cell
    assert code == 0, err
    best = trials.sort_values("score").groupby("cell").head(1)
    drawn = sorted(p.name for p in (study_dir / "samples").iterdir())
    assert drawn == sorted(f"{t}.png" for t in best.trial_id)
    assert all((study_dir / "samples" / name).stat().st_size > 5_000 for name in drawn)
    code, out, err = cli("samples", study_dir, "--top", "1", "--out", tmp_path / "elsewhere", "-n", "300")
    assert code == 0, err
    assert out.split() == [str(tmp_path / "elsewhere" / "samples" / f"{trials.sort_values('score').trial_id.iloc[0]}.png")]
    code, out, err = cli("samples", study_dir, "--trial", "ring8.mlp.ns.gp.none-random-0007")
    assert code == 2 and "no such trial" in err and len(err.strip().splitlines()) == 1
    code, out, err = cli("report", study_dir)
    assert code == 0, err
    page = (study_dir / "report.html").read_text()
    assert page.count('<img alt="ring8.mlp.') == len(best)

    # evaluate the kept generators again: with the study's samples and metric, the stored scores come back
    code, out, err = cli("evaluate", study_dir)
    assert code == 0, err
    again = pd.read_csv(study_dir / "evaluations.csv").set_index("trial_id")
    assert sorted(again.index) == sorted(best.trial_id)
    assert (again.mmd == again.stored_score).all() and (again.fd == trials.set_index("trial_id").fd[again.index]).all()
    assert set(again.columns) >= {"cell", "step", "samples", "mmd", "fd", "modes", "hq"}
    code, out, err = cli("evaluate", study_dir, "--top", "1", "--samples", "1500", "--metric", "mmd",
                         "--metric", "modes", "--out", tmp_path / "ev")
    assert code == 0, err
    more = pd.read_csv(tmp_path / "ev" / "evaluations.csv")
    assert len(more) == 1 and more.samples[0] == 1500 and 0 <= more.modes[0] <= 8
    assert more.mmd[0] != more.stored_score[0]  # 1,500 samples against 1,500 real points: another estimate
    code, out, err = cli("evaluate", study_dir, "--metric", "fid")
    assert code == 2 and "--metric" in err and len(err.strip().splitlines()) == 1
    code, out, err = cli("report", study_dir)  # the report shows the re-evaluation next to the search
    assert code == 0, err
    page = (study_dir / "report.html").read_text()
    assert 'id="evaluations"' in page and all(t in page.split('id="evaluations"')[1] for t in again.index)
