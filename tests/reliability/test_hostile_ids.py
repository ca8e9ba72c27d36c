"""Distinct choices stay distinct cells, and every id a plan makes is of the id grammar.

Cell ids lower-cased names and made every other character ``_``: two ``folder:`` data sets that
differ in ``-``/``_``, case or non-ASCII became one cell (validate listed it twice, run stored half
and exited 1, resume exited 1 forever), and a long path made trial ids the grammar refuses (a real
run kept no generator for that cell). Issue 30, item 1.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
import yaml

from gansweep.study import build_plan, load_study
from gansweep.study.plan import is_trial_id

LONG = "folder:/data/" + "a" * 287  # a 300-character data set name
PAIRS = {
    "dash_underscore": ["folder:/data/my-set", "folder:/data/my_set"],
    "case": ["folder:/data/Cats", "folder:/data/cats"],
    "non_ascii": ["folder:/data/café", "folder:/data/cafè"],
    "kelvin_sign": ["folder:/data/\u212a9", "folder:/data/k9"],  # 'K'.lower() is ASCII 'k'
    "long_path": [LONG, LONG[:-1] + "b"],
}


def _study(tmp_path, datasets, trials=1, name="ids"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "output": str(tmp_path / "runs"),
        "grid": {"dataset": datasets, "architecture": ["dcgan"]},
        "metrics": {"primary": "fid", "samples": 100},
        "training": {"steps": 20, "eval_every": 10, "batch_size": 8, "width": 8, "resolution": 16},
        "search": [{"strategy": "random", "trials": trials, "space": {"lr": {"low": 1e-4, "high": 1e-3}}}],
    }, allow_unicode=True))
    return path


def _shown_cells(out: str) -> list[str]:
    return re.findall(r"^│ (\S+)\s+│", out, flags=re.M)


@pytest.mark.parametrize("case", sorted(PAIRS))
def test_validate_shows_two_choices_as_two_cells_of_the_grammar(cli, tmp_path, inception_weights, case):
    study = _study(tmp_path, PAIRS[case])
    code, out, err = cli("validate", study)
    assert code == 0, err
    shown = _shown_cells(out)
    assert len(shown) == 2 and shown[0] != shown[1], out
    plan = build_plan(load_study(study), str(study), weights=False)
    assert sorted(shown) == sorted(c.id for c in plan.cells)
    assert len(set(plan.trial_ids())) == 2
    assert all(is_trial_id(t) for t in plan.trial_ids()), plan.trial_ids()


def test_a_300_character_path_gives_ids_of_the_grammar(cli, tmp_path, inception_weights):
    study = _study(tmp_path, [LONG])
    code, out, err = cli("validate", study)
    assert code == 0, err
    (tid,) = build_plan(load_study(study), str(study), weights=False).trial_ids()
    assert is_trial_id(tid) and tid.startswith("folder__data_aaa") and len(tid.split(".")[0]) <= 64


def test_ordinary_ids_do_not_change(tmp_path):
    """Stored studies resume: every registered name is its own id part, as before."""
    from gansweep.study import study_from_data

    study = study_from_data({"name": "s", "grid": {"dataset": ["ring8", "grid25"], "architecture": ["mlp"],
                                                   "normalization": ["none", "sn"]},
                             "search": [{"strategy": "random", "trials": 8, "space": {"lr": {"low": 1e-4,
                                                                                              "high": 1e-3}}}]}, "s")
    ids = build_plan(study, weights=False).trial_ids()
    assert "ring8.mlp.ns.none.sn-random-0007" in ids and "grid25.mlp.ns.none.none-random-0000" in ids
    one = study_from_data({"name": "s", "grid": {"dataset": ["folder:/data/my-set"]},
                           "search": [{"strategy": "table1"}]}, "s")
    assert build_plan(one, weights=False).cells[0].id == "folder__data_my_set.dcgan.ns.none.none"


def test_a_built_clash_is_refused_naming_both_choices(cli, tmp_path, inception_weights):
    """The hashed part of one name spelled out as another name: refused at validate, not merged."""
    from gansweep.study.plan import axis_parts

    a, b = "folder:/d/a-b", "folder:/d/a_b"
    hashed = axis_parts([a, b])[a]
    c = "folder:/d/" + hashed.removeprefix("folder__d_")
    study = _study(tmp_path, [a, b, c])
    code, out, err = cli("validate", study)
    line = err.strip()
    assert code == 2 and "\n" not in line and "Traceback" not in err, err
    assert line.startswith(f"error: {study}: grid.dataset: ") and repr(a) in line and repr(c) in line, line


@pytest.mark.slow
def test_a_dry_run_stores_every_cell_and_status_tells_them_apart(cli, tmp_path):
    """Before: 2/5 trials stored, exit 1 (and resume exit 1 forever)."""
    datasets = [*PAIRS["dash_underscore"], "folder:/data/My_Set", *PAIRS["non_ascii"], LONG]
    study = _study(tmp_path, datasets)
    code, out, err = cli("run", study, "--dry-run", "--yes")
    assert code == 0, (out, err)
    assert "6/6 trials stored" in out
    trials = pd.read_parquet(tmp_path / "runs" / "ids" / "results" / "trials")
    assert len(trials) == 6 and trials.trial_id.nunique() == 6 and trials.cell.nunique() == 6
    assert trials.trial_id.map(is_trial_id).all()
    assert sorted(trials.dataset) == sorted(datasets)
    code, out, err = cli("status", tmp_path / "runs" / "ids")
    assert code == 0 and "6/6 trials stored" in " ".join(out.split()), err
    code, out, err = cli("resume", tmp_path / "runs" / "ids")
    assert code == 0, err


def test_resume_refuses_a_new_choice_that_would_rename_a_stored_cell(cli, tmp_path):
    """Adding ``my_set`` beside a stored ``my-set`` would give both hashed ids: the stored cell's
    trials would fall out of the plan, so resume refuses and says why."""
    from gansweep.store.studydir import StudyDir
    from gansweep.study import study_from_data

    data = yaml.safe_load(_study(tmp_path, ["folder:/data/my-set"]).read_text())
    sd = StudyDir(tmp_path / "runs" / "ids")
    sd.create(study_from_data(data, "s"), {"dry_run": True})
    data["grid"]["dataset"].append("folder:/data/my_set")
    sd.study_file.write_text(yaml.safe_dump(data))
    code, out, err = cli("resume", sd.path)
    assert code == 2 and "renames 1 cell(s), e.g. folder__data_my_set.dcgan.ns.none.none" in err, err
