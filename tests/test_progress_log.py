"""Progress a log shows: plain lines on stdout when it is not a terminal (nohup, a scheduler)."""

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from gansweep.driver.callbacks import ProgressCallback
from gansweep.store import stored_trial_ids

FAULTS = Path(__file__).parent / "faults"
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (trial \S+ \w+, |progress: )")
SUMMARY = re.compile(r"progress: [1-9]\d*/10 trials stored, best [\d.]+, failures: .*, elapsed \S+, ETA \S+")


def _trial(tid: str, status: str = "completed", score: float = 1.0) -> SimpleNamespace:
    result = {"final": True, "status": status, "score": score, "steps": 10}
    return SimpleNamespace(config={"trial_id": tid}, last_result=result, trial_id=tid)


def test_one_flushed_line_per_stored_trial_and_periodic_summaries(monkeypatch):
    log = io.StringIO()  # not a terminal
    monkeypatch.setattr(sys, "stdout", log)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    cb = ProgressCallback(4, {"a": 3.0}, every=0.2)
    cb.start()
    cb.on_trial_complete(0, [], _trial("b", score=2.0))
    cb.on_trial_complete(0, [], _trial("b", score=2.0))  # Tune ends it again after a restore: once
    cb.on_trial_error(0, [], _trial("c"))
    time.sleep(0.7)
    cb.stop()
    lines = log.getvalue().splitlines()
    assert all(LINE.match(ln) for ln in lines), lines
    trials = [ln for ln in lines if " trial " in ln]
    assert len(trials) == 2 and "trial b completed, score 2; 2/4 stored, best 2" in trials[0]
    assert "trial c failed, no score; 3/4 stored" in trials[1]
    summaries = [ln for ln in lines if " progress: " in ln]
    assert 3 <= len(summaries) <= 7  # start, one every 0.2 s, stop
    assert "3/4 trials stored, best 2, failures: 1 failed" in summaries[-1] and "ETA" in summaries[-1]


@pytest.mark.slow
def test_the_cli_writes_progress_to_a_log_file_while_the_study_runs(tmp_path):
    """As under nohup: stdout is a file, read while the driver runs (one trial holds the study open)."""
    study = {"name": "logged", "grid": {"loss": ["ns", "wgan"], "penalty": ["none"]},
             "training": {"steps": 1000, "eval_every": 250},
             "search": [{"strategy": "random", "trials": 5, "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}}}]}
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    (tmp_path / "markers").mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(FAULTS), os.environ.get("PYTHONPATH", "")]),
           "GANSWEEP_PROGRESS_EVERY": "1",
           "GANSWEEP_TEST_FAULTS": json.dumps({"block_once": "*.wgan.none.none-random-0004",
                                               "dir": str(tmp_path / "markers")})}
    log_path = tmp_path / "driver.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gansweep.cli", "run", str(tmp_path / "study.yaml"), "--out",
                                 str(tmp_path / "runs"), "--dry-run", "--max-concurrent", "2"],
                                stdout=log, stderr=subprocess.PIPE, env=env, start_new_session=True)
    started = time.monotonic()
    try:
        deadline = started + 240
        text = ""
        while time.monotonic() < deadline:
            text = log_path.read_text()
            if text.count(" trial ") >= 9 and text.count(" progress: ") >= 3 and SUMMARY.search(text):
                break
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.5)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # not ended: the lines came while it ran
        assert text.count(" trial ") >= 9 and text.count(" progress: ") >= 3 and SUMMARY.search(text), text[-3000:]
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    elapsed = time.monotonic() - started
    lines = [ln for ln in log_path.read_text().splitlines() if LINE.match(ln)]  # Ray may add its own
    trials = [ln.split(" trial ", 1)[1].split()[0] for ln in lines if " trial " in ln]
    assert len(trials) == len(set(trials)) >= 9  # one line per stored trial
    assert set(trials) <= stored_trial_ids(tmp_path / "runs" / "logged")
    summaries = [ln for ln in lines if " progress: " in ln]
    assert len(summaries) <= elapsed / 1 + 2  # at most one a second here (GANSWEEP_PROGRESS_EVERY)
    assert any(SUMMARY.search(line) for line in summaries)  # once a trial is stored: its best and an ETA
