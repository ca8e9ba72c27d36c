"""The store under crashes, full disks and damaged files: nothing stored is lost, nothing half-written is seen."""

from __future__ import annotations

import errno
import math
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from gansweep.store import StoreError, StoreWriteError, TrialStore, read_evals, read_trials, stored_trial_ids
from gansweep.store import parquet as store_mod
from gansweep.store.parquet import damaged_files, quarantine_damaged

from _reliab import ROOT, Crash, crash_at, snapshot

METRICS, HPS = ["fd"], ["lr"]


def row(i: int) -> dict:
    """Trial ``i``'s row: its content is a function of ``i``, so a changed result is detectable."""
    return {"trial_id": f"c.x-random-{i:05d}", "cell": "c.x", "strategy": "random", "status": "completed",
            "score": 1.0 + i / 8, "fd": 1.0 + i / 8, "hp_lr": 1e-4 * (i + 1), "steps": 10, "index": i}


def evals(i: int) -> list[dict]:
    return [{"step": s, "seconds": s / 10, "fd": 1.0 + i / 8 + 10 / s} for s in (10, 20, 30)]


def check(tmp_path: Path, ids: range | list[int]) -> None:
    """Exactly the trials ``ids``, once each, with their own content and their three evaluations."""
    df = read_trials(tmp_path)
    want = sorted(f"c.x-random-{i:05d}" for i in ids)
    assert list(df.trial_id) == want
    for r in df.itertuples():
        i = int(r.trial_id[-5:])
        assert r.score == row(i)["score"] and r.hp_lr == row(i)["hp_lr"]
    ev = read_evals(tmp_path)
    assert len(ev) == 3 * len(want) and set(ev.trial_id) == set(want)
    raw = pd.read_parquet(tmp_path / "results" / "trials")  # plain pandas, as DESIGN.md promises
    assert set(raw.trial_id) == set(want)


def leftovers(tmp_path: Path) -> list[str]:
    return [p.name for p in (tmp_path / "results").rglob(".tmp-*")]


# -- temporary files, partial writes ---------------------------------------------------------------

def test_temporary_files_are_invisible_and_removed_on_open(tmp_path):
    store = TrialStore(tmp_path / "results", METRICS, HPS)
    store.write(row(0), evals(0))
    for d in ("trials", "evals"):  # what a write killed before its rename leaves
        (tmp_path / "results" / d / ".tmp-0123-c.x-random-00001.parquet").write_bytes(b"PAR1 half")
    check(tmp_path, [0])
    TrialStore(tmp_path / "results", METRICS, HPS)
    assert leftovers(tmp_path) == []
    check(tmp_path, [0])


def test_evals_without_their_trial_row_are_invisible_and_removed(tmp_path):
    """A crash between the evals rename and the trial rename: the trial is not stored and runs again."""
    store = TrialStore(tmp_path / "results", METRICS, HPS)
    store.write(row(0), evals(0))
    real = store_mod._atomic_write

    def die_on_trial_file(table, path, fsync=None):
        if path.parent.name == "trials":
            raise KeyboardInterrupt("crash")  # the process dies here
        real(table, path, fsync)

    store_mod._atomic_write = die_on_trial_file
    try:
        with pytest.raises(KeyboardInterrupt):
            store.write(row(1), evals(1))
    finally:
        store_mod._atomic_write = real
    assert (tmp_path / "results" / "evals" / "c.x-random-00001.parquet").exists()
    check(tmp_path, [0])  # readers do not show the uncommitted evaluations
    again = TrialStore(tmp_path / "results", METRICS, HPS)
    assert not (tmp_path / "results" / "evals" / "c.x-random-00001.parquet").exists()
    assert "c.x-random-00001" not in again
    assert again.write(row(1), evals(1))
    check(tmp_path, [0, 1])


WRITER = r"""
import sys
sys.path.insert(0, sys.argv[3])
from gansweep.store import TrialStore
sys.path.insert(0, sys.argv[4])
from test_store_crash import row, evals
store = TrialStore(sys.argv[1], ["fd"], ["lr"], compact_at=int(sys.argv[5]))
for i in range(int(sys.argv[2])):
    if row(i)["trial_id"] not in store:
        store.write(row(i), evals(i))
print("done", flush=True)
"""


