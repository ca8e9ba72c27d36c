"""SIGTERM and SIGHUP end the driver as Ctrl-C does.

Kubernetes and Slurm send SIGTERM before SIGKILL; a closed terminal or SSH session sends SIGHUP
to the foreground process group. Either one used to end the driver without the resume line:
SIGTERM with Ray's native stack dump ("*** SIGTERM received ***") and signal 15, SIGHUP silently
with 129. Now the driver stops Tune, Ray shuts down, the CLI prints how to resume and exits 1;
``gansweep resume`` then finishes with nothing lost or duplicated.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from _reliab import SPACE, Drivers, check_complete, fault_env, wait_for, write_study

pytestmark = pytest.mark.slow

SEARCH = [{"strategy": "random", "trials": 3, "space": SPACE}]  # 12 trials, 4 cells


def _stop_mid_study(tmp_path: Path, drivers: Drivers, sig: signal.Signals, group: bool) -> tuple[Path, Path, str]:
    """Signal the driver of a study once two trials are stored; returns (study file, study dir, stderr).

    With its own Ray, the third trial of each cell holds its first attempt (the test-only
    ``block_once`` fault), so the driver is mid-study however fast the machine. On a cluster the
    workers do not see the fault hook (they are the cluster's): 24 trials, one at a time."""
    markers = tmp_path / "markers"
    markers.mkdir()
    if drivers.address:
        study_file = write_study(tmp_path, grid={"loss": ["ns", "wgan"], "penalty": ["gp"]},
                                 search=[{**SEARCH[0], "trials": 12}])
        hold = None
    else:
        study_file = write_study(tmp_path, search=SEARCH)
        hold = fault_env({"block_once": "*-random-0002", "dir": str(markers)})
    study_dir = tmp_path / "runs" / "rel"
    proc = drivers.start("run", str(study_file), "--out", str(tmp_path / "runs"), "--dry-run",
                         "--max-concurrent", "1", env=hold)
    trials = study_dir / "results" / "trials"
    assert wait_for(lambda: proc.poll() is not None or len(list(trials.glob("*.parquet"))) >= 2, timeout=180,
                    every=0.05)
    if hold:
        assert wait_for(lambda: proc.poll() is not None or any(markers.iterdir()), timeout=60)
        time.sleep(0.5)
    assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
    if group:
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=180)
    text = err.decode(errors="replace")
    assert proc.returncode == 1, (proc.returncode, text[-3000:])
    return study_file, study_dir, text


def _check_stopped_as_ctrl_c(study_file: Path, study_dir: Path, text: str, drivers: Drivers) -> None:
    assert f"not finished: continue with 'gansweep resume {study_dir}'" in text, text[-3000:]
    assert "received at time" not in text and "*** SIG" not in text, text[-3000:]  # Ray's native stack dump
    assert "Traceback" not in text and "Tuner.restore" not in text, text[-3000:]
    stored = len(list((study_dir / "results" / "trials").glob("*.parquet")))
    assert 2 <= stored < 24
    code, out, err = drivers.run("resume", str(study_dir))
    assert code == 0, err[-3000:]
    check_complete(study_file, study_dir)  # each planned trial once, with its own score


@pytest.fixture
def cluster_drivers(ray_head):
    d = Drivers(ray_head)  # a cluster's driver: the signal reaches the driver, Ray stays up
    yield d
    d.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_cluster_driver_stops_on_a_signal_as_on_ctrl_c(tmp_path, cluster_drivers, sig):
    study_file, study_dir, text = _stop_mid_study(tmp_path, cluster_drivers, sig, group=True)
    assert f"{sig.name} received: stopping as on Ctrl-C" in text
    _check_stopped_as_ctrl_c(study_file, study_dir, text, cluster_drivers)


@pytest.mark.parametrize("sig, group", [(signal.SIGTERM, False), (signal.SIGHUP, True)],
                         ids=["SIGTERM-to-the-driver", "SIGHUP-to-the-group"])
def test_a_driver_with_its_own_ray_stops_on_a_signal_as_on_ctrl_c(tmp_path, ray_head, monkeypatch, sig, group):
    """Its own local Ray: SIGTERM to the driver (Kubernetes signals the container's first process),
    SIGHUP to its process group (a terminal closing); Ray's processes are not killed under the
    driver, so it stops Tune and says how to resume. The resume joins the test's Ray (cheaper)."""
    local = Drivers()
    try:
        with monkeypatch.context() as m:  # not the test's Ray, which an in-process ray.init advertises
            for name in ("RAY_ADDRESS", "RAY_AUTH_MODE"):
                m.delenv(name, raising=False)
            study_file, study_dir, text = _stop_mid_study(tmp_path, local, sig, group=group)
    finally:
        local.close()
    resumer = Drivers(ray_head)
    try:
        _check_stopped_as_ctrl_c(study_file, study_dir, text, resumer)
    finally:
        resumer.close()


# -- campaign: resumed from another working directory ------------------------------------------------------

def _fake_finished_store(study_file: Path, study_dir: Path) -> None:
    """A store that holds every planned trial: what another study of the same name may hold."""
    from gansweep.store import TrialStore
    from gansweep.study import build_plan, load_study

    plan = build_plan(load_study(study_file))
    store = TrialStore(study_dir / "results", ["fd"], plan.hp_names(), compact_at=0, fsync=False)
    for tid in plan.trial_ids():
        store.write({"trial_id": tid, "cell": tid.rsplit("-", 2)[0], "strategy": "random", "status": "completed",
                     "score": 1.0, "fd": 1.0})


def test_a_study_run_with_a_relative_out_resumes_from_another_directory(tmp_path, monkeypatch):
    """``gansweep run study.yaml --out runs`` in one directory, SIGKILLed mid-study, resumed by its
    absolute path from another directory that has a ``runs/rel`` of its own. Tune's restored
    searcher read the store at ``runs/rel`` relative to the working directory, took every trial
    for done, and every resume ended 'not finished' (exit 1) with the held trials never run."""
    import subprocess
    import sys

    from _reliab import ROOT

    first, other = tmp_path / "first", tmp_path / "other"
    first.mkdir()
    markers = tmp_path / "markers"
    markers.mkdir()
    study_file = write_study(first, search=SEARCH)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_ADDRESS", "RAY_AUTH"))}
    env.update(PYTHONUNBUFFERED="1", **fault_env({"block_once": "*-random-0002", "dir": str(markers)}))
    proc = subprocess.Popen([sys.executable, "-m", "gansweep.cli", "run", "study.yaml", "--out", "runs", "--dry-run",
                             "--max-concurrent", "1"], cwd=first, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert wait_for(lambda: proc.poll() is not None or any(markers.iterdir()), timeout=180)
        time.sleep(1.0)  # Tune saves its experiment, the searcher in it
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
    finally:
        Drivers.kill(proc)  # SIGKILL: the driver (its Ray ends with it)
    study_dir = first / "runs" / "rel"
    stored = len(list((study_dir / "results" / "trials").glob("*.parquet")))
    assert 1 <= stored < 12
    _fake_finished_store(study_file, other / "runs" / "rel")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_ADDRESS", "RAY_AUTH"))}
    env.update(PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "gansweep.cli", "resume", str(study_dir)], cwd=other, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    check_complete(study_file, study_dir)
