"""The driver end to end with synthetic trials: Ray Tune, searchers, store, resume, refusals."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gansweep.store import read_trials
from gansweep.study import build_plan, load_study
from gansweep.trial.synthetic import simulate
from gansweep.trial.worker import best_so_far

pytestmark = pytest.mark.slow

STUDY = {
    "name": "dry",
    "grid": {"loss": ["ns", "wgan"], "penalty": ["none", "gp"]},
    "training": {"steps": 1000, "eval_every": 250},
    "search": [
        {"strategy": "random", "trials": 15,
         "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}, "beta1": {"low": 0.0, "high": 1.0},
                   "penalty_weight": {"low": 0.1, "high": 100.0, "log": True}}},
        {"strategy": "table1"},
        {"strategy": "gp", "rounds": 3, "per_round": 5,
         "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}, "n_disc": {"choices": [1, 5]}}},
    ],
}


def write_study(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**STUDY, **changes}))
    return path


def check_complete(study_file: Path, study_dir: Path) -> pd.DataFrame:
    """Every planned trial stored exactly once, with the score its synthetic trial gives."""
    plan = build_plan(load_study(study_file))
    df = pd.read_parquet(study_dir / "results" / "trials")
    assert sorted(df.trial_id) == sorted(plan.trial_ids())
    assert df.trial_id.is_unique
    settings_points = list(range(250, 1000, 250)) + [1000]
    for row in df.itertuples():
        config = json.loads(row.config)
        records, status = simulate(config, settings_points, "fd")
        assert row.status == status, row.trial_id
        if status == "completed":
            assert row.score == pytest.approx(best_so_far(records, "fd"), rel=1e-12)
    ev = pd.read_parquet(study_dir / "results" / "evals")
    assert set(ev.trial_id) <= set(df.trial_id)
    return df


def test_dry_run_end_to_end(cli, tmp_path, monkeypatch):
    # a GPU study rehearsed on this CPU-only machine: dry-run trials ask for one CPU, no GPU
    study_file = write_study(tmp_path, resources={"gpu": 1, "cpu": 4}, grid={"loss": ["ns"], "penalty": ["none", "gp"]})
    code, out, err = cli("run", study_file, "--out", tmp_path / "runs", "--dry-run")
    assert code == 0, err
    study_dir = tmp_path / "runs" / "dry"
    df = check_complete(study_file, study_dir)
    assert set(df.status) <= {"completed", "diverged"}
    gp = df[df.strategy == "gp"]
    assert sorted(gp["round"].unique()) == [0, 1, 2] and (gp.groupby(["cell", "round"]).size() == 5).all()
    stored = read_trials(study_dir)
    from gansweep.search.specs import initial_design_label

    own = [initial_design_label(s) if r == 0 else s for s, r in zip(stored.strategy, stored["round"].fillna(-1))]
    assert list(stored.suggested_by) == own  # no GP round fell back to random draws here
    assert (study_dir / "study.yaml").is_file() and (study_dir / "tune").is_dir()
    code, out, _ = cli("status", study_dir)
    assert code == 0 and f"{len(df)}/{len(df)} trials stored" in out.replace("\n", " ")
    # a second run refuses and points to resume; resume of a finished study does nothing new
    code, _, err = cli("run", study_file, "--out", tmp_path / "runs", "--dry-run")
    assert code == 2 and "gansweep resume" in err
    stored = (study_dir / "results").rglob("*")
    before = {p: p.stat().st_mtime_ns for p in stored}
    monkeypatch.setattr("gansweep.driver.run._fit", None)  # every trial stored: Tune and Ray are not started
    code, out, err = cli("resume", study_dir)
    assert code == 0, err
    assert len(pd.read_parquet(study_dir / "results" / "trials")) == len(df)
    assert {p: p.stat().st_mtime_ns for p in (study_dir / "results").rglob("*")} == before  # nothing rewritten
    assert f"{len(df)}/{len(df)} trials stored" in " ".join(out.split())


def test_a_study_this_machine_cannot_hold_is_refused_before_anything_is_written(cli, tmp_path):
    study_file = write_study(tmp_path, resources={"gpu": 1, "cpu": 1})
    code, out, err = cli("run", study_file, "--out", tmp_path / "runs")
    assert code == 2, (out, err)
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert f"{study_file}: resources: a trial needs 1 CPUs and 1 GPUs, but this machine has" in err
    assert not (tmp_path / "runs").exists()


def test_a_cluster_without_room_yet_gets_enough_trials_for_its_autoscaler(monkeypatch, caplog):
    import ray

    from gansweep.driver.run import AUTOSCALE_CONCURRENCY, default_concurrency

    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 2.0})  # head only, GPU workers to come
    res = {"cpu": 4.0, "gpu": 1.0}
    assert default_concurrency(res, 7680, "s.yaml", cluster=True) == AUTOSCALE_CONCURRENCY
    assert default_concurrency(res, 10, "s.yaml", cluster=True) == 10
    assert "autoscaling" in caplog.text
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 64.0, "GPU": 8.0})
    assert default_concurrency({"cpu": 4.0, "gpu": 0.25}, 7680, "s.yaml", cluster=True) == 16


def test_status_and_resume_refuse_non_study(cli, tmp_path):
    for cmd in ("status", "resume"):
        code, _, err = cli(cmd, tmp_path)
        assert code == 2 and "not a study directory" in err


def _gansweep(*args: str, address: str | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The driver in a new session; with ``address`` it joins that Ray (``--address``), as on a cluster."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    if address:
        args, env["RAY_AUTH_MODE"] = (*args, "--address", address), "token"
    return subprocess.Popen([sys.executable, "-m", "gansweep.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


# Studies that are killed: two cells, each with random, Table 1 and GP entries (a kill may land in a
# GP round); two cells cost half the trials and GP fits of four and prove the same. One trial at a
# time: each driver starts one worker, not two (about 2.4 CPU-seconds each).
ONE = ("--max-concurrent", "1")
KILLED = {"grid": {"loss": ["ns", "wgan"], "penalty": ["gp"]},
          "search": [dict(STUDY["search"][0], trials=24), *STUDY["search"][1:]]}


def test_sigkill_the_driver_repeatedly_then_resume(tmp_path):
    """SIGKILL at random moments, resume each time: the plan completes, nothing twice, nothing changed.
    The driver's own Ray dies with it (a laptop); tests/reliability/test_resume.py kills drivers on a
    cluster that stays up, at chosen points of storing and compacting."""
    study_file = write_study(tmp_path, **KILLED)
    runs = tmp_path / "runs"
    study_dir = runs / "dry"
    # Three trials each hold the first driver that reaches them (the test-only fault hook's block_once),
    # so each of the three drivers killed at a random moment has not finished, however fast the machine;
    # the last resume runs without the hook.
    (tmp_path / "markers").mkdir()
    hold = {"PYTHONPATH": str(Path(__file__).parent / "faults"), "GANSWEEP_TEST_FAULTS": json.dumps(
        {"block_once": "*.ns.gp.none-random-000[369]", "dir": str(tmp_path / "markers")})}
    rng = random.Random(0)
    kills = 0
    proc = _gansweep("run", str(study_file), "--out", str(runs), "--dry-run", *ONE, env=hold)
    for kill in range(3):  # each kill costs a local Ray's start (about 5 CPU-seconds)
        deadline = time.monotonic() + 120
        while not (study_dir / "study.yaml").exists() and time.monotonic() < deadline:
            time.sleep(0.2)  # a driver killed before it created the study has nothing to resume
        time.sleep(rng.uniform(1.0, 8.0))  # in Ray's start, Tune's, a GP round, storing, a held trial
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills += 1
        proc = _gansweep("resume", str(study_dir), *ONE, env=hold if kill < 2 else None)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    assert kills == 3
    check_complete(study_file, study_dir)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path, ray_head):
    """Ctrl-C of a driver on a cluster (the shared head); the local case is the SIGKILL test above."""
    study_file = write_study(tmp_path, **KILLED)
    study_dir = tmp_path / "runs" / "dry"
    proc = _gansweep("run", str(study_file), "--out", str(tmp_path / "runs"), "--dry-run", *ONE, address=ray_head)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not any((study_dir / "results" / "trials").glob("*.parquet")):
        time.sleep(0.2)  # stop it mid-study: some trials stored
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: SIGINT to the foreground group
    _, stderr = proc.communicate(timeout=120)
    text = stderr.decode()
    assert proc.returncode == 1, text[-2000:]
    assert f"not finished: continue with 'gansweep resume {study_dir}'" in text and "Traceback" not in text
    assert "Tuner.restore" not in text  # Tune's own advice would skip gansweep's checks
    stored = len(pd.read_parquet(study_dir / "results" / "trials"))
    assert 0 < stored < len(build_plan(load_study(study_file)).trial_ids())
    proc = _gansweep("resume", str(study_dir), *ONE, address=ray_head)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr.decode()[-2000:]
    check_complete(study_file, study_dir)


def test_a_study_whose_every_trial_failed_exits_non_zero(tmp_path):
    study_file = write_study(tmp_path, grid={"loss": ["ns"], "penalty": ["none", "gp"]},
                             search=[dict(STUDY["search"][0], trials=2)], failure={"max_failures": 0})
    faults = Path(__file__).parent / "faults"  # the test-only fault hook (tests/faults/sitecustomize.py)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(faults),
           "GANSWEEP_TEST_FAULTS": json.dumps({"raise": "*"})}
    proc = subprocess.run([sys.executable, "-m", "gansweep.cli", "run", str(study_file), "--out",
                           str(tmp_path / "runs"), "--dry-run"], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "4/4 trials stored (4 failed)" in " ".join(proc.stdout.split())
    assert "every trial failed: their errors are in 'gansweep status" in proc.stderr