def _wait_until_writing(tmp_path: Path, proc: subprocess.Popen) -> None:
    trials = tmp_path / "results" / "trials"
    before = len(list(trials.iterdir())) if trials.is_dir() else 0
    end = time.monotonic() + 60
    while time.monotonic() < end and proc.poll() is None:
        if trials.is_dir() and len(list(trials.iterdir())) > before + 5:
            return
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_while_writing_and_compacting(tmp_path):
    """SIGKILL a writer 6 times at random moments (mid-file, mid-compaction), reopen, go on: every trial once."""
    n, kills, rng = 1500, 0, random.Random(1)
    args = [sys.executable, "-c", WRITER, str(tmp_path / "results"), str(n), str(ROOT), str(Path(__file__).parent),
            "23"]
    env = {**os.environ, "GANSWEEP_STORE_FSYNC": "0"}
    for attempt in range(7):
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            if attempt < 6:
                _wait_until_writing(tmp_path, proc)
                time.sleep(rng.uniform(0.0, 0.3))
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    kills += 1
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        stored = stored_trial_ids(tmp_path)
        # readable at once, before any repair: only whole trials, no duplicates
        df = read_trials(tmp_path)
        assert (df.empty and not stored) or (df.trial_id.is_unique and set(df.trial_id) == stored)
        assert set(read_evals(tmp_path).get("trial_id", [])) <= stored
    assert b"done" in out, err.decode()[-2000:]
    assert kills >= 5, kills
    TrialStore(tmp_path / "results", METRICS, HPS)  # the last writer repaired what the kills left
    assert leftovers(tmp_path) == []
    check(tmp_path, range(n))
    parts = [p for p in (tmp_path / "results" / "trials").iterdir() if p.name.startswith("part-")]
    assert len(parts) >= n // 23 - 1


# -- compaction ------------------------------------------------------------------------------------

def test_compaction_merges_small_files(tmp_path):
    store = TrialStore(tmp_path / "results", METRICS, HPS, compact_at=10)
    for i in range(25):
        store.write(row(i), evals(i))
    files = sorted(p.name for p in (tmp_path / "results" / "trials").iterdir())
    assert sum(f.startswith("part-") for f in files) == 2 and len(files) == 2 + 5
    check(tmp_path, range(25))
    assert store.compact() == 5
    check(tmp_path, range(25))
    reopened = TrialStore(tmp_path / "results", METRICS, HPS)
    assert reopened.trial_ids == {row(i)["trial_id"] for i in range(25)}
    assert not reopened.write(row(3), evals(30))  # still first write wins, inside a part
    check(tmp_path, range(25))


def test_compaction_reads_back_small_files_of_an_earlier_writer(tmp_path):
    first = TrialStore(tmp_path / "results", METRICS, HPS, compact_at=0)
    for i in range(7):
        first.write(row(i), evals(i))
    second = TrialStore(tmp_path / "results", METRICS, HPS, compact_at=0)
    second.write(row(7), evals(7))
    assert second.compact() == 8
    check(tmp_path, range(8))


def _count_steps(tmp_path: Path) -> int:
    """How many file operations one compaction of 4 trials performs."""
    store = TrialStore(tmp_path / "count" / "results", METRICS, HPS, compact_at=0)
    for i in range(4):
        store.write(row(i), evals(i))
    calls = []
    real_write, real_unlink = store_mod._atomic_write, store_mod._unlink
    store_mod._atomic_write = lambda *a: (calls.append(a[1]), real_write(*a))
    store_mod._unlink = lambda p: (calls.append(p), real_unlink(p))
    try:
        store.compact()
    finally:
        store_mod._atomic_write, store_mod._unlink = real_write, real_unlink
    return len(calls)


