"""Hostile and broken input: study files refused in one line, damaged stores named with the fix."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from gansweep.store.studydir import StudyDir
from gansweep.store import TrialStore
from gansweep.study import build_plan, study_from_data
from gansweep.trial.settings import metric_columns

from _reliab import BAD, study_data

def test_corpus_covers_the_issue_list():
    """Issue 8's list of hostile inputs, each with at least one file."""
    names = {p.stem for p in BAD.glob("*.yaml")}
    for kind in ("yaml_syntax", "wrong_type_steps", "unknown_top_key", "hp_out_of_range", "empty_grid_axis",
                 "all_excluded", "billion_trials", "python_tag", "name_traversal", "output_system_dir",
                 "huge_file", "binary_garbage", "yaml_bomb"):
        assert kind in names, kind
    assert len(list(BAD.glob("*.yaml"))) >= 51


def test_big_plan_passes_with_yes(cli, tmp_path):
    study = tmp_path / "big.yaml"
    study.write_text((BAD / "too_many_trials.yaml").read_text())
    code, out, err = cli("validate", study, "--yes")
    assert code == 0, err
    assert "total: 8000000 trials in 100 cells" in out


# -- damaged stores for status, plot and resume -----------------------------------------------------

def make_study_dir(tmp_path: Path, n: int = 6) -> StudyDir:
    study = study_from_data(study_data(), "s.yaml")
    plan = build_plan(study)
    sd = StudyDir(tmp_path / "rel")
    sd.create(study, {"dry_run": True})
    store = TrialStore(sd.results_dir, metric_columns(plan), plan.hp_names(), compact_at=4)
    for i, tid in enumerate(plan.trial_ids()[:n]):
        cell, strategy = tid.rsplit("-", 2)[0], "random"
        store.write({"trial_id": tid, "cell": cell, "strategy": strategy, "status": "completed",
                     "score": 10.0 + i, "fd": 10.0 + i, "config": json.dumps({"trial_id": tid})},
                    [{"step": 250, "seconds": 1.0, "fd": 20.0 + i}])
    return sd


def damage(sd: StudyDir, how: str) -> Path:
    trials = sd.results_dir / "trials"
    small = sorted(p for p in trials.iterdir() if not p.name.startswith("part-"))[0]
    part = next(p for p in trials.iterdir() if p.name.startswith("part-"))
    if how == "truncated":
        small.write_bytes(small.read_bytes()[:100])
        return small
    if how == "garbage_part":
        part.write_bytes(b"\x89PNG" + bytes(range(256)) * 8)
        return part
    if how == "score_strings":  # readable, but not the schema the writer declares
        t = pq.read_table(small)
        i = t.schema.get_field_index("score")
        pq.write_table(t.set_column(i, "score", t.column("score").cast(pa.string())), small)
        return small
    if how == "step_floats":  # steps with a fraction: not an integer column in another encoding
        evals = sd.results_dir / "evals" / small.name
        t = pq.read_table(evals)
        i = t.schema.get_field_index("step")
        pq.write_table(t.set_column(i, "step", pc.add(t.column("step").cast(pa.float64()), 0.5)), evals)
        return evals
    if how == "missing_column":
        pq.write_table(pq.read_table(small).drop(["status"]), small)
        return small
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["truncated", "garbage_part", "missing_column", "score_strings"])
def test_status_names_the_damaged_file(cli, tmp_path, how):
    sd = make_study_dir(tmp_path)
    code, out, err = cli("status", sd.path)
    assert code == 0 and "6/40 trials stored" in " ".join(out.split()), (out, err)
    bad = damage(sd, how)
    code, out, err = cli("status", sd.path)
    assert code == 2, (out, err)
    line = " ".join(err.split())
    assert line.startswith(f"error: {bad}: damaged results file") and "gansweep resume" in line
    assert "Traceback" not in err


def test_status_of_an_empty_results_directory(cli, tmp_path):
    sd = make_study_dir(tmp_path, n=0)
    code, out, err = cli("status", sd.path)
    assert code == 0 and "0/40 trials stored" in " ".join(out.split()), err


def test_status_of_an_empty_directory_is_not_a_study(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = cli("status", tmp_path / "empty")
    assert code == 2 and "not a study directory" in err


def test_resume_with_a_damaged_meta_file(cli, tmp_path):
    sd = make_study_dir(tmp_path, n=0)
    sd.meta_file.write_text("{ not json")
    code, _, err = cli("resume", sd.path)
    assert code == 2 and "gansweep.json: unreadable" in err and "Traceback" not in err


@pytest.mark.skipif(importlib.util.find_spec("gansweep.analysis") is None,
                    reason="gansweep.analysis (plot) is not in this worktree yet")
@pytest.mark.parametrize("how", ["truncated", "missing_column"])
def test_plot_names_the_damaged_file(cli, tmp_path, how):
    sd = make_study_dir(tmp_path)
    bad = damage(sd, how)
    code, out, err = cli("plot", sd.path)
    assert code == 2, (out, err)
    assert f"{bad}: damaged results file" in " ".join(err.split()) and "Traceback" not in err


# -- the hostile campaign against validate: one changed field per case --------------------------------

CAMPAIGN = yaml.safe_load((BAD.parent / "hostile_validate.yaml").read_text())


def _set(data: dict, dotted: str, value: object) -> dict:
    *path, last = dotted.split(".")
    node: Any = data
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    node[int(last) if isinstance(node, list) else last] = value
    return data


def _one_line_refusal(code: int, out: str, err: str, source: Path) -> str:
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.count("\n") == 1, err
    line = err.strip()
    assert line.startswith(f"error: {source}"), line
    assert len(line) <= 300 + len("error: "), len(line)
    return line


@pytest.mark.parametrize("case", CAMPAIGN, ids=lambda c: f"{c['set']}={str(c['value'])[:24]!r}")
def test_validate_campaign(cli, tmp_path, case):
    """Whatever run, Ray or a trial would reject, validate rejects first, in one bounded line."""
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump(_set(study_data(), case["set"], case["value"]), sort_keys=False))
    code, out, err = cli("validate", study)
    if case["expect"] is None:
        assert code == 0, err
        return
    assert case["expect"] in _one_line_refusal(code, out, err, study)


