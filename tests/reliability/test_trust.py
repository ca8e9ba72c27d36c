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

from gansweep.store.studydir import StudyDir
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
    ("generators", "samples"), ("generators", "evaluate"),
    ("export", "export"), ("results", "export"),
    ("cache", "resume"), ("results/quarantine", "resume"),
]


@pytest.mark.parametrize("name, command", CASES, ids=[f"{c}-{n}" for n, c in CASES])
def test_a_link_in_the_study_is_refused_and_nothing_outside_changes(tmp_path, name, command):
    sd = make_study(tmp_path / "runs")
    (sd.path / "tune").mkdir()
    (sd.path / "plots").mkdir()
    (sd.path / "generators").mkdir()
    (sd.path / "results" / "quarantine").mkdir()
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
def test_run_force_deletes_links_not_what_they_point_at(tmp_path, ray_head):
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
    code, out, err = gansweep("run", study_file, "--out", tmp_path / "runs", "--dry-run", "--force", "--yes",
                              "--address", ray_head, env=JOIN)
    assert code == 0, err
    assert snapshot(outside) == before
    assert not any(p.is_symlink() for p in sd.path.rglob("*"))
    assert "2/2 trials stored" in out


# -- 2. names from stored data ------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["../../../tmp/x", "/etc/passwd", "a/b", "..", "",
                                 "digits.dcgan.ns.none.none-random-0000/.."])
def test_a_stored_trial_id_never_becomes_a_path(tmp_path, bad):
    from gansweep.storage import UnsafePathError
    from gansweep.store.generators import generator_path, save_generator

    with pytest.raises(UnsafePathError, match="not a trial id"):
        generator_path(tmp_path, bad)
    with pytest.raises(UnsafePathError):
        save_generator(tmp_path, bad, {})
    assert list(tmp_path.iterdir()) == []


# -- 3. no foreign pickles ------------------------------------------------------------------------------

