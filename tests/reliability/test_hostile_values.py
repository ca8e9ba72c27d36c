"""Stored values from someone else's study directory that crashed a command with a traceback
(attacker campaign): JSON nested past Python's recursion limit, a seed of 1e999."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

NESTED = "[" * 100_000 + "]" * 100_000


def test_a_row_whose_config_is_nested_too_deeply_reads_without_its_suggested_by(tmp_path):
    """`status`, `plot`, `export` and `resume`'s own repair died with RecursionError on one such row."""
    from gansweep.store import read_trials
    from gansweep.store.parquet import _config_suggested_by

    assert _config_suggested_by(NESTED) is None and _config_suggested_by("[" * 100_000) is None
    study = tmp_path / "s"
    (study / "results" / "trials").mkdir(parents=True)
    row = {"trial_id": "c-random-0000", "cell": "c", "status": "completed", "score": 1.0, "suggested_by": None,
           "config": NESTED}
    pq.write_table(pa.Table.from_pylist([row]), study / "results" / "trials" / "c-random-0000.parquet")
    try:
        df = read_trials(study)
    except Exception as exc:  # a one-line store error is fine; a RecursionError is not
        assert not isinstance(exc, RecursionError), exc
    else:
        assert isinstance(df, pd.DataFrame)


def test_a_gansweep_json_nested_too_deeply_is_unknown_not_a_crash(tmp_path):
    """`samples` and `evaluate` died on it; `status` and `plot` already said it was unreadable."""
    from gansweep.analysis.loading import read_dry_run

    (tmp_path / "gansweep.json").write_text(NESTED)
    assert read_dry_run(tmp_path) is False


def test_a_seed_of_1e999_in_a_stored_config_is_no_seed():
    """`evaluate` died with OverflowError (cannot convert float infinity to integer)."""
    from gansweep.analysis.evaluate import _trial_seed

    assert _trial_seed(SimpleNamespace(config='{"seed": 1e999}')) == 0
    assert _trial_seed(SimpleNamespace(config=NESTED)) == 0
    assert _trial_seed(SimpleNamespace(config='{"seed": 7}')) == 7


def test_a_tune_signature_nested_too_deeply_is_unreadable(tmp_path, monkeypatch):
    """`resume` died with RecursionError reading it; now Tune's state is simply not trusted."""
    from gansweep.driver.trust import SIGNATURE_FILE, signing_filesystem, unverified

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    study = tmp_path / "s"
    (study / "tune").mkdir(parents=True)
    with signing_filesystem(study).open_output_stream(str(study / "tune" / "tuner.pkl")) as f:
        f.write(b"state")  # a key of this user's exists now
    assert unverified(study) is None
    (study / SIGNATURE_FILE).write_text(NESTED)
    assert unverified(study) == f"{SIGNATURE_FILE} is unreadable"
    # resume --trust goes on and Tune writes its state: the new signature replaces the nested one
    with signing_filesystem(study).open_output_stream(str(study / "tune" / "tuner.pkl")) as f:
        f.write(b"state again")
    assert unverified(study) is None