def test_campaign_is_large_enough():
    assert len(CAMPAIGN) >= 100


def test_alias_expanded_string_is_refused_in_one_short_line(cli, tmp_path):
    """A 200 KB string used 2000 times through aliases once made a 400 MB error line."""
    big = "x" * 200_000
    refs = ", ".join(["*s"] * 2000)
    study = tmp_path / "study.yaml"
    study.write_text(f"s: &s {big}\nname: [{refs}]\nsearch: [{{strategy: table1}}]\n")
    code, out, err = cli("validate", study)
    assert "expands to more than" in _one_line_refusal(code, out, err, study)


def test_a_long_value_is_abbreviated(cli, tmp_path):
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump(study_data(name="n" * 100_000)))
    code, out, err = cli("validate", study)
    assert "name must match" in _one_line_refusal(code, out, err, study)


def test_run_refuses_what_validate_refuses(cli, tmp_path):
    """The same gate in front of run: nothing is created for a refused study."""
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump(study_data(name="rel\n", output=str(tmp_path / "runs"))))
    code, out, err = cli("run", study, "--dry-run", "--yes")
    assert "name must match" in _one_line_refusal(code, out, err, study)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("how", ["score_strings", "step_floats"])
def test_a_wrongly_typed_file_is_quarantined_and_the_rest_reads(tmp_path, how):
    from gansweep.store import read_evals, read_trials
    from gansweep.store.parquet import quarantine_damaged

    sd = make_study_dir(tmp_path)
    bad = damage(sd, how)
    moved = quarantine_damaged(sd.path)
    assert bad.name in {p.name for p in moved}
    assert len(read_trials(sd.path)) == 5 and read_trials(sd.path).score.dtype == "float64"
    assert read_evals(sd.path).step.dtype == "int64"


# -- tracebacks at the edges: the file system or a file refuses; one line, exit 2 ----------------------

def _loop(path: Path) -> None:
    import shutil

    shutil.rmtree(path)
    path.symlink_to(path.name)  # a link to itself


EDGES = {
    "trials_loop": (lambda sd, tmp: _loop(sd.results_dir / "trials"), ["status", "{sd}"], "symbolic link"),
    "evals_loop": (lambda sd, tmp: _loop(sd.results_dir / "evals"), ["export", "{sd}", "--dest", "{tmp}/x"],
                   "symbolic link"),
    "part_loop": (lambda sd, tmp: (sd.results_dir / "trials" / "x.parquet").symlink_to("x.parquet"),
                  ["status", "{sd}"], "symbolic link"),
    "export_under_a_file": (lambda sd, tmp: (tmp / "f").write_text(""), ["export", "{sd}", "--dest", "{tmp}/f/x"],
                            "Not a directory"),
    "study_yaml_latin1": (lambda sd, tmp: sd.study_file.write_bytes(b"name: sm\xe9ll\n"), ["status", "{sd}"],
                          "not a text file (invalid UTF-8)"),
    "study_yaml_latin1_plot": (lambda sd, tmp: sd.study_file.write_bytes(b"name: sm\xe9ll\n"), ["plot", "{sd}"],
                               "not a text file (invalid UTF-8)"),
    "study_yaml_latin1_report": (lambda sd, tmp: sd.study_file.write_bytes(b"name: sm\xe9ll\n"),
                                 ["report", "{sd}"], "not a text file (invalid UTF-8)"),
    "study_yaml_alias_bomb_report": (lambda sd, tmp: sd.study_file.write_bytes((BAD / "alias_string_bomb.yaml").read_bytes()),
                                     ["report", "{sd}"], "expands to more than"),
    "meta_deeply_nested": (lambda sd, tmp: sd.meta_file.write_text("[" * 100_000 + "]" * 100_000),
                           ["status", "{sd}"], "nested too deeply"),
}


@pytest.mark.parametrize("case", sorted(EDGES))
def test_edges_are_one_line(cli, tmp_path, case):
    setup, args, expect = EDGES[case]
    sd = make_study_dir(tmp_path)
    setup(sd, tmp_path)
    code, out, err = cli(*[a.format(sd=sd.path, tmp=tmp_path) for a in args])
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.count("\n") == 1 and expect in err, err


RATES = {
    "binary": bytes(range(256)) * 16,
    "utf16": "architecture,resolution,penalty,steps_per_s\n".encode("utf-16"),
    "text_resolution": b"architecture,resolution,penalty,steps_per_s\ndcgan,big,none,10\n",
    "nan_rate": b"architecture,resolution,penalty,steps_per_s\ndcgan,28,none,nan\n",
    "negative_rate": b"architecture,resolution,penalty,steps_per_s\ndcgan,28,none,-3\n",
}


@pytest.mark.parametrize("case", sorted(RATES))
def test_validate_rates_of_a_bad_file_is_one_line(cli, tmp_path, case):
    rates = tmp_path / "rates.csv"
    rates.write_bytes(RATES[case])
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump(study_data()))
    code, out, err = cli("validate", study, "--rates", rates)
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.startswith(f"error: {rates}:") and err.count("\n") == 1, err