def test_a_crash_at_every_step_of_a_compaction(tmp_path):
    """Crash before each file operation of a compaction: readable at once, repaired on open, nothing lost."""
    steps = _count_steps(tmp_path)
    assert steps == 2 + 2 * 4
    for k in range(steps + 1):
        d = tmp_path / f"crash{k}"
        store = TrialStore(d / "results", METRICS, HPS, compact_at=0)
        for i in range(4):
            store.write(row(i), evals(i))
        with crash_at(k):
            if k < steps:
                with pytest.raises(Crash):
                    store.compact()
            else:
                store.compact()
        check(d, range(4))  # readers: duplicates dropped, the uncommitted part ignored
        again = TrialStore(d / "results", METRICS, HPS, compact_at=0)
        check(d, range(4))
        assert again.trial_ids == {row(i)["trial_id"] for i in range(4)}
        names = sorted(p.name for p in (d / "results").rglob("*.parquet"))
        parts = [x for x in names if x.startswith("part-")]
        # no trial both in a part and a small file; no evals part without its trials part
        assert len(parts) in (0, 2) and (len(names) == 2 or len(names) == 8), (k, names)
        for i in range(4, 6):
            assert again.write(row(i), evals(i))
        assert again.compact() >= 2
        check(d, range(6))


# -- size ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_open_and_read_100k_trials(tmp_path, monkeypatch):
    """Open (known ids from names and trial_id columns) and read a 100,000-trial store in seconds."""
    monkeypatch.setattr(store_mod, "FSYNC", False)
    store = TrialStore(tmp_path / "results", METRICS, HPS, compact_at=0)
    n, per_part = 100_000, 500
    rows = [row(i) for i in range(n)]
    for start in range(0, n, per_part):
        chunk = rows[start:start + per_part]
        name = f"part-{start:08x}.parquet"
        store_mod._atomic_write(store_mod._table(chunk, store.trial_schema), store.trials_dir / name)
    for i in range(n, n + 300):
        store.write(row(i), evals(i))
    t0 = time.perf_counter()
    reopened = TrialStore(tmp_path / "results", METRICS, HPS, compact_at=0)
    open_s = time.perf_counter() - t0
    assert len(reopened.trial_ids) == n + 300 and row(12345)["trial_id"] in reopened
    t0 = time.perf_counter()
    df = read_trials(tmp_path)
    read_s = time.perf_counter() - t0
    assert len(df) == n + 300 and df.trial_id.is_unique
    print(f"open {open_s:.2f} s, read {read_s:.2f} s for {n + 300} trials in 200 parts + 300 files")
    assert open_s < 5.0 and read_s < 10.0


# -- full disk, unwritable directories -------------------------------------------------------------

