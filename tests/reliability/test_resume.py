"""Driver crashes and resume: repeated SIGKILL, a safely edited study, damaged results, a full disk."""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gansweep.store import parquet as store_mod
from gansweep.store import read_trials, stored_trial_ids

from _reliab import (SPACE, Drivers, check_complete, snapshot, wait_for,
                     write_study)

pytestmark = pytest.mark.slow


@pytest.fixture
def drivers(ray_head):
    d = Drivers(ray_head)  # drivers on a cluster: a kill takes the driver, Ray stays up
    yield d
    d.close()


def _stored(study_dir: Path) -> int:
    try:
        return len(stored_trial_ids(study_dir))
    except Exception:  # a damaged part would be a failure of the check below, not of this count
        return 0


def test_sigkill_the_driver_at_least_5_times_while_it_stores_and_compacts(tmp_path, drivers):
    """Kill -9 the driver (on a cluster: Ray stays up) 6 times, each a random few trials after it started storing; resume."""
    study_file = write_study(tmp_path, search=[{"strategy": "random", "trials": 10, "space": SPACE},
                                               {"strategy": "table1"}])  # 112 trials
    runs, study_dir = tmp_path / "runs", tmp_path / "runs" / "rel"
    env = {"GANSWEEP_STORE_COMPACT_AT": "7"}  # a compaction every 7 trials: kills land inside them too
    one = ("--max-concurrent", "1")  # each driver starts one worker, not two: 7 drivers, 2.4 CPU-s a worker
    rng = random.Random(8)
    kills, at = 0, []
    proc = drivers.start("run", str(study_file), "--out", str(runs), "--dry-run", *one, env=env)
    while kills < 6:
        target = _stored(study_dir) + rng.randint(3, 14)
        wait_for(lambda: proc.poll() is not None or _stored(study_dir) >= target, timeout=180, every=0.05)
        time.sleep(rng.uniform(0.0, 0.3))
        if proc.poll() is not None:
            break
        drivers.kill(proc)
        kills += 1
        at.append(_stored(study_dir))
        proc = drivers.start("resume", str(study_dir), *one, env=env)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err.decode()[-3000:]
    assert kills >= 5, (kills, at)
    df = check_complete(study_file, study_dir)
    assert len(df) == 112
    assert not list((study_dir / "results").rglob(".tmp-*"))
    parts = [p for p in (study_dir / "results" / "trials").iterdir() if p.name.startswith("part-")]
    assert len(parts) >= 112 // 7 - 6
    print(f"{kills} kills at {at} stored trials; 112/112 stored once, in {len(parts)} parts")


# -- resume after an edit, after damage -----------------------------------------------------------------

@pytest.fixture(scope="module")
def finished(tmp_path_factory, ray_head):
    """A finished 24-trial dry-run study, stored as 2 part files and 4 small files."""
    tmp = tmp_path_factory.mktemp("finished")
    study_file = write_study(tmp, search=[{"strategy": "random", "trials": 6, "space": SPACE}])
    d = Drivers(ray_head)
    try:
        code, out, err = d.run("run", str(study_file), "--out", str(tmp / "runs"), "--dry-run",
                               env={"GANSWEEP_STORE_COMPACT_AT": "10"})
    finally:
        d.close()
    assert code == 0, err[-3000:]
    return tmp / "runs" / "rel"


def _copy(finished: Path, tmp_path: Path) -> Path:
    target = tmp_path / "runs" / "rel"
    shutil.copytree(finished, target)
    (target / ".lock").unlink(missing_ok=True)
    return target


