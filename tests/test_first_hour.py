"""What a new user runs into in the first hour (found by a fresh-user test campaign), refused or
helped before Ray starts: no weights for a dry run, no data root, --out at a study, an edited study."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from gansweep.store.studydir import StudyDir
from gansweep.study import study_from_data

ROOT = Path(__file__).parents[1]
TINY = {
    "name": "tiny",
    "grid": {"dataset": ["ring8"], "architecture": ["mlp"]},
    "training": {"steps": 100, "eval_every": 50},
    "search": [{"strategy": "random", "trials": 3, "space": {"lr": {"low": 1e-4, "high": 1e-3}}}],
}


def _write(tmp_path: Path, data: dict, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_validate_a_paper_study_without_inception_weights_warns_and_succeeds(cli, monkeypatch):
    monkeypatch.delenv("GANSWEEP_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", "/nonexistent-gansweep-test")  # no cached weights either
    code, out, err = cli("validate", ROOT / "studies" / "reg_norm.yaml")
    assert code == 0, err
    assert "total: 7680 trials in 55 cells" in out
    assert err.startswith("warning: a real run (not --dry-run) needs more:") and "Inception-v3 weights" in err


def test_a_real_run_without_its_data_root_is_refused_before_anything_starts(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("GANSWEEP_DATA", raising=False)
    study = _write(tmp_path, {**TINY, "grid": {"dataset": ["cifar10"], "architecture": ["dcgan"]},
                              "metrics": {"primary": "kid"}})
    monkeypatch.setenv("GANSWEEP_INCEPTION_WEIGHTS", str(study))  # only its presence is checked here
    code, out, err = cli("run", study, "--out", tmp_path / "runs")
    assert code == 2, (out, err)
    assert err.startswith(f"error: {study}: grid.dataset: data set 'cifar10': no data root") and "\n" not in err.strip()
    assert not (tmp_path / "runs").exists()


def test_out_pointing_at_a_study_directory_is_refused(cli, tmp_path):
    existing = tmp_path / "runs" / "tiny"
    StudyDir(existing).create(study_from_data(TINY, "s.yaml"), {"dry_run": True})
    code, _, err = cli("run", _write(tmp_path, TINY), "--out", existing, "--dry-run")
    assert code == 2 and "is itself a study directory; give its parent as --out" in err
    code, _, err = cli("run", _write(tmp_path, TINY), "--out", tmp_path / "runs")
    assert code == 2 and f"{existing}: is a study (a dry run): gansweep resume {existing}" in err


def test_status_shows_the_plan_as_run_when_study_yaml_was_edited(cli, tmp_path):
    sd = StudyDir(tmp_path / "runs" / "tiny")
    sd.create(study_from_data(TINY, "s.yaml"), {"dry_run": True})
    edited = {**TINY, "search": [{**TINY["search"][0], "trials": 2}]}
    sd.study_file.write_text(yaml.safe_dump(edited))
    code, out, err = cli("status", sd.path)
    assert code == 0, err
    assert "was edited since the study was planned" in err
    assert "0/3 trials stored" in " ".join(out.split())


def _user_env() -> dict[str, str]:
    """The environment of a user whose venv is active: its bin/ first on PATH (the tests may run as
    .venv/bin/python -m pytest without activating it)."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "COLUMNS": "120"}


def _gansweep(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``gansweep ARGS`` as a user runs it: the installed command, in a real process."""
    return subprocess.run(["gansweep", *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=_user_env(), timeout=120)


def test_help_labels_no_flag_as_taking_a_value():
    """typer's rich help labelled every flag ``<bool>`` (``--force <bool>``), as if it took a value."""
    for command in ([], ["run"], ["resume"], ["validate"], ["samples"], ["bench"], ["data", "prepare"]):
        shown = _gansweep(*command, "--help")
        assert shown.returncode == 0, shown.stderr
        assert "<bool>" not in shown.stdout and "--help" in shown.stdout
    run_help = _gansweep("run", "--help").stdout
    assert "<int range>" in run_help and "<str>" in run_help  # options that take a value keep their label


@pytest.mark.slow
def test_make_demo_twice_keeps_the_first_study(tmp_path):
    """``make demo`` ran ``gansweep run --force``: a second run deleted runs/demo. It now continues
    it. The README's recipe as a user runs it (the Makefile, in a directory of its own with a small
    demo study; ``-o install``: the package is installed already)."""
    (tmp_path / "studies").mkdir()
    demo = {**TINY, "name": "demo", "training": {"steps": 60, "eval_every": 30, "batch_size": 64},
            "search": [{**TINY["search"][0], "trials": 2}], "metrics": {"primary": "fd", "samples": 500}}
    (tmp_path / "studies" / "demo.yaml").write_text(yaml.safe_dump(demo))
    make = ["make", "--no-print-directory", "-f", str(ROOT / "Makefile"), "-o", "install", "demo"]

    def stored() -> list[tuple]:
        trials = pd.read_parquet(tmp_path / "runs" / "demo" / "results" / "trials")
        return sorted(zip(trials.trial_id, trials.score, trials.train_seconds))

    first = subprocess.run(make, cwd=tmp_path, capture_output=True, text=True, env=_user_env(), timeout=600)
    assert first.returncode == 0, first.stdout + first.stderr
    kept = stored()
    assert len(kept) == 2 and (tmp_path / "runs" / "demo" / "report.html").exists()

    second = subprocess.run(make, cwd=tmp_path, capture_output=True, text=True, env=_user_env(), timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "runs/demo exists: continuing it" in second.stdout and "its results are kept" in second.stdout
    assert stored() == kept  # nothing ran again (train_seconds would differ) or was deleted
    assert "2/2 trials stored" in " ".join(second.stdout.split())


def test_ci_runs_the_readme_test_command_with_what_the_dev_extras_install():
    """CI and a newcomer run the same `make test`; its pytest options need only the dev extras."""
    import re
    import tomllib

    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    assert "make test " in readme and "CONTRIBUTING.md" in readme  # the suite's details: CONTRIBUTING.md
    assert "make test-fast" in (ROOT / "CONTRIBUTING.md").read_text()
    assert ci.rstrip().endswith("make test")
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test: install-dev$", makefile, re.M) and "pip install -q -e '.[dev]'" in makefile.replace(
        "$(PIP)", "pip")
    dev = " ".join(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"])
    pytest_line = next(line for line in makefile.splitlines() if line.startswith("PYTEST :="))
    if " -n " in pytest_line:
        assert "pytest-xdist" in dev


def test_the_readme_reads_in_ten_minutes_and_its_links_resolve():
    """A newcomer's page: at most 1,200 words (as ``wc -w`` counts), the two set-up commands, every
    linked page present; reference material lives in docs/, the suite's internals in CONTRIBUTING.md."""
    import re

    readme = (ROOT / "README.md").read_text()
    assert len(readme.split()) <= 1200
    assert "make demo" in readme and "make test" in readme
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", readme)
    local = [link for link in links if "://" not in link]
    assert {"docs/STUDY-FILE.md", "docs/CLI.md", "docs/ENVIRONMENT.md", "docs/STUDY-DIRECTORY.md",
            "CONTRIBUTING.md"} <= set(local)
    assert all((ROOT / link).is_file() for link in local), [link for link in local if not (ROOT / link).is_file()]
