"""Valid data is never called damaged: results files that other tools wrote or annotated.

A colleague adds a column to a trials file, pandas writes strings as a ``category`` (dictionary
encoded) or an integer column with nulls as floats, a tool narrows int64/float64: every reader
(status, plot, export, resume) reads the declared columns and ignores the rest, and ``resume``
sets nothing aside and trains nothing again. Only a file that cannot give the declared columns is
damaged. A ``completed`` row without a finite score reads as ``diverged`` and never makes the
study's best score unknown.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from gansweep.store import TrialStore, read_evals, read_trials
from gansweep.store.parquet import damaged_files, quarantine_damaged

from _reliab import SPACE, Drivers, write_study

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def finished(tmp_path_factory, ray_head):
    """A finished 24-trial dry-run study, stored as 2 part files and 4 small files."""
    tmp = tmp_path_factory.mktemp("valid")
    study_file = write_study(tmp, search=[{"strategy": "random", "trials": 6, "space": SPACE}])
    d = Drivers(ray_head)
    try:
        code, out, err = d.run("run", str(study_file), "--out", str(tmp / "runs"), "--dry-run",
                               env={"GANSWEEP_STORE_COMPACT_AT": "10"})
    finally:
        d.close()
    assert code == 0, err[-3000:]
    return tmp / "runs" / "rel"


def _set(table: pa.Table, name: str, column: pa.Array | pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


def _files(study_dir: Path, sub: str, part: bool) -> list[Path]:
    return sorted(p for p in (study_dir / "results" / sub).glob("*.parquet") if p.name.startswith("part-") == part)


def annotate_part(study_dir: Path) -> Path:
    """A colleague's note on every row of a compacted trials file (pyarrow)."""
    f = _files(study_dir, "trials", True)[0]
    t = pq.read_table(f)
    pq.write_table(t.append_column("note", pa.array(["checked by Ana"] * len(t))), f)
    return f


def annotate_with_pandas(study_dir: Path) -> Path:
    """The same with pandas: its round trip also writes the int column ``round`` (all null) as floats."""
    f = _files(study_dir, "trials", True)[1]
    df = pd.read_parquet(f)
    df["note"] = "looks fine"
    df["reviewed"] = 1.5  # a number that is no metric of the study
    df.to_parquet(f)
    return f


def categories(study_dir: Path) -> Path:
    """Strings as a pandas ``category`` (dictionary-encoded), trials and evals of a part."""
    f = _files(study_dir, "trials", True)[0]
    df = pd.read_parquet(f)
    for col in ("trial_id", "cell", "loss", "penalty", "status", "strategy", "config"):
        df[col] = df[col].astype("category")
    df.to_parquet(f)
    ev = study_dir / "results" / "evals" / f.name
    evals = pd.read_parquet(ev)
    evals["trial_id"] = evals["trial_id"].astype("category")
    evals["note"] = "ok"
    evals.to_parquet(ev)
    return f


def narrow(study_dir: Path) -> Path:
    """Narrower integers and floats (int32, int16, float32) in a small trials file and its evals."""
    f = _files(study_dir, "trials", False)[0]
    t = pq.read_table(f)
    t = _set(t, "steps", t.column("steps").cast(pa.int16()))
    t = _set(t, "round", t.column("round").cast(pa.int32()))
    t = _set(t, "score", t.column("score").cast(pa.float32()))
    t = _set(t, "fd", t.column("fd").cast(pa.float32()))
    pq.write_table(t, f)
    ev = study_dir / "results" / "evals" / f.name
    e = pq.read_table(ev)
    pq.write_table(_set(e, "step", e.column("step").cast(pa.int32())), ev)
    return f


VALID = {"annotated_part": annotate_part, "annotated_with_pandas": annotate_with_pandas,
         "categories": categories, "narrow": narrow}


def _copy(finished: Path, tmp_path: Path) -> Path:
    study_dir = tmp_path / "rel"
    shutil.copytree(finished, study_dir)
    return study_dir


@pytest.mark.parametrize("how", sorted(VALID))
def test_valid_files_are_read_and_never_set_aside(finished, tmp_path, cli, how):
    study_dir = _copy(finished, tmp_path)
    before = read_trials(study_dir)
    changed = VALID[how](study_dir)
    kept = pq.read_schema(changed).names
    code, out, err = cli("status", study_dir)
    assert code == 0, err
    assert "24/24 trials stored" in " ".join(out.split())
    code, out, err = cli("plot", study_dir, "--out", tmp_path / "plots")
    assert code == 0 and "Traceback" not in err, err
    code, out, err = cli("export", study_dir, "--dest", tmp_path / "export")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "export" / "trials.csv")) == 24
    code, out, err = cli("resume", study_dir)
    assert code == 0, err
    assert "damaged" not in err and not (study_dir / "results" / "quarantine").exists()
    after = read_trials(study_dir)
    cols = [c for c in before.columns if c != "round"]
    pd.testing.assert_frame_equal(after[cols], before[cols], check_dtype=False, rtol=1e-6)  # nothing trained again
    assert "note" not in after.columns and "reviewed" not in after.columns  # not ours: ignored ...
    assert pq.read_schema(changed).names == kept  # ... and kept on disk
    assert damaged_files(study_dir) == []


def _fraction_in_round(study_dir: Path) -> Path:
    f = _files(study_dir, "trials", False)[0]
    t = pq.read_table(f)
    pq.write_table(_set(t, "round", pa.array([0.5] * len(t))), f)
    return f


def _score_as_text(study_dir: Path) -> Path:
    f = _files(study_dir, "trials", True)[0]
    t = pq.read_table(f)
    pq.write_table(_set(t, "score", pc.cast(t.column("score"), pa.string())), f)
    return f