def test_a_safe_edit_runs_only_the_new_trials(finished, tmp_path, drivers):
    study_dir = _copy(finished, tmp_path)
    before = read_trials(study_dir)
    data = yaml.safe_load((study_dir / "study.yaml").read_text())
    data["search"][0]["trials"] = 9
    data["search"].append({"strategy": "random", "name": "extra", "trials": 2, "space": SPACE})
    data["training"]["timeout"] = 600.0
    (study_dir / "study.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, err = drivers.run("resume", str(study_dir))
    assert code == 0, err[-3000:]
    assert "study.yaml changed safely" in err
    after = check_complete(study_dir / "study.yaml", study_dir)
    assert len(after) == 4 * 9 + 4 * 2
    now = read_trials(study_dir)  # read as `before` was (check_complete reads the raw files)
    old = now[now.trial_id.isin(before.trial_id)].sort_values("trial_id", ignore_index=True)
    pd.testing.assert_frame_equal(old, before)  # the 24 stored trials: not run again, not changed
    meta = json.loads((study_dir / "gansweep.json").read_text())
    assert len(meta["accepted_changes"]) == 1 and "tune_stale" not in meta
    code, out, err = drivers.run("resume", str(study_dir))  # and again: nothing to do, nothing changes
    assert code == 0 and "changed safely" not in err
    assert len(read_trials(study_dir)) == 44


def test_resume_sets_damaged_files_aside_and_runs_their_trials_again(finished, tmp_path, drivers, cli):
    study_dir = _copy(finished, tmp_path)
    trials = study_dir / "results" / "trials"
    small = sorted(p for p in trials.iterdir() if not p.name.startswith("part-"))[0]
    part = sorted(p for p in trials.iterdir() if p.name.startswith("part-"))[0]
    small.write_bytes(small.read_bytes()[:64])  # truncated
    evals_part = study_dir / "results" / "evals" / part.name
    evals_part.write_bytes(b"garbage" * 100)  # a damaged evals part: its 10 trials lose their evaluations
    code, out, err = cli("status", study_dir)
    assert code == 2 and "damaged results file" in err
    code, out, err = drivers.run("resume", str(study_dir))
    assert code == 0, err[-3000:]
    assert "damaged results file(s) moved to" in err
    check_complete(study_dir / "study.yaml", study_dir)
    quarantine = next((study_dir / "results" / "quarantine").iterdir())
    reasons = (quarantine / "REASONS.txt").read_text()
    assert f"trials/{small.name}" in reasons and f"evals/{part.name}" in reasons
    assert sorted(p.name for p in (quarantine / "trials").iterdir()) == sorted([small.name, part.name])
    code, out, err = cli("status", study_dir)
    assert code == 0 and "24/24 trials stored" in " ".join(out.split())


# -- a full disk in the middle of a study ---------------------------------------------------------------

def test_full_disk_mid_study_stops_with_a_clear_error_and_resume_finishes(tmp_path, monkeypatch, cli):
    """In-process driver; the 8th trial cannot be written: exit 1, one clear line, the 7 stored intact."""
    study_file = write_study(tmp_path, search=[{"strategy": "random", "trials": 6, "space": SPACE}])
    runs, study_dir = tmp_path / "runs", tmp_path / "runs" / "rel"
    real, calls = store_mod.pq.write_table, [0]

    def filling(table, where, **kw):
        calls[0] += 1
        if calls[0] > 14:  # two files a trial
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(table, where, **kw)

    monkeypatch.setattr(store_mod.pq, "write_table", filling)
    code, out, err = cli("run", study_file, "--out", runs, "--dry-run")
    assert code == 1, (out, err)
    line = next(ln for ln in err.splitlines() if ln.startswith("error:"))
    assert "No space left on device" in line and "results already stored are intact" in line
    assert "gansweep resume" in line and "Traceback" not in err
    stored = read_trials(study_dir)
    assert len(stored) == 7 and not list((study_dir / "results").rglob(".tmp-*"))
    before = snapshot(study_dir / "results")
    monkeypatch.undo()
    code, out, err = cli("resume", study_dir)
    assert code == 0, err
    check_complete(study_file, study_dir)
    after = snapshot(study_dir / "results")
    assert all(after.get(k) == v for k, v in before.items())  # the 7 files are byte for byte the same
