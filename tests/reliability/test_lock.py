"""Two drivers on one study directory: the second refuses, never two writers."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from gansweep.store.studydir import StudyDir, StudyLock
from gansweep.errors import GansweepError
from gansweep.study import study_from_data

from _reliab import Drivers, SPACE, check_complete, snapshot, study_data, wait_for, write_study

HOLDER = r"""
import fcntl, sys, time
f = open(sys.argv[1], "a+")
fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
f.seek(0); f.truncate(); f.write("4242"); f.flush()
print("locked", flush=True)
time.sleep(120)
"""


@pytest.fixture
def study_dir(tmp_path):
    sd = StudyDir(tmp_path / "runs" / "rel")
    sd.create(study_from_data(study_data(), "s.yaml"), {"dry_run": True})
    return sd


def hold(path):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE,
                            start_new_session=True)
    assert proc.stdout.readline().strip() == b"locked"
    return proc


def test_a_second_driver_refuses(study_dir, cli, tmp_path):
    holder = hold(study_dir.path / ".lock")
    try:
        before = snapshot(study_dir.path)
        code, _, err = cli("resume", study_dir.path)
        assert code == 2 and "another gansweep driver (pid 4242) is running this study" in err
        study_file = tmp_path / "study.yaml"
        study_file.write_text((study_dir.study_file).read_text())
        code, _, err = cli("run", study_file, "--out", tmp_path / "runs", "--dry-run", "--force", "--yes")
        assert code == 2 and "another gansweep driver" in err  # --force never deletes a running study
        assert snapshot(study_dir.path) == before
        with pytest.raises(GansweepError):
            with StudyLock(study_dir.path):
                pass
    finally:
        holder.kill()
        holder.wait()
    with StudyLock(study_dir.path):  # the kernel released the dead holder's lock
        pass


@pytest.mark.slow
def test_two_real_drivers_on_one_study(tmp_path, ray_head):
    """A running `gansweep run` holds the lock: `resume` refuses at once; after a kill -9, resume finishes.
    Both join one Ray (the shared head), as two drivers on a cluster would."""
    study_file = write_study(tmp_path, grid={"loss": ["ns", "wgan"], "penalty": ["gp"]},
                             search=[{"strategy": "random", "trials": 40, "space": SPACE}])  # 80 trials: seconds
    study_dir = tmp_path / "runs" / "rel"
    drivers = Drivers(ray_head)
    try:
        first = drivers.start("run", str(study_file), "--out", str(tmp_path / "runs"), "--dry-run", "--max-concurrent", "1")
        assert wait_for(lambda: (study_dir / "study.yaml").exists(), timeout=120)
        t0 = time.monotonic()
        code, out, err = drivers.run("resume", str(study_dir), timeout=120)
        assert code == 2 and f"another gansweep driver (pid {first.pid})" in err, err[-2000:]
        assert first.poll() is None
        print(f"second driver refused in {time.monotonic() - t0:.1f} s")
        drivers.kill(first)
        code, out, err = drivers.run("resume", str(study_dir), "--max-concurrent", "1", timeout=400)
        assert code == 0, err[-3000:]
    finally:
        drivers.close()
    check_complete(study_file, study_dir)


def test_a_tune_dir_without_experiment_state_is_not_restored(tmp_path):
    """A driver killed while Tune started leaves tune/tuner.pkl but no experiment state; Tune's
    ``can_restore`` says yes and the restore then failed ('not finished', exit 1, in the test
    above once under load). Resume now starts Tune afresh from the store."""
    from gansweep.driver.run import _has_experiment_state
    from gansweep.store.studydir import StudyDir

    sd = StudyDir(tmp_path / "rel")
    assert not _has_experiment_state(sd)  # no tune/ at all
    (sd.tune_dir).mkdir(parents=True)
    (sd.tune_dir / "tuner.pkl").write_bytes(b"x")
    assert not _has_experiment_state(sd)
    (sd.tune_dir / "experiment_state-2026-11-24_01-45-55.json").write_text("{}")
    assert _has_experiment_state(sd)
