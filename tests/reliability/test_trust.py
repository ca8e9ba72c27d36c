"""A study directory from someone else (copied, synced, shared, unpacked) cannot be turned against
its user: links inside are refused, never followed; stored names never become paths; foreign Tune
pickles are not loaded; a dry-run study cannot silently become a real one. Run as a user runs it:
the ``gansweep`` command in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gansweep.driver.studydir import StudyDir
from gansweep.store import TrialStore
from gansweep.study import build_plan, study_from_data
from gansweep.trial.settings import metric_columns

from _reliab import study_data

GANSWEEP = str(Path(sys.executable).with_name("gansweep"))


def gansweep(*args: object, env: dict[str, str] | None = None, timeout: float = 300) -> tuple[int, str, str]:
    proc = subprocess.run([GANSWEEP, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


def make_study(root: Path, n: int = 6, dry_run: bool = True) -> StudyDir:
    """A study with ``n`` completed rows, written through the store (no Ray)."""
    study = study_from_data(study_data(), "s.yaml")
    plan = build_plan(study)
    sd = StudyDir(root / "rel")
    sd.create(study, {"dry_run": dry_run})
    store = TrialStore(sd.results_dir, metric_columns(plan), plan.hp_names(), compact_at=4)
    for i, tid in enumerate(plan.trial_ids()[:n]):
        store.write({"trial_id": tid, "cell": tid.rsplit("-", 2)[0], "strategy": "random", "status": "completed",
                     "score": 10.0 + i, "fd": 10.0 + i, "config": json.dumps({"trial_id": tid})},
                    [{"step": 250, "seconds": 1.0, "fd": 20.0 + i}])
    return sd


def snapshot(directory: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every entry under ``directory``: its bytes (files) and mtime; equal snapshots: nothing touched."""
    out = {}
    for p in sorted(directory.rglob("*")):
        st = p.lstat()
        out[str(p.relative_to(directory))] = (p.read_bytes() if p.is_file() else None, st.st_mtime_ns)
    return out


def one_line_refusal(code: int, err: str, *words: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    for w in words:
        assert w in err, err


# -- 1. links inside a study directory are refused, never followed -------------------------------------

def plant(sd: StudyDir, outside: Path, name: str) -> None:
    """Make ``name`` in the study a link to a file or directory outside it (moving the real one there)."""
    inside = sd.path / name
    target = outside / name.replace("/", "_")
    if inside.exists():
        shutil.move(str(inside), str(target))
    elif name.endswith((".json", ".lock")) or name == ".lock":
        target.write_text("precious\n")
    else:
        target.mkdir()
        (target / "keep.txt").write_text("precious\n")
    inside.symlink_to(target)


CASES = [
    (".lock", "resume"),  # old code: the target truncated to a PID
    ("results", "resume"), ("results", "status"), ("results", "plot"), ("results", "report"),
    ("results/trials", "resume"),
    ("plots", "plot"), ("plots", "report"),
    ("tune", "resume"),
    ("driver_stats.json", "resume"),
    ("gansweep.json", "status"), ("gansweep.json", "resume"),
    ("generators", "samples"),
]


@pytest.mark.parametrize("name, command", CASES, ids=[f"{c}-{n}" for n, c in CASES])
def test_a_link_in_the_study_is_refused_and_nothing_outside_changes(tmp_path, name, command):
    sd = make_study(tmp_path / "runs")
    (sd.path / "tune").mkdir()
    (sd.path / "plots").mkdir()
    (sd.path / "generators").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("do not touch\n")
    plant(sd, outside, name)
    before = snapshot(outside)
    code, out, err = gansweep(command, sd.path)
    one_line_refusal(code, err, "symbolic link", name.split("/")[-1])
    assert snapshot(outside) == before


def test_a_fifo_lock_is_refused_not_waited_on(tmp_path):
    sd = make_study(tmp_path)
    os.mkfifo(sd.path / ".lock")
    code, out, err = gansweep("resume", sd.path, timeout=120)
    one_line_refusal(code, err, ".lock", "FIFO")


def test_a_hard_linked_lock_is_not_truncated(tmp_path):
    from gansweep.lock import StudyLock
    from gansweep.storage import UnsafePathError

    sd = make_study(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch\n")
    os.link(victim, sd.path / ".lock")
    with pytest.raises(UnsafePathError, match="hard link"):
        with StudyLock(sd.path):
            pass
    assert victim.read_text() == "do not touch\n"


def test_a_planted_temporary_link_is_not_written_through(tmp_path, monkeypatch):
    """atomic_write's temporary is created O_EXCL | O_NOFOLLOW: a link in its place is an error, not a write."""
    from gansweep import storage

    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch\n")
    monkeypatch.setattr(storage.uuid, "uuid4", lambda: type("U", (), {"hex": "fixed"})())
    (tmp_path / f"{storage.TMP_PREFIX}fixed-out.json").symlink_to(victim)
    with pytest.raises(OSError):
        storage.atomic_write(tmp_path / "out.json", lambda f: f.write(b"x"))
    assert victim.read_text() == "do not touch\n"


def test_links_are_found_at_any_depth_and_a_plain_study_passes(tmp_path):
    from gansweep.storage import UnsafePathError, refuse_links

    sd = make_study(tmp_path)
    refuse_links(sd.path)
    deep = sd.path / "tune" / "t1" / "checkpoint_000001"
    deep.mkdir(parents=True)
    refuse_links(sd.path)
    (deep / "model.pt").symlink_to("/etc/passwd")
    with pytest.raises(UnsafePathError, match="model.pt: a symbolic link"):
        refuse_links(sd.path)


@pytest.mark.slow
def test_run_force_deletes_links_not_what_they_point_at(tmp_path):
    """``run --force`` over a study full of links removes the links and starts over; nothing outside changes."""
    import yaml

    study = study_data(name="rel", grid={"loss": ["ns"], "penalty": ["none"]},
                       search=[{"strategy": "random", "trials": 2, "space": study_data()["search"][0]["space"]}])
    study_file = tmp_path / "s.yaml"
    study_file.write_text(yaml.safe_dump(study))
    sd = make_study(tmp_path / "runs")
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in (".lock", "results", "tune", "plots", "driver_stats.json"):
        plant(sd, outside, name)
    before = snapshot(outside)
    code, out, err = gansweep("run", study_file, "--out", tmp_path / "runs", "--dry-run", "--force", "--yes")
    assert code == 0, err
    assert snapshot(outside) == before
    assert not any(p.is_symlink() for p in sd.path.rglob("*"))
    assert "2/2 trials stored" in out


# -- 2. names from stored data ------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["../../../tmp/x", "/etc/passwd", "a/b", "..", "", "digits.dcgan.ns.none.none-random-0000/.."])
def test_a_stored_trial_id_never_becomes_a_path(tmp_path, bad):
    from gansweep.storage import UnsafePathError
    from gansweep.store.generators import generator_path, save_generator

    with pytest.raises(UnsafePathError, match="not a trial id"):
        generator_path(tmp_path, bad)
    with pytest.raises(UnsafePathError):
        save_generator(tmp_path, bad, {})
    assert list(tmp_path.iterdir()) == []
