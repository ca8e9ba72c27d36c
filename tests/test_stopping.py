"""Stopping within a cell: the schema, the per-cell composite scheduler, stopped rows, the cost estimate."""

import math
import os
import subprocess
from types import SimpleNamespace

import pytest
import yaml
from ray.tune.schedulers import ASHAScheduler, MedianStoppingRule, TrialScheduler

from gansweep.driver.callbacks import trial_row
from gansweep.driver.scheduler import StudyScheduler, stopped_result
from gansweep.trial.contract import TrialResult
from gansweep.study import build_plan, load_study
from gansweep.study.cost import plan_cost
from gansweep.study.schema import AshaStopping, MedianStopping, Training
from gansweep.study.stopping import expected_fraction

SPACE = {"lr": {"low": 4e-4, "high": 6e-4, "log": True}, "beta1": {"low": 0.45, "high": 0.55}}


def study_dict(stopping=None, trials=8, steps=1000, eval_every=100, **extra):
    entry = {"strategy": "random", "trials": trials, "space": SPACE}
    if stopping is not None:
        entry["stopping"] = stopping
    return {"name": "stop", "grid": {"dataset": ["ring8"], "architecture": ["mlp"], "normalization": ["none", "sn"]},
            "training": {"steps": steps, "eval_every": eval_every}, "search": [entry, *extra.pop("more", [])],
            "metrics": extra.pop("metrics", {"primary": "fd"}), **extra}  # fd: what these tests' evaluations hold


def write(tmp_path, data):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


class FakeTrial:
    """What the schedulers read of a Tune trial: its id and config (hashable, as Tune's trials are)."""

    def __init__(self, trial_id, config):
        self.trial_id, self.config = trial_id, config


def fake_trial(trial_id, cell, strategy="random"):
    return FakeTrial(trial_id, {"trial_id": trial_id, "cell": cell, "strategy": strategy})


# -- the study file ---------------------------------------------------------------------------
@pytest.mark.parametrize(("stopping", "expected"), [
    ({"kind": "asha", "grace_steps": 1000}, "search[0].stopping.grace_steps: must be below training.steps (1000)"),
    ({"kind": "asha", "reduction": 1}, "search[0].stopping.reduction: Input should be greater than 1"),
    ({"kind": "asha", "min_samples": 2}, "search[0].stopping.min_samples: unknown field 'min_samples'; "
                                         "allowed: grace_steps, kind, reduction"),
    ({"kind": "hyperband"}, "search[0].stopping: unknown stopping kind 'hyperband'; choose from asha, median, none"),
    ({"kind": "median", "grace": 3}, "unknown field 'grace' (did you mean 'grace_steps'?)"),
    ({"kind": "median", "min_samples": 0}, "search[0].stopping.min_samples: Input should be greater than or equal"),
])
def test_bad_stopping_is_refused_in_one_line(cli, tmp_path, stopping, expected):
    path = write(tmp_path, study_dict(stopping))
    code, out, err = cli("validate", path)
    assert code == 2 and expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("strategy", [
    {"strategy": "table1"},
    {"strategy": "gp", "rounds": 2, "per_round": 3, "space": SPACE},
    {"strategy": "optuna", "trials": 4, "space": SPACE},
])
def test_every_strategy_takes_stopping(tmp_path, strategy):
    data = study_dict({"kind": "asha"})
    data["search"] = [{**strategy, "stopping": {"kind": "median", "grace_steps": 200}}]
    plan = build_plan(load_study(write(tmp_path, data)), weights=False)
    assert plan.entries[0].search.stopping.kind == "median"


# -- what validate charges ----------------------------------------------------------------------
def test_expected_fraction_counts_rungs_and_survivors():
    t = Training(steps=1000, eval_every=100)
    # rungs at 100, 300, 900 (η = 3): all run 100, 1/3 go on to 300, 1/9 to 900, 1/27 to the end
    want = (100 + (300 - 100) / 3 + (900 - 300) / 9 + (1000 - 900) / 27) / 1000
    assert expected_fraction(AshaStopping(kind="asha"), t) == pytest.approx(want)
    # rungs fall on the evaluation at or after them: with eval_every 500 only the rung at 500 decides
    t500 = Training(steps=1000, eval_every=500)
    assert expected_fraction(AshaStopping(kind="asha", grace_steps=100), t500) == pytest.approx(0.5 + 0.5 / 3)
    assert expected_fraction(MedianStopping(kind="median", grace_steps=200), t) == pytest.approx(0.2 + 0.8 / 2)
    assert expected_fraction(None, t) == 1.0


