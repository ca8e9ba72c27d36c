"""The shared background executor: configuration, and rounds computed in worker processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gansweep.errors import GansweepError
from gansweep.search import background

from .helpers import GP_CELL, PAPER_SPACE, drive, entry, make, objective

ROOT = Path(__file__).resolve().parents[2]


def test_workers_from_the_environment(monkeypatch):
    monkeypatch.setenv("GANSWEEP_SEARCH_WORKERS", "3")
    assert background.workers() == 3
    monkeypatch.setenv("GANSWEEP_SEARCH_WORKERS", "0")
    with pytest.raises(GansweepError, match=r"GANSWEEP_SEARCH_WORKERS='0': must be an integer in \[1, 256\]"):
        background.workers()
    monkeypatch.delenv("GANSWEEP_SEARCH_WORKERS")
    assert 1 <= background.workers() <= 4


def test_submit_runs_off_the_calling_thread():
    import threading

    f = background.submit(threading.get_ident)
    assert f.result(30) != threading.get_ident()


RUN = """
import json, sys
sys.path[:0] = [{root!r}, {root!r} + "/tests"]
from search.helpers import GP_CELL, PAPER_SPACE, drive, entry, make, objective
e = entry({{"strategy": "{strategy}", {extra} "per_round": 4, "space": PAPER_SPACE}})
run, s = drive(make(e, seed=3), objective(GP_CELL))
s.close()
print(json.dumps(run.key()))
"""


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("strategy,extra", [("gp", '"rounds": 2,'), ("optuna", '"trials": 14,')])
def test_process_executor_gives_the_same_rounds(strategy, extra):
    """GANSWEEP_SEARCH_EXECUTOR=process: spawned workers, same suggestions as threads."""
    e = entry({"strategy": strategy, **json.loads("{" + extra.rstrip(",") + "}"), "per_round": 4,
               "space": PAPER_SPACE})
    run, s = drive(make(e, seed=3), objective(GP_CELL))
    s.close()
    env = {**os.environ, "GANSWEEP_SEARCH_EXECUTOR": "process", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", RUN.format(root=str(ROOT), strategy=strategy, extra=extra)],
                         env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == json.loads(json.dumps(run.key()))