@pytest.mark.parametrize("damage", [_fraction_in_round, _score_as_text])
def test_a_file_that_cannot_give_the_declared_columns_is_still_damaged(finished, tmp_path, cli, damage):
    """Among annotated files, the one that cannot give the declared values is named and set aside."""
    study_dir = _copy(finished, tmp_path)
    annotate_with_pandas(study_dir)
    bad = damage(study_dir)
    code, out, err = cli("status", study_dir)
    assert code == 2 and f"{bad}: damaged results file" in " ".join(err.split()), err
    assert [p for p, _ in damaged_files(study_dir)] == [bad]
    moved = quarantine_damaged(study_dir)
    assert {p.name for p in moved} == {bad.name}  # its trials file and its evals file, nothing else


# -- compaction keeps what is not ours ---------------------------------------------------------------

METRICS, HPS = ["fd"], ["lr"]


def _row(i: int, **extra) -> dict:
    return {"trial_id": f"c.x-random-{i:05d}", "cell": "c.x", "strategy": "random", "status": "completed",
            "score": float(i + 1), "fd": float(i + 1), "hp_lr": 1e-3, "steps": 10, **extra}


def test_compaction_keeps_annotations_and_reads_other_encodings(tmp_path):
    store = TrialStore(tmp_path / "results", METRICS, HPS, compact_at=0)
    for i in range(4):
        store.write(_row(i), [{"step": 5, "seconds": 1.0, "fd": float(i + 1)}])
    trials = tmp_path / "results" / "trials"
    first, second = sorted(trials.glob("*.parquet"))[:2]
    t = pq.read_table(first)
    pq.write_table(t.append_column("note", pa.array(["keep me"])), first)
    df = pd.read_parquet(second)
    df["status"] = df["status"].astype("category")
    df.to_parquet(second)
    merged = TrialStore(tmp_path / "results", METRICS, HPS).compact()  # a later writer: reads them back
    assert merged == 4
    (part,) = trials.glob("part-*.parquet")
    stored = pq.read_table(part).sort_by("trial_id")
    assert len(stored) == 4 and stored.column("note").to_pylist() == ["keep me", None, None, None]
    assert pq.read_schema(part).field("status").type == pa.string()
    got = read_trials(tmp_path)
    assert list(got.score) == [1.0, 2.0, 3.0, 4.0] and "note" not in got.columns
    assert len(read_evals(tmp_path)) == 4


# -- one null score does not poison the summary ------------------------------------------------------

def _null_score(study_dir: Path) -> str:
    """Another tool's row: completed, score null (and one stopped with NaN)."""
    f = _files(study_dir, "trials", False)[0]
    t = pq.read_table(f)
    t = _set(t, "status", pa.array(["completed"] * len(t)))
    pq.write_table(_set(t, "score", pa.nulls(len(t), pa.float64())), f)
    g = _files(study_dir, "trials", False)[1]
    t = pq.read_table(g)
    t = _set(t, "status", pa.array(["stopped"] * len(t)))
    pq.write_table(_set(t, "score", pa.array([math.nan] * len(t))), g)
    return f.stem


def test_a_completed_row_without_a_score_is_diverged_and_the_best_is_known(finished, tmp_path, cli):
    study_dir = _copy(finished, tmp_path)
    before = read_trials(study_dir)
    nulled = _null_score(study_dir)
    best = before[before.status.isin(["completed", "stopped"]) & ~before.trial_id.isin(
        [nulled, _files(study_dir, "trials", False)[1].stem])].score.min()
    df = read_trials(study_dir)
    row = df[df.trial_id == nulled].iloc[0]
    assert row.status == "diverged" and "not finite" in row.error
    assert (df.status.isin(["completed", "stopped"]) <= df.score.map(math.isfinite)).all()
    for command in ("status", "resume"):
        code, out, err = cli(command, study_dir)
        assert code == 0, err
        assert f"best score {best:.4g}" in " ".join(out.split()), out
    assert not (study_dir / "results" / "quarantine").exists()


def test_the_writer_never_stores_a_scored_status_without_a_score(tmp_path):
    store = TrialStore(tmp_path / "results", METRICS, HPS)
    store.write({**_row(0), "status": "stopped", "score": None})
    store.write({**_row(1), "status": "stopped", "score": math.nan})
    stored = pq.read_table(tmp_path / "results" / "trials").to_pandas()
    assert list(stored.status) == ["diverged", "diverged"] and stored.error.str.contains("not finite").all()


# -- campaign: the clock set back between two quarantines -----------------------------------------------

def test_a_second_quarantine_in_the_same_second_keeps_the_first(tmp_path, monkeypatch):
    """A trial set aside, run again, damaged again, set aside within the same second (or after the
    clock was set back): the first quarantined copy and its reason were overwritten by the second."""
    from gansweep.store import parquet as store_mod

    monkeypatch.setattr(store_mod.time, "strftime", lambda fmt, *a: "20260101T000000")  # a frozen clock
    first = []
    for attempt in range(2):
        store = TrialStore(tmp_path / "results", METRICS, HPS, compact_at=0)
        store.write(_row(0, error=f"attempt {attempt}"), [{"step": 5, "seconds": 1.0, "fd": 1.0}])
        small = tmp_path / "results" / "trials" / f"{_row(0)['trial_id']}.parquet"
        small.write_bytes(small.read_bytes()[:50])  # damaged
        first += quarantine_damaged(tmp_path)
    kept = sorted((tmp_path / "results" / "quarantine").rglob("*.parquet"))
    assert len(first) == 4 and len(kept) == 4  # both trials files and both evals files
    assert len(list((tmp_path / "results" / "quarantine").rglob("REASONS.txt"))) == 2