def test_validate_prices_a_stopping_entry_by_its_expected_steps(tmp_path):
    image = {"dataset": ["digits"], "architecture": ["dcgan"], "normalization": ["none"]}
    full = load_study(write(tmp_path, {**study_dict(None), "grid": image}))
    asha = full.model_copy(update={"search": [full.search[0].model_copy(
        update={"stopping": AshaStopping(kind="asha")})]})
    f = expected_fraction(AshaStopping(kind="asha"), full.training)
    assert plan_cost(build_plan(asha, weights=False)).hours == pytest.approx(
        f * plan_cost(build_plan(full, weights=False)).hours)


# -- the composite scheduler ----------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["asha", "median"])
def test_each_cell_is_stopped_only_by_its_own_trials(tmp_path, kind):
    """Cell 'bad' scores 100× worse than cell 'good' everywhere; a global rule would stop most of it,
    the composite keeps the same share of each cell as a rule of its own."""
    stopping = {"kind": kind, "grace_steps": 100}
    plan = build_plan(load_study(write(tmp_path, study_dict(stopping))), weights=False)
    bad, good = (c.id for c in plan.cells)
    composite = StudyScheduler(plan)

    def rule():
        if kind == "asha":
            return ASHAScheduler(time_attr="step", metric="score", mode="min", max_t=1000, grace_period=100,
                                 reduction_factor=3)
        return MedianStoppingRule(time_attr="step", metric="score", mode="min", grace_period=100,
                                  min_samples_required=3, min_time_slice=math.inf, hard_stop=True)

    global_ = rule()
    own = {c: rule() for c in (bad, good)}
    decisions: dict[str, dict[str, str]] = {"composite": {}, "global": {}, "own": {}}
    trials = [fake_trial(f"t{i}{c[-2:]}", c) for i in range(12) for c in (good, bad)]
    for t in trials:
        for s in (composite, global_, own[t.config["cell"]]):
            s.on_trial_add(None, t)
    for step in range(100, 1000, 100):  # the report at step 1000 is final: it ends the trial anyway
        for k, t in enumerate(trials):
            level = 1.0 if t.config["cell"] == good else 100.0
            result = {"step": step, "score": level * (1 + ((7 * k) % 5) / 10) * (1 + 1 / step)}
            for name, s in (("composite", composite), ("global", global_), ("own", own[t.config["cell"]])):
                if t.trial_id not in decisions[name]:
                    if s.on_trial_result(None, t, result) == TrialScheduler.STOP:
                        decisions[name][t.trial_id] = step
    assert decisions["composite"] == decisions["own"]
    stopped_bad = [t for t in decisions["composite"] if t.endswith(bad[-2:])]
    assert 0 < len(stopped_bad) < 12, decisions
    # the global scheduler would have stopped every trial of the bad cell that reached a rung after a good one
    assert sum(t.endswith(bad[-2:]) for t in decisions["global"]) > len(stopped_bad)


def test_entries_without_stopping_never_stop(tmp_path):
    data = study_dict({"kind": "asha"}, more=[{"strategy": "random", "name": "plain", "trials": 3, "space": SPACE,
                                             "stopping": {"kind": "none"}}])
    plan = build_plan(load_study(write(tmp_path, data)), weights=False)
    s = StudyScheduler(plan)
    cell = plan.cells[0].id
    for i in range(6):
        t = fake_trial(f"p{i}", cell, "plain")
        s.on_trial_add(None, t)
        assert s.on_trial_result(None, t, {"step": 100, "score": 10.0 ** i}) == TrialScheduler.CONTINUE
    assert set(s.subs) == {(c.id, "random") for c in plan.cells}


def test_resume_rebuilds_the_rungs_from_the_store(tmp_path):
    plan = build_plan(load_study(write(tmp_path, study_dict({"kind": "asha", "grace_steps": 100}))), weights=False)
    entry = plan.entries[0]
    stored = {entry.trial_id(i): [{"step": 100, "fd": 1.0 + i}, {"step": 200, "fd": 0.5 + i}] for i in range(4)}
    stored["not-a-planned-trial"] = [{"step": 100, "fd": 0.0}]
    s = StudyScheduler(plan, lambda: stored)
    worse, better = fake_trial("new1", entry.cell.id), fake_trial("new2", entry.cell.id)
    for t in (worse, better):
        s.on_trial_add(None, t)
    assert s.on_trial_result(None, worse, {"step": 100, "score": 9.0}) == TrialScheduler.STOP
    assert s.on_trial_result(None, better, {"step": 100, "score": 0.1}) == TrialScheduler.CONTINUE
    # without the store, the first trial at a rung has nothing to be compared with
    fresh = StudyScheduler(plan)
    fresh.on_trial_add(None, worse)
    assert fresh.on_trial_result(None, worse, {"step": 100, "score": 9.0}) == TrialScheduler.CONTINUE