@pytest.mark.parametrize("where", ["write_table", "replace", "fsync"])
def test_full_disk_is_a_clear_error_and_damages_nothing(tmp_path, monkeypatch, where):
    store = TrialStore(tmp_path / "results", METRICS, HPS, compact_at=4)
    for i in range(6):
        store.write(row(i), evals(i))
    before = snapshot(tmp_path)

    def full(*a, **k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    target = {"write_table": (store_mod.pq, "write_table"), "replace": (store_mod.os, "replace"),
              "fsync": (store_mod.os, "fsync")}[where]
    monkeypatch.setattr(*target, full)
    with pytest.raises(StoreWriteError) as info:
        store.write(row(6), evals(6))
    msg = str(info.value)
    assert "No space left on device" in msg and "gansweep resume" in msg and "\n" not in msg
    assert info.value.exit_code == 1
    assert snapshot(tmp_path) == before  # no temporary file left, nothing changed
    monkeypatch.undo()
    assert store.write(row(6), evals(6))  # space again: the same writer goes on
    check(tmp_path, range(7))


def test_full_disk_during_compaction_postpones_it(tmp_path, monkeypatch, caplog):
    store = TrialStore(tmp_path / "results", METRICS, HPS, compact_at=3)
    store.write(row(0), evals(0))
    store.write(row(1), evals(1))
    real = store_mod._atomic_write

    def full_for_parts(table, path, fsync=None):
        if path.name.startswith("part-"):
            raise store_mod._write_error(path.parent, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
        real(table, path, fsync)

    monkeypatch.setattr(store_mod, "_atomic_write", full_for_parts)
    assert store.write(row(2), evals(2))  # stored as a small file; compaction waits
    assert "compaction postponed" in caplog.text
    monkeypatch.undo()
    assert store.write(row(3), evals(3))
    check(tmp_path, range(4))
    assert any(p.name.startswith("part-") for p in (tmp_path / "results" / "trials").iterdir())


def test_results_under_a_regular_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreWriteError, match="cannot write results"):
        TrialStore(blocker / "results", METRICS, HPS)


# -- damaged files ---------------------------------------------------------------------------------

def _damage(tmp_path: Path, how: str) -> Path:
    store = TrialStore(tmp_path / "results", METRICS, HPS, compact_at=5)
    for i in range(8):  # one part (0-4) and three small files (5-7)
        store.write(row(i), evals(i))
    trials = tmp_path / "results" / "trials"
    small = trials / "c.x-random-00006.parquet"
    part = next(p for p in trials.iterdir() if p.name.startswith("part-"))
    if how == "truncated":
        data = small.read_bytes()
        small.write_bytes(data[: len(data) // 2])
        return small
    if how == "zero_bytes":
        small.write_bytes(b"")
        return small
    if how == "garbage_part":
        part.write_bytes(os.urandom(3000))
        return part
    if how == "missing_column":
        t = pq.read_table(small)
        pq.write_table(t.drop(["status"]), small)
        return small
    if how == "missing_column_first":
        first = trials / "c.x-random-00005.parquet"
        pq.write_table(pq.read_table(first).drop(["score"]), first)
        return first
    if how == "null_trial_id":
        t = pq.read_table(small)
        t = t.set_column(0, "trial_id", pa.array([None], pa.string()))
        pq.write_table(t, small)
        return small
    if how == "truncated_evals":
        ev = tmp_path / "results" / "evals" / "c.x-random-00007.parquet"
        ev.write_bytes(ev.read_bytes()[:40])
        return ev
    raise AssertionError(how)


DAMAGE = ["truncated", "zero_bytes", "garbage_part", "missing_column", "missing_column_first", "null_trial_id",
          "truncated_evals"]


@pytest.mark.parametrize("how", DAMAGE)
def test_damaged_file_is_named_and_quarantined(tmp_path, how):
    bad = _damage(tmp_path, how)
    reader = read_evals if bad.parent.name == "evals" else read_trials
    with pytest.raises(StoreError) as info:
        reader(tmp_path)
    msg = str(info.value)
    assert msg.startswith(f"{bad}: damaged results file") and "gansweep resume" in msg and "\n" not in msg
    assert [p for p, _ in damaged_files(tmp_path)] == [bad]
    moved = quarantine_damaged(tmp_path)
    assert moved and all("quarantine" in str(p) for p in moved)
    assert (moved[0].parents[1] / "REASONS.txt").read_text().startswith(f"{bad.parent.name}/{bad.name}")
    lost = {0, 1, 2, 3, 4} if bad.name.startswith("part-") else {int(bad.stem[-5:])}  # the part holds 0-4
    check(tmp_path, sorted(set(range(8)) - lost))
    store = TrialStore(tmp_path / "results", METRICS, HPS)  # resume: the lost trials run again
    for i in sorted(lost):
        assert store.write(row(i), evals(i))
    check(tmp_path, range(8))
    assert quarantine_damaged(tmp_path) == []


def test_empty_and_missing_results_read_empty(tmp_path):
    assert read_trials(tmp_path).empty and read_evals(tmp_path).empty
    (tmp_path / "results" / "trials").mkdir(parents=True)
    (tmp_path / "results" / "evals").mkdir(parents=True)
    assert read_trials(tmp_path).empty and read_evals(tmp_path).empty
    assert quarantine_damaged(tmp_path) == []


def test_completed_without_a_finite_score_is_diverged(tmp_path):
    store = TrialStore(tmp_path / "results", METRICS, HPS)
    for i, score in enumerate([math.nan, math.inf, None]):
        store.write({**row(i), "score": score}, evals(i))
    df = read_trials(tmp_path)
    assert list(df.status) == ["diverged"] * 3 and df.error.str.contains("not finite").all()
    with pytest.raises(ValueError, match="status"):
        store.write({**row(9), "status": "done"})
