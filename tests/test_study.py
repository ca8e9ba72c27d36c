"""Study files: every user mistake is one line with file and field, exit code 2."""

from pathlib import Path

import pytest
import yaml

from gansweep.study import build_plan, dump_study, load_study, study_from_data

BAD = Path(__file__).parent / "data" / "bad_studies"
GOOD = Path(__file__).resolve().parents[1] / "studies"


def expected(path: Path) -> str:
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    return first.removeprefix("# expect: ").strip() if first.startswith("# expect:") else "not a text file"


@pytest.mark.parametrize("path", sorted(BAD.glob("*.yaml")), ids=lambda p: p.stem)
def test_bad_study_is_one_clear_line(cli, path):
    code, out, err = cli("validate", path)
    assert code == 2, (out, err)
    line = err.strip()
    assert "\n" not in line and "Traceback" not in err
    assert line.startswith(f"error: {path}"), line
    assert expected(path) in line, line


def test_bad_corpus_is_large_enough():
    assert len(list(BAD.glob("*.yaml"))) >= 30


def test_missing_file(cli, tmp_path):
    code, _, err = cli("validate", tmp_path / "nope.yaml")
    assert code == 2 and "no such study file" in err


def test_a_study_directory_given_as_the_study_file_is_named_a_directory(cli, tmp_path):
    """`validate runs/demo` said 'no such study file' of a directory that exists."""
    study_dir = tmp_path / "demo"
    study_dir.mkdir()
    (study_dir / "study.yaml").write_text("name: demo\n")
    for command in ("validate", "run"):
        code, out, err = cli(command, study_dir, "--dry-run") if command == "run" else cli(command, study_dir)
        line = err.strip()
        assert code == 2 and "\n" not in line, err
        assert line == (f"error: {study_dir}: is a directory, not a study file; a study directory: "
                        f"'gansweep resume {study_dir}' continues it, {study_dir / 'study.yaml'} is its study file")
    code, _, err = cli("validate", tmp_path)
    assert code == 2 and err.strip() == f"error: {tmp_path}: is a directory, not a study file; give a study's YAML file"


def test_shipped_studies_validate(cli, inception_weights):
    for path in sorted(GOOD.glob("*.yaml")):
        code, out, err = cli("validate", path)
        assert code == 0, (path, err)
        assert "total:" in out


def test_demo_plan_counts():
    study = load_study(GOOD / "demo.yaml")
    plan = build_plan(study)
    assert plan.total == sum(e.trials for e in plan.entries)
    ids = plan.trial_ids()
    assert len(ids) == len(set(ids)) == plan.total
    assert ids[0].startswith(plan.cells[0].id + "-")


def test_table1_counts_follow_the_paper():
    data = {"name": "t", "grid": {"penalty": ["none", "gp"]}, "search": [{"strategy": "table1"}]}
    plan = build_plan(study_from_data(data, "t.yaml"))
    counts = {e.cell.penalty: e.trials for e in plan.entries}
    assert counts == {"none": 12, "gp": 24}  # 3 lr × 4 Adam settings, × 2 λ with a penalty


def test_exclude_removes_cells():
    data = {"name": "t", "grid": {"penalty": ["none", "gp"], "normalization": ["none", "sn"]},
            "exclude": [{"penalty": "gp", "normalization": "sn"}], "search": [{"strategy": "table1"}]}
    plan = build_plan(study_from_data(data, "t.yaml"))
    assert len(plan.cells) == 3
    assert all(not (c.penalty == "gp" and c.normalization == "sn") for c in plan.cells)


def test_penalty_weight_only_with_penalty():
    data = {"name": "t", "grid": {"penalty": ["none", "gp"]},
            "search": [{"strategy": "random", "trials": 2,
                        "space": {"lr": {"low": 1e-4, "high": 1e-3, "log": True},
                                  "penalty_weight": {"low": 0.1, "high": 100, "log": True}}}]}
    plan = build_plan(study_from_data(data, "t.yaml"))
    spaces = {e.cell.penalty: set(e.space()) for e in plan.entries}
    assert spaces == {"none": {"lr"}, "gp": {"lr", "penalty_weight"}}


def test_study_round_trips_through_yaml():
    study = load_study(GOOD / "demo.yaml")
    again = study_from_data(yaml.safe_load(dump_study(study)), "dump")
    assert again == study


def test_yaml_merge_keys_are_accepted_and_may_override(tmp_path):
    """Anchors and `<<:` merges shorten a study with similar search entries (only true duplicates are refused)."""
    path = tmp_path / "merge.yaml"
    path.write_text("""
name: merge
grid: {dataset: [ring8], architecture: [mlp]}
training: {steps: 100, eval_every: 50}
search:
  - &base {strategy: random, trials: 2, space: {lr: {low: 1.0e-4, high: 1.0e-3}}}
  - <<: *base
    name: more
    trials: 5
""")
    study = load_study(path)
    assert [(s.name, s.trials) for s in study.search] == [(None, 2), ("more", 5)]


def test_numbers_as_yaml_writes_them_pass_and_text_stays_text(cli, tmp_path):
    """Strict types (issue 30): an integer still passes as a float, ``1e-5`` (YAML 1.2's float, a string
    to PyYAML's 1.1 rules, so refused by the strict schema without the loader's resolver) is a number,
    and a name that looks like one round-trips through the stored study.yaml as text."""
    path = tmp_path / "s.yaml"
    path.write_text("name: '1e3'\nsearch:\n  - {strategy: random, name: '2e5', trials: 2, space:\n"
                    "      {lr: {low: 1e-5, high: 1, log: true}, penalty_weight: {choices: [1, 10]},"
                    " beta2: {low: 9E-1, high: 0.999}}}\n"
                    "resources: {cpu: 1, gpu: 0}\ngrid: {penalty: [gp]}\n")
    code, out, err = cli("validate", path)
    assert code == 0, err
    study = load_study(path)
    space = study.search[0].space
    assert space["lr"].low == 1e-5 and space["lr"].high == 1.0 and space["beta2"].low == 0.9
    assert space["penalty_weight"].choices == [1.0, 10.0] and study.resources.cpu == 1.0
    again = tmp_path / "again.yaml"
    again.write_text(dump_study(study))
    assert load_study(again) == study and load_study(again).name == "1e3"