def test_a_stopped_trial_is_stored_stopped_with_what_it_reached():
    evals = [{"step": 100, "seconds": 1.0, "fd": 3.0}, {"step": 200, "seconds": 2.5, "fd": 4.0}]
    last = {**evals[-1], "score": 3.0, "best_step": 100, "status": "running", "evals": evals}
    config = {"trial_id": "t", "cell": "c", "dataset": "ring8", "hp": {"lr": 1e-3}}
    row, stored = trial_row(config, TrialResult.ended(last), "s", 0.0, ["fd"])
    assert (row["status"], row["score"], row["steps"], row["train_seconds"], row["fd"]) == ("stopped", 3.0, 200, 2.5,
                                                                                             3.0)
    assert stored == evals and row["error"] is None
    # an error, or a result that never reported an evaluation, is no stop
    assert trial_row(config, TrialResult.ended(last), "s", 0.0, ["fd"], error="boom")[0]["status"] == "failed"
    assert trial_row(config, TrialResult.ended({"step": 1}), "s", 0.0, ["fd"])[0]["status"] == "failed"
    assert stopped_result({**last, "final": True, "status": "completed"})["status"] == "completed"


# -- end to end, as a user runs it --------------------------------------------------------------
@pytest.mark.slow
def test_dry_run_with_asha_stops_within_each_cell_and_resume_keeps_them(tmp_path, ray_head):
    """Two cells whose synthetic scores differ by a level (sn: 12 lower); trials one at a time, so
    each cell's decisions are exactly those of ASHA told that cell's trials in index order."""
    import pandas as pd

    from gansweep.trial.synthetic import simulate

    data = study_dict({"kind": "asha", "grace_steps": 100})
    path = write(tmp_path, data)
    runs = tmp_path / "runs"
    proc = subprocess.run(["gansweep", "run", str(path), "--out", str(runs), "--dry-run", "--max-concurrent", "1",
                           "--address", ray_head], capture_output=True, text=True, timeout=400,
                          env={**os.environ, "RAY_AUTH_MODE": "token"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    study_dir = runs / "stop"
    df = pd.read_parquet(study_dir / "results" / "trials")
    ev = pd.read_parquet(study_dir / "results" / "evals")
    plan = build_plan(load_study(path), weights=False)
    assert sorted(df.trial_id) == sorted(plan.trial_ids())
    points = list(range(100, 1001, 100))

    def replay(trials):
        sched = ASHAScheduler(time_attr="step", metric="score", mode="min", max_t=1000, grace_period=100,
                              reduction_factor=3)
        out = {}
        for t in trials:
            records, status = simulate(t.config, points, "fd")
            sched.on_trial_add(None, t)
            best, stop = math.inf, None
            for i, r in enumerate(records):
                best = min(best, r["fd"])
                if i < len(records) - 1 and sched.on_trial_result(None, t, {"step": r["step"], "score": best}) \
                        == TrialScheduler.STOP:
                    stop = (r["step"], best)
                    break
            if stop is None:
                sched.on_trial_complete(None, t, {"step": records[-1]["step"], "score": best})
                out[t.trial_id] = (status, records[-1]["step"])
            else:
                out[t.trial_id] = ("stopped", stop[0])
        return out

    rows = {r.trial_id: r for r in df.itertuples()}
    configs = {t: yaml.safe_load(rows[t].config) for t in rows}
    by_cell = {c.id: [SimpleNamespace(trial_id=t, config=configs[t]) for t in sorted(rows)
                      if configs[t]["cell"] == c.id] for c in plan.cells}
    expected = {k: v for trials in by_cell.values() for k, v in replay(trials).items()}
    assert {t: (r.status, r.steps) for t, r in rows.items()} == expected
    for cell in by_cell:
        statuses = [expected[t.trial_id][0] for t in by_cell[cell]]
        assert "stopped" in statuses and statuses.count("stopped") < len(statuses), cell
    # a global scheduler over both cells (in the order they ran) would decide differently
    order = [t for pair in zip(*by_cell.values()) for t in pair]
    assert replay(order) != expected
    for t, r in rows.items():
        if r.status == "stopped":
            records, _ = simulate(configs[t], points, "fd")
            reached = [x for x in records if x["step"] <= r.steps]
            assert r.score == pytest.approx(min(x["fd"] for x in reached), rel=1e-12)
            assert r.train_seconds == pytest.approx(reached[-1]["seconds"])
            assert sorted(ev[ev.trial_id == t].step) == [x["step"] for x in reached]
    # status shows them; resume runs nothing again and keeps them stopped
    status = subprocess.run(["gansweep", "status", str(study_dir)], capture_output=True, text=True, timeout=120)
    assert status.returncode == 0 and "stopped" in status.stdout, status.stderr
    proc = subprocess.run(["gansweep", "resume", str(study_dir)], capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    again = pd.read_parquet(study_dir / "results" / "trials")
    assert {t: (r.status, r.steps) for t, r in zip(again.trial_id, again.itertuples())} == \
        {t: (r.status, r.steps) for t, r in rows.items()}


@pytest.mark.slow
def test_real_training_stopped_trials_keep_the_generator_of_their_best_evaluation(tmp_path, ray_head):
    """Real ring8 training: Tune stops trials after an evaluation report, so the worker keeps the
    generator at each improvement before it reports; the stored one is the stopped row's score."""
    import json

    import pandas as pd

    from gansweep.store.generators import load_generator

    data = study_dict({"kind": "asha", "grace_steps": 40, "reduction": 4}, trials=6, steps=200, eval_every=40,
                      metrics={"primary": "fd", "samples": 500},
                      resources={"cpu": 1})
    data["training"].update(batch_size=64, z_dim=8, width=32)
    data["search"][0]["space"] = {"lr": {"low": 1e-5, "high": 1e-2, "log": True}}
    path = write(tmp_path, data)
    proc = subprocess.run(["gansweep", "run", str(path), "--out", str(tmp_path / "runs"), "--max-concurrent", "1",
                           "--address", ray_head], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "RAY_AUTH_MODE": "token"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    study_dir = tmp_path / "runs" / "stop"
    df = pd.read_parquet(study_dir / "results" / "trials")
    ev = pd.read_parquet(study_dir / "results" / "evals")
    stopped = df[df.status == "stopped"]
    assert len(stopped) >= 2, df[["trial_id", "status", "steps", "score"]]
    for r in stopped.itertuples():
        mine = ev[ev.trial_id == r.trial_id].sort_values("step")
        assert mine.step.max() == r.steps < 200
        assert r.score == pytest.approx(mine.fd.min()) == pytest.approx(r.fd)  # the row is the scored evaluation
        g = load_generator(study_dir, r.trial_id)
        assert g.score == pytest.approx(r.score) and g.step == int(mine.step[mine.fd.idxmin()])
        assert json.loads(r.config)["trial_id"] == r.trial_id


@pytest.mark.slow
def test_ctrl_c_then_resume_keeps_stopped_trials_stopped_and_the_rungs(tmp_path, ray_head):
    """Interrupted mid-study and resumed (Tune's experiment restored): what was stopped stays stopped,
    every trial is stored once, and trials after the resume are still stopped within their cell.
    The driver joins a running Ray (the shared head), as on a cluster."""
    import os
    import signal
    import time

    import pandas as pd

    path = write(tmp_path, study_dict({"kind": "asha", "grace_steps": 100}, trials=40))
    study_dir = tmp_path / "runs" / "stop"
    join, env = ["--address", ray_head], {**os.environ, "RAY_AUTH_MODE": "token"}
    proc = subprocess.Popen(["gansweep", "run", str(path), "--out", str(tmp_path / "runs"), "--dry-run", *join],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True, env=env)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list((study_dir / "results" / "trials").glob("*.parquet"))) < 10:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err.decode()[-2000:]
    before = pd.read_parquet(study_dir / "results" / "trials").set_index("trial_id")
    assert 0 < len(before) < 80
    proc = subprocess.run(["gansweep", "resume", str(study_dir), *join], capture_output=True, text=True, timeout=400,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = pd.read_parquet(study_dir / "results" / "trials").set_index("trial_id")
    plan = build_plan(load_study(path), weights=False)
    assert sorted(after.index) == sorted(plan.trial_ids())
    cols = ["status", "steps", "score"]
    pd.testing.assert_frame_equal(after.loc[before.index, cols], before[cols])
    new = after.drop(before.index)
    assert (new.status == "stopped").any() and (after.status == "stopped").groupby(after.cell).any().all()


def test_a_study_with_stopping_round_trips_through_study_yaml(tmp_path):
    from gansweep.driver.guard import check_resumable
    from gansweep.study.load import dump_study, parse_yaml, study_from_data

    data = study_dict({"kind": "median", "grace_steps": 300, "min_samples": 5},
                      more=[{"strategy": "table1", "stopping": {"kind": "asha", "reduction": 2.5}},
                            {"strategy": "gp", "rounds": 2, "space": SPACE, "stopping": {"kind": "none"}}])
    study = study_from_data(data, "s.yaml")
    again = study_from_data(parse_yaml(dump_study(study), "study.yaml"), "study.yaml")
    assert again == study and check_resumable(study, again) == []
    assert [type(e.stopping).__name__ for e in again.search] == ["MedianStopping", "AshaStopping", "NoStopping"]