TINY = {"name": "tiny", "grid": {"loss": ["ns"], "penalty": ["none"]}, "training": {"steps": 1000, "eval_every": 250},
        "search": [{"strategy": "random", "trials": 3, "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}}}]}


class Marker:
    """Unpickled, it creates ``path``: what a hostile tuner.pkl would do (here harmlessly)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """An interrupted dry-run study, run by 'this user' (config dir ``me``), whose Tune state is signed:
    its third trial never ends (the test-only ``block`` fault), so the driver is killed with two
    trials stored and the third in Tune's saved experiment. (Resuming a study whose every trial is
    stored loads nothing of Tune's: it runs nothing.)"""
    import signal
    import yaml

    from _reliab import fault_env, wait_for

    root = tmp_path_factory.mktemp("trust")
    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    env = {**os.environ, **fault_env({"block": "*-random-0002"}), "XDG_CONFIG_HOME": str(root / "me")}
    proc = subprocess.Popen([GANSWEEP, "run", str(root / "tiny.yaml"), "--out", str(root / "runs"), "--dry-run",
                             "--yes"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        trials = root / "runs" / "tiny" / "results" / "trials"
        assert wait_for(lambda: proc.poll() is not None or len(list(trials.glob("*.parquet"))) >= 2, timeout=120)
        assert proc.poll() is None, proc.communicate()
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its Ray: Tune's files stay signed (trust.py)
        proc.wait(timeout=60)
    finally:
        proc.kill()
    assert len(list(trials.glob("*.parquet"))) == 2
    assert (root / "me" / "gansweep" / "tune.key").stat().st_mode & 0o777 == 0o600
    return root


JOIN = {"RAY_AUTH_MODE": "token"}  # resumes join the shared Ray head (--address), as on a cluster


def copy_of(finished: Path, tmp_path: Path) -> Path:
    shutil.copytree(finished / "runs" / "tiny", tmp_path / "tiny", symlinks=True)
    return tmp_path / "tiny"


def tamper(study: Path, marker: Path) -> None:
    import pickle

    (study / "tune" / "tuner.pkl").write_bytes(pickle.dumps(Marker(marker)))


def test_a_tampered_tuner_pkl_is_not_unpickled_on_resume(finished, tmp_path, ray_head):
    study, marker = copy_of(finished, tmp_path), tmp_path / "pwned"
    tamper(study, marker)
    code, out, err = gansweep("resume", study, "--address", ray_head, env={**JOIN, "XDG_CONFIG_HOME": str(finished / "me")})
    assert code == 0, err
    assert not marker.exists()
    assert "tuner.pkl does not match its signature" in err and "--trust" in err
    assert "3/3 trials stored" in out  # continued from the store: nothing lost, nothing run twice


@pytest.mark.slow
def test_a_study_from_another_machine_continues_from_its_store(finished, tmp_path, ray_head):
    study, marker = copy_of(finished, tmp_path), tmp_path / "pwned"
    tamper(study, marker)
    (study / "tune-signature.json").unlink()  # a signature made with someone else's key proves nothing either
    code, out, err = gansweep("resume", study, "--address", ray_head, env={**JOIN, "XDG_CONFIG_HOME": str(tmp_path / "other")})
    assert code == 0, err
    assert not marker.exists() and "no signing key of yours" in err and "3/3 trials stored" in out


@pytest.mark.slow
def test_own_signed_state_restores_and_trust_overrides(finished, tmp_path, ray_head):
    """The user's own study restores from Tune's state (no note); --trust loads even a foreign pickle,
    which proves the refusal above is what kept it from running."""
    study, marker = copy_of(finished, tmp_path), tmp_path / "pwned"
    code, out, err = gansweep("resume", study, "--address", ray_head, env={**JOIN, "XDG_CONFIG_HOME": str(finished / "me")})
    assert code == 0, err
    assert "not loaded" not in err and "tune_stale" not in json.loads((study / "gansweep.json").read_text())
    assert "3/3 trials stored" in out
    study = copy_of(finished, tmp_path / "again")
    tamper(study, marker)
    code, out, err = gansweep("resume", study, "--trust", "--address", ray_head, env={**JOIN, "XDG_CONFIG_HOME": str(finished / "me")})
    assert marker.exists()


def test_signing_covers_every_tune_file_and_a_private_key(tmp_path, monkeypatch):
    from gansweep.driver.trust import KEY_FILE, signing_filesystem, unverified

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    study = tmp_path / "s"
    (study / "tune" / "trial1").mkdir(parents=True)
    (study / "tune" / "tuner.pkl").write_bytes(b"written past the signing file system")
    assert "no signing key" in unverified(study)
    fs = signing_filesystem(study)
    fs.create_dir(str(study / "tune" / "trial1" / "checkpoint_0"))
    for name in ("tuner.pkl", "experiment_state-x.json", "trial1/error.pkl", "trial1/checkpoint_0/trial.pt"):
        with fs.open_output_stream(str(study / "tune" / name)) as f:
            f.write(b"state " + name.encode())
    assert unverified(study) is None
    assert json.loads((study / "tune-signature.json").read_text())["files"].keys() == {
        "tuner.pkl", "experiment_state-x.json", "trial1/error.pkl"}  # checkpoints load with weights_only
    (study / "tune" / "trial1" / "error.pkl").write_bytes(b"other")
    assert "trial1/error.pkl does not match" in unverified(study)
    fs.handler.sign_existing()  # the end of a run signs nothing already signed...
    assert "trial1/error.pkl does not match" in unverified(study)
    (study / "tune" / "searcher-state-y.pkl").write_bytes(b"new")  # ...and adds what Tune wrote past it
    fs.handler.sign_existing()
    assert "searcher-state-y.pkl" in json.loads((study / "tune-signature.json").read_text())["files"]
    key = tmp_path / "cfg" / "gansweep" / KEY_FILE
    key.chmod(0o644)  # a key others can read proves nothing
    assert "no signing key" in unverified(study)
    import pickle

    key.chmod(0o600)
    assert key.read_bytes() not in pickle.dumps(fs)  # Tune pickles its file system into tuner.pkl


def test_a_kill_between_signing_and_writing_leaves_a_trusted_file(tmp_path, monkeypatch):
    """The signature is added before the file lands and the previous one is kept: a driver killed
    in between leaves the old file, which still matches."""
    from gansweep.driver.trust import signing_filesystem, unverified

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    study = tmp_path / "s"
    (study / "tune").mkdir(parents=True)
    fs = signing_filesystem(study)
    target = str(study / "tune" / "experiment_state-x.json")
    with fs.open_output_stream(target) as f:
        f.write(b"version 1")
    fs.handler.add_signature("experiment_state-x.json", b"version 2")  # ...and the driver dies here
    assert (study / "tune" / "experiment_state-x.json").read_bytes() == b"version 1"
    assert unverified(study) is None
    with fs.open_output_stream(target) as f:
        f.write(b"version 2")
    assert unverified(study) is None
    with fs.open_output_stream(target) as f:
        f.write(b"version 3")
    (study / "tune" / "experiment_state-x.json").write_bytes(b"version 1")  # older than the two kept
    assert "does not match" in unverified(study)


# -- 4. study-owned state that cannot flip silently ------------------------------------------------------

@pytest.mark.parametrize("record", [None, {}, {"dry_run": "false"}, {"dry_run": None}])
def test_a_dry_run_without_its_record_is_not_resumed_as_a_real_one(tmp_path, record):
    """gansweep.json says dry or real; the rows cannot. Without it resume refuses (old code trained
    real GANs into the dry run's results, mixed with synthetic rows, and accepted any study.yaml edit)."""
    import yaml

    sd = make_study(tmp_path, dry_run=True)
    if record is None:
        sd.meta_file.unlink()
    else:
        sd.meta_file.write_text(json.dumps(record))
    data = yaml.safe_load(sd.study_file.read_text())
    data["training"]["steps"] = 2000  # an unsafe edit: trials already stored ran 1000 steps
    sd.study_file.write_text(yaml.safe_dump(data))
    before = snapshot(sd.path)
    code, out, err = gansweep("resume", sd.path)
    one_line_refusal(code, err, "gansweep.json", "dry run", "--force")
    assert snapshot(sd.path) == before

    code, out, err = gansweep("status", sd.path)
    assert code == 0, err
    assert "dry run or real: unknown" in out and "gansweep.json" in err and "Traceback" not in err


def test_status_still_says_dry_run_with_its_record(tmp_path):
    sd = make_study(tmp_path, dry_run=True)
    code, out, err = gansweep("status", sd.path)
    assert code == 0 and "(dry run)" in out and "unknown" not in out, err


def test_run_force_does_not_empty_what_a_linked_study_directory_points_at(tmp_path):
    import yaml

    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work\n")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "tiny").symlink_to(precious)
    before = snapshot(precious)
    code, out, err = gansweep("run", tmp_path / "tiny.yaml", "--out", tmp_path / "runs", "--dry-run", "--force",
                              "--yes")
    one_line_refusal(code, err, "symbolic link")
    assert snapshot(precious) == before
