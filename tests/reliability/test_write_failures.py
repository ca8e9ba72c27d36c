"""A results write that fails (a full disk) never costs a trial: the error is shown, resume finishes.

Tune saves a trial as finished whether or not gansweep stored it, so a failed write must keep
Tune's saved experiment from being restored (it would never run that trial again). These tests
fail the store's writes from a chosen one on, in-process, with dry-run trials.
"""

from __future__ import annotations

import errno
import os
import shutil

import pytest

from gansweep.store import studydir
from gansweep.store import parquet as store_mod
from gansweep.store import read_trials, stored_trial_ids

from _reliab import SPACE, Drivers, check_complete, fault_env, wait_for, write_study

pytestmark = pytest.mark.slow

TRIALS = 12  # 4 cells x 3
WRITES_PER_TRIAL = 2  # its row and its evaluations


def _full_disk_after(monkeypatch, trials: int) -> None:
    real, calls = store_mod.pq.write_table, [0]

    def write_table(table, where, **kw):
        calls[0] += 1
        if calls[0] > trials * WRITES_PER_TRIAL:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(table, where, **kw)

    monkeypatch.setattr(store_mod.pq, "write_table", write_table)


def _study(tmp_path):
    return write_study(tmp_path, search=[{"strategy": "random", "trials": 3, "space": SPACE}]), tmp_path / "runs"


@pytest.mark.parametrize("checkpoint_every_step", [False, True], ids=["last-trial", "tune-saves-each-step"])
def test_a_failed_write_is_shown_and_resume_runs_the_trial(tmp_path, monkeypatch, cli, checkpoint_every_step):
    if checkpoint_every_step:  # Tune saves its experiment right after the failed write, as late in a study
        monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "0")
    study_file, runs = _study(tmp_path)
    stored = TRIALS - 1 if not checkpoint_every_step else 5
    _full_disk_after(monkeypatch, stored)
    code, out, err = cli("run", study_file, "--out", runs, "--dry-run")
    assert code == 1, (out, err)
    assert "cannot write results (No space left on device)" in err and "Traceback" not in err
    assert len(read_trials(runs / "rel")) == stored
    monkeypatch.undo()
    code, out, err = cli("resume", runs / "rel")
    assert code == 0, err
    check_complete(study_file, runs / "rel")


def test_resume_runs_an_unstored_trial_even_when_the_stale_mark_could_not_be_written(tmp_path, monkeypatch, cli):
    study_file, runs = _study(tmp_path)
    _full_disk_after(monkeypatch, TRIALS - 1)

    def full(self, reason):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.meta_file))

    monkeypatch.setattr(studydir.StudyDir, "mark_tune_stale", full)
    code, _, err = cli("run", study_file, "--out", runs, "--dry-run")
    assert code == 1 and "cannot write results" in err
    monkeypatch.undo()
    code, out, err = cli("resume", runs / "rel")  # Tune holds the 12th as finished; the store does not
    assert code == 0, err
    check_complete(study_file, runs / "rel")


def test_a_full_disk_while_setting_damaged_files_aside_is_one_line_and_resume_then_finishes(
        tmp_path, monkeypatch, cli):
    study_file, runs = _study(tmp_path)
    assert cli("run", study_file, "--out", runs, "--dry-run")[0] == 0
    sorted((runs / "rel" / "results" / "trials").glob("*.parquet"))[0].write_bytes(b"PAR1 garbage")
    real = studydir._atomic_text

    def full(path, text):
        if path.name == studydir.META_FILE:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, text)

    monkeypatch.setattr(studydir, "_atomic_text", full)
    code, out, err = cli("resume", runs / "rel")
    assert code == 1 and "Traceback" not in err, (out, err)
    assert "gansweep.json: cannot write (No space left on device)" in err
    monkeypatch.undo()
    code, out, err = cli("resume", runs / "rel")
    assert code == 0, err
    check_complete(study_file, runs / "rel")


def test_a_moved_study_directory_resumes_where_it_is_now(tmp_path, ray_head):
    """Killed on a laptop (its own Ray: the fault hook reaches its workers), moved, resumed on a
    cluster (the shared head): nothing of the old path is needed."""
    study_file = write_study(tmp_path, search=[{"strategy": "random", "trials": 8, "space": SPACE}])
    old, new = tmp_path / "old", tmp_path / "new"
    drivers, joined = Drivers(), Drivers(ray_head)
    try:
        proc = drivers.start("run", str(study_file), "--out", str(old), "--dry-run",
                             env=fault_env({"block": "*-0007"}))  # never finishes on its own
        assert wait_for(lambda: (old / "rel" / "results").is_dir() and len(stored_trial_ids(old / "rel")) >= 8, 240, 0.5)
        drivers.kill(proc)
        shutil.move(str(old), str(new))
        code, out, err = joined.run("resume", str(new / "rel"), timeout=300)
    finally:
        drivers.close()
        joined.close()
    assert code == 0, err[-2000:]
    assert not old.exists()  # nothing written where the study used to be
    check_complete(study_file, new / "rel", faults={})
