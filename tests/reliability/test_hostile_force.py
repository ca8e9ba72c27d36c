"""``run --force`` deletes only a study (gansweep's own study.yaml and gansweep.json) or an empty folder.

With ``output: .`` and ``name: thesis`` it removed ./thesis and every file in it; without ``--force``
the message called that folder a study and suggested resume. Issue 30, item 2.
"""

from __future__ import annotations

import os

import pytest
import yaml

from gansweep.store.studydir import StudyDir
from gansweep.study import study_from_data

STUDY = {"name": "thesis", "output": ".", "grid": {"dataset": ["ring8"], "architecture": ["mlp"]},
         "training": {"steps": 20, "eval_every": 10},
         "search": [{"strategy": "random", "trials": 1, "space": {"lr": {"low": 1e-4, "high": 1e-3}}}]}


def snapshot(root):
    return {str(p.relative_to(root)): (p.is_symlink(), p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(STUDY))
    return tmp_path


def refused(code, out, err, *words):
    line = err.strip()
    assert code == 2 and "\n" not in line and "Traceback" not in err, (code, out, err)
    for w in words:
        assert w in line, line
    return line


@pytest.mark.parametrize("args", [["--force", "--yes"], ["--force"], []], ids=["force_yes", "force_prompt", "plain"])
def test_a_folder_that_merely_has_the_name_is_never_emptied(cli, here, args):
    (here / "thesis").mkdir()
    (here / "thesis" / "thesis.tex").write_text("years of work\n")
    (here / "thesis" / "study.yaml").write_text("my own notes, not gansweep's\n")  # one marker is not enough
    before = snapshot(here)
    code, out, err = cli("run", "s.yaml", "--dry-run", *args)
    refused(code, out, err, "thesis: exists and is not a gansweep study", "choose another name/output")
    assert snapshot(here) == before


def test_a_file_in_the_study_directory_s_place(cli, here):
    (here / "thesis").write_text("a file\n")
    code, out, err = cli("run", "s.yaml", "--dry-run", "--force", "--yes")
    refused(code, out, err, "thesis: exists and is a file", "choose another name/output")
    assert (here / "thesis").read_text() == "a file\n"


def test_markers_that_are_links_out_do_not_make_a_study(cli, here):
    elsewhere = here / "elsewhere"
    StudyDir(elsewhere / "thesis").create(study_from_data(STUDY, "s.yaml"), {"dry_run": True})
    (here / "thesis").mkdir()
    (here / "thesis" / "chapter1.tex").write_text("mine\n")
    for name in ("study.yaml", "gansweep.json"):
        os.symlink(elsewhere / "thesis" / name, here / "thesis" / name)
    before = snapshot(here)
    code, out, err = cli("run", "s.yaml", "--dry-run", "--force", "--yes")
    refused(code, out, err, "thesis: exists and is not a gansweep study")
    assert snapshot(here) == before


def test_a_study_is_told_from_a_folder(cli, here):
    sd = StudyDir(here / "thesis")
    sd.create(study_from_data(STUDY, "s.yaml"), {"dry_run": True})
    code, out, err = cli("run", "s.yaml", "--dry-run")
    refused(code, out, err, "thesis: is a study (a dry run): gansweep resume thesis")


def test_force_still_starts_a_study_over_and_an_empty_folder_is_used(cli, here):
    sd = StudyDir(here / "thesis")
    sd.create(study_from_data(STUDY, "s.yaml"), {"dry_run": True})
    (sd.path / "notes.txt").write_text("inside a study: deleted with it\n")
    code, out, err = cli("run", "s.yaml", "--dry-run", "--force", "--yes")
    assert code == 0 and "1/1 trials stored" in out, (out, err)
    assert not (sd.path / "notes.txt").exists()
    (here / "s.yaml").write_text(yaml.safe_dump({**STUDY, "name": "empty"}))
    (here / "empty").mkdir()
    code, out, err = cli("run", "s.yaml", "--dry-run")
    assert code == 0 and "1/1 trials stored" in out, (out, err)


def test_another_study_of_the_same_name_is_not_offered_as_this_one(cli, here):
    """A second study file with the same name was told 'is a study: gansweep resume thesis', which
    continues the first study, not this one."""
    StudyDir(here / "thesis").create(study_from_data({**STUDY, "seed": 7}, "other.yaml"), {"dry_run": True})
    code, out, err = cli("run", "s.yaml", "--dry-run")
    refused(code, out, err, "thesis: is another study of the same name (a dry run)",
            "gansweep resume thesis continues that one", "choose another name")
