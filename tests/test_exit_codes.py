"""Exit codes through the CLI: 2 only for what the user gave (usage, a study file, a path the file
system refuses), 1 for the machine (a full disk, an I/O error, a store that cannot be written),
and a bug keeps its traceback instead of reading as bad input."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import yaml

import gansweep.analysis.export as export_mod
import gansweep.study.load as load_mod
import gansweep.study.plan as plan_mod
from gansweep.store import StoreWriteError

STUDY = {"name": "x", "grid": {"dataset": ["ring8"], "architecture": ["mlp"]},
         "search": [{"strategy": "random", "trials": 2, "space": {"lr": {"low": 1e-4, "high": 1e-3}}}]}


def _study(tmp_path: Path, data: dict = STUDY) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _raise(exc: BaseException):
    def f(*args, **kwargs):
        raise exc
    return f


def test_a_valid_study_and_usage_errors(cli, tmp_path):
    assert cli("validate", _study(tmp_path))[0] == 0
    assert cli("validate")[0] == 2  # usage
    code, _, err = cli("validate", _study(tmp_path, {**STUDY, "grid": {"dataset": ["ring9"]}}))
    assert code == 2 and "grid.dataset[0]: unknown dataset 'ring9'" in err


@pytest.mark.parametrize("code_, errno_", [(1, errno.ENOSPC), (1, errno.EIO), (1, errno.EDQUOT),
                                           (2, errno.EACCES), (2, errno.ENOTDIR), (2, errno.ELOOP)])
def test_an_os_error_on_a_path_is_one_line_and_the_machines_is_exit_1(cli, tmp_path, monkeypatch, code_, errno_):
    target = str(tmp_path / "export" / "trials.csv")
    monkeypatch.setattr(export_mod, "export_study", _raise(OSError(errno_, os.strerror(errno_), target)))
    code, _, err = cli("export", tmp_path)
    assert code == code_ and err == f"error: {target}: {os.strerror(errno_)}\n"


def test_reading_a_study_file_that_the_disk_fails_is_exit_1(cli, tmp_path, monkeypatch):
    study = _study(tmp_path)
    monkeypatch.setattr(load_mod, "load_study", _raise(OSError(errno.EIO, os.strerror(errno.EIO), str(study))))
    code, _, err = cli("validate", study)
    assert code == 1 and err.startswith(f"error: {study}: ")


def test_a_store_that_cannot_be_written_is_exit_1(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "export_study", _raise(StoreWriteError("results: cannot write (disk full)")))
    code, _, err = cli("export", tmp_path)
    assert code == 1 and err == "error: results: cannot write (disk full)\n"


def test_a_bug_in_the_plans_metric_check_is_not_bad_input(cli, tmp_path, monkeypatch):
    """Before, ``except Exception`` turned any error there into 'bad input' (exit 2, no traceback)."""
    monkeypatch.setattr(plan_mod, "check_metrics", _raise(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        cli("validate", _study(tmp_path))


def test_a_machine_error_on_a_data_or_rates_file_is_exit_1(tmp_path):
    from gansweep.errors import MachineError, path_error

    assert isinstance(path_error("m", OSError(errno.EIO, "I/O error")), MachineError)
    assert path_error("m", OSError(errno.ENOENT, "missing")).exit_code == 2
    assert path_error("m", ValueError("not an npz")).exit_code == 2
