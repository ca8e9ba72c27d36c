"""Property-based tests: any accepted study round-trips; any write sequence leaves one row per trial, the first."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gansweep.driver.guard import check_resumable
from gansweep.driver.resume import accept_edits
from gansweep.store.studydir import StudyDir, fingerprint
from gansweep.errors import StudyError
from gansweep.store import TrialStore, read_evals, read_trials, stored_trial_ids
from gansweep.store import parquet as store_mod
from gansweep.study import dump_study, study_from_data
from gansweep.study.load import parse_yaml
from gansweep.gan.specs import GRID_AXES
from gansweep.study.schema import HYPERPARAMETERS

from _reliab import Crash, crash_at

# -- studies ---------------------------------------------------------------------------------------

names = st.from_regex(r"[a-z0-9_-]{1,12}", fullmatch=True).filter(lambda s: s not in (".", ".."))
labels = st.from_regex(r"[a-z0-9_]{1,8}", fullmatch=True)
finite = dict(allow_nan=False, allow_infinity=False)


@st.composite
def dimension(draw, name):
    lo, hi, integer = HYPERPARAMETERS[name]
    if integer:
        values = draw(st.lists(st.integers(int(lo), int(hi)), min_size=1, max_size=4, unique=True))
        if draw(st.booleans()):
            return {"choices": [float(v) for v in values]}
        a, b = sorted(draw(st.lists(st.integers(int(lo), int(hi)), min_size=2, max_size=2, unique=True)))
        return {"low": float(a), "high": float(b)}
    if draw(st.booleans()):
        return {"choices": draw(st.lists(st.floats(lo, hi, **finite), min_size=1, max_size=4, unique=True))}
    log = draw(st.booleans())
    a, b = sorted(draw(st.lists(st.floats(max(lo, 1e-9) if log else lo, hi, **finite), min_size=2, max_size=2,
                                unique=True)))
    return {"low": a, "high": b, "log": log}


@st.composite
def space(draw):
    chosen = draw(st.lists(st.sampled_from(sorted(HYPERPARAMETERS)), min_size=1, max_size=4, unique=True))
    return {n: draw(dimension(n)) for n in chosen}


@st.composite
def search_entry(draw):
    kind = draw(st.sampled_from(["table1", "random", "gp", "optuna"]))
    entry = {"strategy": kind}
    if kind == "random":
        entry.update(trials=draw(st.integers(1, 10**6)), space=draw(space()))
    elif kind == "gp":
        entry.update(rounds=draw(st.integers(1, 100)), per_round=draw(st.integers(1, 50)),
                     acquisition=draw(st.sampled_from(["gp_hedge", "EI", "LCB", "PI"])), space=draw(space()))
    elif kind == "optuna":
        entry.update(trials=draw(st.integers(1, 10**5)), sampler=draw(st.sampled_from(["tpe", "gp"])),
                     space=draw(space()))
    return entry


@st.composite
def study_dicts(draw):
    entries = draw(st.lists(search_entry(), min_size=1, max_size=4))
    for i, e in enumerate(entries):
        e["name"] = draw(labels) + str(i)  # distinct labels
    grid = {axis: draw(st.lists(st.sampled_from(a.specs.names()), min_size=1, max_size=3, unique=True))
            for axis, a in GRID_AXES.items() if draw(st.booleans())}
    data = {
        "name": draw(names),
        "seed": draw(st.integers(0, 2**31)),
        "description": draw(st.text(max_size=40)),
        "grid": grid,
        "training": {"steps": draw(st.integers(1, 10**6)), "eval_every": draw(st.integers(1, 10**5)),
                     "batch_size": draw(st.integers(1, 512)),
                     "timeout": draw(st.none() | st.floats(0.5, 1e6, **finite)),
                     "prior": draw(st.sampled_from(["normal", "uniform"])),
                     "options": draw(st.dictionaries(labels, st.integers() | st.text(max_size=5), max_size=2))},
        "metrics": {"samples": draw(st.integers(2, 10**5)),
                    "extra": draw(st.lists(st.sampled_from(["is", "kid", "modes", "hq"]), max_size=2, unique=True))},
        "search": entries,
        # Ray takes a fraction of one unit or a whole number of them (validation refuses 2.5 GPUs)
        "resources": {"gpu": draw(st.floats(0, 1, **finite) | st.integers(1, 8)),
                      "cpu": draw(st.floats(0.1, 1, **finite) | st.integers(1, 64))},
        "failure": {"max_failures": draw(st.integers(0, 10))},
    }
    if grid and draw(st.booleans()):
        axis = draw(st.sampled_from(sorted(grid)))
        data["exclude"] = [{axis: grid[axis][0]}]
    return data


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(study_dicts())
def test_any_accepted_study_round_trips_through_study_yaml(data):
    try:
        study = study_from_data(data, "generated.yaml")
    except StudyError:
        assume(False)
    text = dump_study(study)
    again = study_from_data(parse_yaml(text, "study.yaml"), "study.yaml")  # what resume reads
    assert again == study
    assert fingerprint(again) == fingerprint(study)
    assert dump_study(again) == text
    assert check_resumable(study, again) == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(study_dicts())
def test_any_accepted_study_round_trips_through_a_study_directory(data):
    try:
        study = study_from_data(data, "generated.yaml")
    except StudyError:
        assume(False)
    with tempfile.TemporaryDirectory() as d:
        sd = StudyDir(Path(d) / study.name)
        sd.create(study, {"dry_run": True})
        loaded, meta = sd.load()
        assert loaded == study and meta["fingerprint"] == fingerprint(study)
        assert accept_edits(sd, loaded) == []
        assert yaml.safe_load(sd.study_file.read_text()) == study.model_dump(mode="json")


# -- the store ---------------------------------------------------------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.integers(0, 7), st.integers(0, 3)),  # trial, version
        st.tuples(st.just("compact"), st.just(0), st.just(0)),
        st.tuples(st.just("reopen"), st.just(0), st.just(0)),
        st.tuples(st.just("crash_write"), st.integers(0, 7), st.integers(0, 3)),
        st.tuples(st.just("crash_compact"), st.integers(0, 20), st.just(0)),
    ),
    max_size=30,
)


def _row(i: int, v: int) -> dict:
    return {"trial_id": f"c.x-r-{i:04d}", "cell": "c.x", "strategy": "r", "status": "completed",
            "score": float(10 * i + v), "fd": float(v), "hp_lr": 1e-3}


def _evals(i: int, v: int) -> list[dict]:
    return [{"step": s, "seconds": 1.0, "fd": float(100 * v + s)} for s in range(1, 1 + (i + v) % 3)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.integers(0, 5))
def test_any_write_sequence_leaves_one_row_per_trial_the_first(sequence, compact_at):
    old_fsync = store_mod.FSYNC
    store_mod.FSYNC = False
    try:
        with tempfile.TemporaryDirectory() as d:
            root = Path(d) / "results"
            store = TrialStore(root, ["fd"], ["lr"], compact_at=compact_at)
            first: dict[str, int] = {}  # trial id → the version that was committed first
            for op, a, b in sequence:
                if op == "write":
                    stored = store.write(_row(a, b), _evals(a, b))
                    tid = _row(a, b)["trial_id"]
                    assert stored == (tid not in first)
                    first.setdefault(tid, b)
                elif op == "compact":
                    store.compact()
                elif op == "reopen":
                    store = TrialStore(root, ["fd"], ["lr"], compact_at=compact_at)
                elif op == "crash_write":
                    with crash_at(b):
                        try:
                            store.write(_row(a, b), _evals(a, b))
                        except Crash:
                            pass
                    tid = _row(a, b)["trial_id"]
                    if tid in stored_trial_ids(d):  # the crash came after the commit
                        first.setdefault(tid, b)
                    _check(Path(d), first)  # readers, before any repair
                    store = TrialStore(root, ["fd"], ["lr"], compact_at=compact_at)  # the next driver
                else:  # crash_compact
                    with crash_at(a):
                        try:
                            store.compact()
                        except Crash:
                            pass
                    _check(Path(d), first)  # readers, before any repair
                    store = TrialStore(root, ["fd"], ["lr"], compact_at=compact_at)
                # at every moment, before and after repairs: one row per trial, the first committed
                _check(Path(d), first)
            assert store.trial_ids == set(first)
    finally:
        store_mod.FSYNC = old_fsync


def _check(study_dir: Path, first: dict[str, int]) -> None:
    df = read_trials(study_dir)
    if not first:
        assert df.empty
        return
    assert list(df.trial_id) == sorted(first)
    for r in df.itertuples():
        assert r.fd == float(first[r.trial_id])
    ev = read_evals(study_dir)
    want = [(tid, s, 100.0 * v + s) for tid, v in sorted(first.items()) for s in range(1, 1 + (int(tid[-4:]) + v) % 3)]
    got = [(r.trial_id, r.step, r.fd) for r in ev.itertuples()] if not ev.empty else []
    assert got == want
    raw = pd.read_parquet(study_dir / "results" / "trials")
    assert set(raw.trial_id) == set(first)
