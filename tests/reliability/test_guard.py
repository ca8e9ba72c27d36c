"""Guards: safe and unsafe edits of study.yaml between run and resume, output paths, plan size."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

import gansweep
from gansweep.driver.guard import MAX_TRIALS, check_plan_size, check_resumable, study_changes
from gansweep.driver.resume import accept_edits
from gansweep.store.studydir import StudyDir, check_output_path, fingerprint
from gansweep.errors import GansweepError, StudyError
from gansweep.study import study_from_data

from _reliab import SPACE, snapshot, study_data


def study(**changes):
    return study_from_data(study_data(**changes), "s.yaml")


def with_search(*entries):
    return study(search=list(entries))


RANDOM = {"strategy": "random", "trials": 10, "space": SPACE}


# -- which edits are safe --------------------------------------------------------------------------

SAFE = {
    "description": dict(description="now with a description"),
    "output": dict(output="elsewhere"),
    "timeout": dict(training={"steps": 1000, "eval_every": 250, "timeout": 600}),
    "resources": dict(resources={"cpu": 2, "gpu": 0.5}),
    "retries": dict(failure={"max_failures": 5}),
    "more trials": dict(search=[{**RANDOM, "trials": 25}]),
    "new search entry": dict(search=[RANDOM, {"strategy": "table1"}]),
    "new cells": dict(grid={"loss": ["ns", "wgan", "hinge"], "penalty": ["none", "gp"]}),
    "new cells, excluded partly": dict(grid={"loss": ["ns", "wgan"], "penalty": ["none", "gp", "r1"]},
                                       exclude=[{"penalty": "r1", "loss": "ns"}]),
}
UNSAFE = {
    "fewer trials": (dict(search=[{**RANDOM, "trials": 5}]), "search[random].trials", "fewer trials"),
    "seed": (dict(seed=7), "seed", "every trial's seed"),
    "steps": (dict(training={"steps": 2000, "eval_every": 250}), "training.steps", "how every trial trains"),
    "batch": (dict(training={"steps": 1000, "eval_every": 250, "batch_size": 32}), "training.batch_size",
              "how every trial trains"),
    "primary metric": (dict(metrics={"primary": "msssim"}), "metrics.primary", "evaluated with the old metrics"),
    "extra metric": (dict(metrics={"extra": ["msssim"]}), "metrics.extra", "evaluated with the old metrics"),
    "samples": (dict(metrics={"samples": 500}), "metrics.samples", "evaluated with the old metrics"),
    "space": (dict(search=[{**RANDOM, "space": {**SPACE, "beta1": {"low": 0.1, "high": 1.0}}}]),
              "search[random].space.beta1.low", "changes the trials this search suggests"),
    "entry renamed": (dict(search=[{**RANDOM, "name": "rs"}]), "search[random].strategy", "entry removed"),
    "cell removed": (dict(grid={"loss": ["ns"], "penalty": ["none", "gp"]}), "grid.loss", "removes 2 cell"),
    "cell excluded": (dict(exclude=[{"loss": "wgan", "penalty": "gp"}]), "exclude", "removes 1 cell"),
    "name": (dict(name="other"), "name", "the study's name"),
    "new hp column": (dict(search=[RANDOM, {"strategy": "random", "name": "two_lr", "trials": 3,
                                            "space": {"lr_g": {"low": 1e-4, "high": 1e-3}}}]),
                      "store hp columns", "columns would change"),
}


def test_no_change_is_no_change():
    assert study_changes(study(), study()) == [] and check_resumable(study(), study()) == []


@pytest.mark.parametrize("name", SAFE)
def test_safe_edit_is_accepted(name):
    changes = check_resumable(study(), study(**SAFE[name]))
    assert changes and all(c.safe for c in changes), changes


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_edit_is_refused_with_a_diff(name):
    edit, path, why = UNSAFE[name]
    with pytest.raises(StudyError) as info:
        check_resumable(study(), study(**edit), "runs/rel/study.yaml")
    first, *diff = str(info.value).splitlines()
    assert first.startswith("runs/rel/study.yaml: changed since the study was planned")
    assert 1 <= len(diff) <= 13
    line = next(ln for ln in diff if ln.startswith(f"! {path}:"))
    assert why in line and "->" in line


def test_more_gp_rounds_is_safe_more_per_round_is_not():
    gp = {"strategy": "gp", "rounds": 3, "per_round": 4, "space": SPACE}
    assert all(c.safe for c in check_resumable(with_search(gp), with_search({**gp, "rounds": 5})))
    with pytest.raises(StudyError, match="per_round"):
        check_resumable(with_search(gp), with_search({**gp, "per_round": 5}))


def test_more_random_trials_keep_the_first_draws():
    """Why more trials is safe: random draws are prefix-stable (the same first N configurations)."""
    from gansweep.search.composite import entry_seed
    from gansweep.search.random import make_random
    from gansweep.study import build_plan

    def draws(n):
        plan = build_plan(with_search({**RANDOM, "trials": n}))
        e = plan.entries[0]
        searcher = make_random(e, entry_seed(0, e))
        return [searcher.ask().params for _ in range(n)]

    assert draws(25)[:10] == draws(10)


# -- the planned study in the study directory ------------------------------------------------------

def test_studydir_records_the_planned_study_and_accepts_safe_edits(tmp_path):
    sd = StudyDir(tmp_path / "rel")
    sd.create(study(), {"dry_run": True})
    meta = json.loads(sd.meta_file.read_text())
    assert meta["fingerprint"] == fingerprint(study()) and meta["dry_run"] is True
    assert study_from_data(meta["planned"], "meta") == study()
    assert accept_edits(sd, study()) == [] and sd.tune_stale() is None
    changes = accept_edits(sd, study(**SAFE["more trials"]))
    assert [c.path for c in changes] == ["search[random].trials"]
    assert "search[random].trials" in sd.tune_stale()  # Tune's experiment holds the old plan
    meta = json.loads(sd.meta_file.read_text())
    assert meta["fingerprint"] == fingerprint(study(**SAFE["more trials"]))
    assert "search[random].trials: 10 -> 25" in meta["accepted_changes"][0]["changes"][0]
    sd.clear_tune_stale()
    assert sd.tune_stale() is None and accept_edits(sd, study(**SAFE["more trials"])) == []


def test_studydir_refusal_changes_nothing(tmp_path):
    sd = StudyDir(tmp_path / "rel")
    sd.create(study(), {})
    before = snapshot(sd.path)
    with pytest.raises(StudyError, match="seed"):
        accept_edits(sd, study(seed=3))
    assert snapshot(sd.path) == before


def test_fingerprint_ignores_yaml_form():
    a = study()
    b = study_from_data(yaml.safe_load(yaml.safe_dump(study_data(), default_flow_style=True)), "b")
    assert fingerprint(a) == fingerprint(b) and fingerprint(a) != fingerprint(study(seed=1))


def test_resume_refuses_an_unsafe_edit_of_study_yaml(cli, tmp_path):
    """`gansweep resume` on an edited study.yaml: exit 2, one line and a diff, nothing touched, no Ray."""
    sd = StudyDir(tmp_path / "rel")
    sd.create(study(), {"dry_run": True})
    data = yaml.safe_load(sd.study_file.read_text())
    data["training"]["steps"] = 3000
    data["seed"] = 5
    sd.study_file.write_text(yaml.safe_dump(data, sort_keys=False))
    before = snapshot(sd.path)
    code, out, err = cli("resume", sd.path)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert lines[0].startswith(f"error: {sd.study_file}: changed since the study was planned")
    assert any(ln.startswith("! training.steps: 1000 -> 3000") for ln in lines)
    assert any(ln.startswith("! seed: 0 -> 5") for ln in lines)
    after = snapshot(sd.path)
    after.pop(".lock", None)  # the lock the refusal was made under
    assert "Traceback" not in err and after == before


# -- output paths, plan size -----------------------------------------------------------------------

@pytest.mark.parametrize("where", ["package", "package_sub", "prefix", "etc", "root", "usr_local"])
def test_output_inside_source_python_or_system_is_refused(where):
    pkg = Path(gansweep.__file__).resolve().parent
    path = {"package": pkg, "package_sub": pkg / "study" / "runs" / "x", "prefix": Path(sys.prefix) / "runs",
            "etc": Path("/etc/gansweep"), "root": Path("/"), "usr_local": Path("/usr/local/runs")}[where]
    with pytest.raises(GansweepError, match="choose another output directory"):
        check_output_path(path)
    with pytest.raises(GansweepError):
        StudyDir(path)


def test_ordinary_output_paths_are_fine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for p in (tmp_path / "runs" / "x", Path("runs/x"), Path("~/runs/x"), Path("/var/tmp/runs/x"),
              Path("s3://bucket/runs/x")):
        check_output_path(p)


def test_run_into_the_source_tree_is_refused_and_writes_nothing(cli, tmp_path):
    pkg = Path(gansweep.__file__).resolve().parent
    before = sorted(p.name for p in pkg.iterdir())
    study_file = tmp_path / "s.yaml"
    study_file.write_text(yaml.safe_dump(study_data(output=str(pkg))))
    for args in (("run", study_file, "--dry-run"), ("run", study_file, "--out", pkg / "data", "--dry-run")):
        code, out, err = cli(*args)
        assert code == 2, (out, err)
        assert "inside gansweep's source code" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in pkg.iterdir()) == before


def test_a_gansweep_folder_in_the_working_directory_is_no_trouble(tmp_path):
    """``python -m gansweep.cli`` from a directory holding a ``gansweep/`` folder (a clone's parent, a
    study output) sees a namespace package without ``__file__``: the output guard raised a TypeError."""
    import subprocess

    (tmp_path / "gansweep").mkdir()
    proc = subprocess.run([sys.executable, "-m", "gansweep.cli", "run", str(Path(gansweep.__file__).parents[1] /
                           "studies" / "demo.yaml"), "--dry-run", "--yes", "--out", str(tmp_path / "runs"),
                           "--address", "a b"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: Ray address 'a b'"), proc.stderr


def test_output_under_a_regular_file_is_a_clear_error(cli, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    study_file = tmp_path / "s.yaml"
    study_file.write_text(yaml.safe_dump(study_data()))
    code, out, err = cli("run", study_file, "--out", blocker / "runs", "--dry-run")
    assert code == 2 and "cannot create the study directory" in err and "Traceback" not in err
    assert blocker.read_text() == "x"


def test_plan_size_limit():
    check_plan_size(MAX_TRIALS, "s.yaml")
    with pytest.raises(StudyError, match=r"more than 100,000; .* --yes"):
        check_plan_size(MAX_TRIALS + 1, "s.yaml")
    check_plan_size(MAX_TRIALS + 1, "s.yaml", yes=True)
    with pytest.raises(StudyError, match="1,000,000,000 trials"):
        check_plan_size(10**9, "s.yaml", yes=True)
