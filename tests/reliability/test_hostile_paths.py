"""Study files and outputs in odd places: one line, exit 2, nothing written where it must not be.

Found by the issue 30 campaign (study files and paths); each test failed before its fix. The YAML
findings (a 5000-digit integer, an impossible date, a name like ``--help``, a newline in ``output``,
a NaN metrics option) are files in tests/data/bad_studies.
"""

from __future__ import annotations

import errno
import os

import yaml

from gansweep.store.studydir import StudyDir
from gansweep.study import study_from_data

TINY = {"name": "tiny", "grid": {"dataset": ["ring8"], "architecture": ["mlp"]},
        "training": {"steps": 20, "eval_every": 10},
        "search": [{"strategy": "random", "trials": 1, "space": {"lr": {"low": 1e-4, "high": 1e-3}}}]}


def one_line(code, err, *words):
    line = err.strip()
    assert code == 2 and "\n" not in line and "Traceback" not in err, (code, err)
    for w in words:
        assert w in line, line
    return line


def test_an_output_inside_a_study_is_refused(cli, tmp_path):
    """``--out runs/demo/results/x`` put a study inside another: the outer study's --force deleted it."""
    outer = StudyDir(tmp_path / "runs" / "demo")
    outer.create(study_from_data({**TINY, "name": "demo"}, "s.yaml"), {"dry_run": True})
    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump(TINY))
    code, out, err = cli("run", study, "--dry-run", "--yes", "--out", outer.path / "results" / "x")
    one_line(code, err, f"is inside the study directory {outer.path}")
    assert not (outer.path / "results" / "x").exists()


def test_resume_on_a_read_only_disk_says_so(cli, tmp_path, monkeypatch):
    """It said 'cannot create the study directory ... choose a writable output directory' of a study
    that exists."""
    import gansweep.lock

    sd = StudyDir(tmp_path / "runs" / "tiny")
    sd.create(study_from_data(TINY, "s.yaml"), {"dry_run": True})
    real_open = os.open

    def read_only(path, *args, **kwargs):
        if str(path).endswith(".lock"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(gansweep.lock.os, "open", read_only)
    code, out, err = cli("resume", sd.path)
    one_line(code, err, "cannot write the study's lock (Read-only file system)", "copy it to a writable place")


def test_a_pipe_given_as_the_study_file_is_not_called_missing(cli, tmp_path):
    fifo = tmp_path / "study.yaml"
    os.mkfifo(fifo)
    code, out, err = cli("validate", fifo)
    one_line(code, err, f"{fifo}: not a regular file")


def test_a_study_on_a_path_with_spaces_unicode_and_url_characters(cli, tmp_path):
    """Held: Tune and pyarrow take such a path as a path, not a URI (kept as a regression test)."""
    out = tmp_path / "with space" / "ü ñ#a%20b?c"
    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump(TINY))
    code, stdout, err = cli("run", study, "--dry-run", "--yes", "--out", out)
    assert code == 0 and "1/1 trials stored" in stdout, err
    code, stdout, err = cli("status", out / "tiny")
    assert code == 0 and "1/1 trials stored" in " ".join(stdout.split()), err


def test_the_resume_line_can_be_pasted_for_a_path_with_spaces(cli, tmp_path):
    """It printed 'gansweep resume /tmp/a b/tiny', which a shell splits in two."""
    import shlex

    out = tmp_path / "a b#c"
    StudyDir(out / "tiny").create(study_from_data(TINY, "s.yaml"), {"dry_run": True})
    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump(TINY))
    code, stdout, err = cli("run", study, "--dry-run", "--out", out)
    line = one_line(code, err, "is a study (a dry run): gansweep resume ")
    command = line.split("): ", 1)[1].split(" continues it")[0]
    assert shlex.split(command) == ["gansweep", "resume", str(out / "tiny")]
