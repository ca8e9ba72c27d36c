"""Readers while a writer stores and compacts: they try again with back-off, and a read that keeps
failing for a race or the machine is exit code 1 with its cause, never "damaged" (exit code 2)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gansweep.store import parquet as store_mod
from gansweep.store import StoreError, TrialStore, read_evals, read_trials
from gansweep.store.parquet import StoreReadError

from _reliab import ROOT

METRICS, HPS = ["fd"], ["lr"]


def _row(i: int) -> dict:
    return {"trial_id": f"c.x-random-{i:05d}", "cell": "c.x", "strategy": "random", "status": "completed",
            "score": float(i + 1), "fd": float(i + 1), "hp_lr": 1e-3, "steps": 10}


# -- the back-off, with a reader that fails N times -------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s

    def __call__(self) -> float:
        return self.now


def _failing(n: int):
    calls = [0]

    def attempt():
        calls[0] += 1
        if calls[0] <= n:
            raise store_mod._Retry(f"/x/part-1.parquet vanished while being read (try {calls[0]})")
        return "table"

    return attempt, calls


def test_a_read_that_fails_a_few_times_succeeds_after_growing_jittered_waits():
    clock = Clock()
    attempt, calls = _failing(6)
    assert store_mod._retrying(attempt, Path("/x"), sleep=clock.sleep, clock=clock) == "table"
    assert calls[0] == 7 and len(clock.sleeps) == 6
    bases = [0.05 * 2 ** i for i in range(6)]
    for s, base in zip(clock.sleeps, bases):
        assert 0.5 * min(base, 1.0) <= s <= 1.5 * min(base, 1.0)  # jittered around 50 ms, 100 ms, … ≤ 1 s
    assert clock.now < store_mod.READ_DEADLINE_S


def test_a_read_that_keeps_failing_ends_at_the_deadline_as_exit_1_with_its_cause():
    clock = Clock()
    attempt, calls = _failing(10**6)
    with pytest.raises(StoreReadError) as info:
        store_mod._retrying(attempt, Path("/x"), sleep=clock.sleep, clock=clock)
    assert info.value.exit_code == 1 and not isinstance(info.value, StoreError)
    assert "vanished while being read" in str(info.value) and "\n" not in str(info.value)
    assert clock.now == pytest.approx(store_mod.READ_DEADLINE_S)  # bounded: the last wait is cut to the deadline
    assert 5 < calls[0] < 30 and max(clock.sleeps) <= 1.5


def test_the_jitter_differs_between_readers():
    waits = []
    for _ in range(2):
        clock = Clock()
        store_mod._retrying(_failing(3)[0], Path("/x"), sleep=clock.sleep, clock=clock)
        waits.append(clock.sleeps)
    assert waits[0] != waits[1]


# -- the machine refuses a read: exit 1 with the cause, nothing set aside -----------------------------

def _study(tmp_path: Path) -> Path:
    from gansweep.store.studydir import StudyDir
    from gansweep.study import build_plan, study_from_data
    from gansweep.trial.settings import metric_columns

    from _reliab import study_data

    study = study_from_data(study_data(), "s.yaml")
    plan = build_plan(study)
    sd = StudyDir(tmp_path / "rel")
    sd.create(study, {"dry_run": True})
    store = TrialStore(sd.results_dir, metric_columns(plan), plan.hp_names(), compact_at=4)
    for i, tid in enumerate(plan.trial_ids()[:6]):
        store.write({"trial_id": tid, "cell": tid.rsplit("-", 2)[0], "strategy": "random", "status": "completed",
                     "score": 10.0 + i, "fd": 10.0 + i, "config": json.dumps({"trial_id": tid})},
                    [{"step": 250, "seconds": 1.0, "fd": 20.0 + i}])
    return sd.path


@pytest.mark.parametrize("command", ["status", "resume"])
def test_an_io_error_while_reading_is_exit_1_with_its_cause_and_sets_nothing_aside(tmp_path, monkeypatch, cli,
                                                                                  command):
    study_dir = _study(tmp_path)
    real = Path.read_bytes

    def eio(self):
        if self.suffix == ".parquet":
            raise OSError(errno.EIO, os.strerror(errno.EIO), str(self))
        return real(self)

    monkeypatch.setattr(store_mod, "_fast", lambda *a: None)  # as if the dataset read had failed: look closer
    monkeypatch.setattr(Path, "read_bytes", eio)
    monkeypatch.setattr(store_mod, "READ_DEADLINE_S", 0.3)
    code, out, err = cli(command, study_dir)
    assert code == 1, (out, err)
    line = " ".join(err.split())
    assert "Input/output error" in line and "damaged" not in line and "Traceback" not in err
    assert not (study_dir / "results" / "quarantine").exists()
    monkeypatch.undo()
    code, out, err = cli("status", study_dir)
    assert code == 0 and "6/40 trials stored" in " ".join(out.split()), err


# -- a real writer compacting while readers read ------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys
    from gansweep.store import TrialStore
    store = TrialStore(sys.argv[1], ["fd"], ["lr"], compact_at=3, fsync=False)
    for i in range(int(sys.argv[2])):
        store.write({"trial_id": f"ring8.x-random-{i:05d}", "cell": "ring8.x", "strategy": "random",
                     "status": "completed", "score": float(i + 1), "fd": float(i + 1), "hp_lr": 1e-3},
                    [{"step": s, "seconds": 1.0, "fd": float(i + s)} for s in (5, 10)])
""")


def test_readers_while_a_writer_stores_and_compacts_never_fail(tmp_path):
    """Every read of a study that a writer fills and compacts (every 3 trials) succeeds and never
    sees a stored trial vanish. Trial ids sort after ``part-`` (as a ring8 study's do), so a reader
    opens the small files last, after reading every part: a compaction deletes them meanwhile."""
    n = 600
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / "results"), str(n)], env=env,
                              stderr=subprocess.PIPE, text=True)
    reads, failures, seen = 0, [], 0
    try:
        while writer.poll() is None or reads == 0:
            try:
                trials = read_trials(tmp_path)
                evals = read_evals(tmp_path)
            except (StoreError, StoreReadError) as exc:
                failures.append(str(exc))
                continue
            finally:
                reads += 1
            if trials.empty:
                assert seen == 0
                continue
            assert trials.trial_id.is_unique
            assert len(trials) >= seen  # a reader never sees a stored trial vanish
            seen = len(trials)
            if not evals.empty:
                assert (evals.groupby("trial_id").size() <= 2).all()
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0, writer.stderr.read()[-2000:]
    assert not failures, failures[:3]
    assert reads >= 20, reads
    assert len(read_trials(tmp_path)) == n and len(read_evals(tmp_path)) == 2 * n
