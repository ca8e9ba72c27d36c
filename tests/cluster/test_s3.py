"""``output: s3://…`` end to end against a local S3 server (moto on 127.0.0.1): run a dry-run
study into a bucket, SIGKILL the driver, resume from the bucket, read the results from it.

Runs where gansweep has object-storage study directories (``gansweep.storage``); skipped before.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow

STUDY = {
    "name": "s3dry",
    "grid": {"loss": ["ns", "wgan"], "penalty": ["none", "gp"]},
    "training": {"steps": 1000, "eval_every": 250},
    "search": [{"strategy": "random", "trials": 12,
                "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}, "beta1": {"low": 0.0, "high": 1.0}}}],
    "resources": {"cpu": 1},
}


@pytest.fixture
def bucket(monkeypatch):
    pytest.importorskip("gansweep.storage", reason="object-storage study directories are not in this checkout")
    pytest.importorskip("moto.server", reason="needs moto[server]")
    boto3 = pytest.importorskip("boto3")
    from local_s3 import LocalS3

    with LocalS3() as s3:
        for k, v in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                     "AWS_ENDPOINT_URL": s3.endpoint, "AWS_EC2_METADATA_DISABLED": "true"}.items():
            monkeypatch.setenv(k, v)
        boto3.client("s3", endpoint_url=s3.endpoint).create_bucket(Bucket="runs")
        yield "s3://runs/studies"


def gansweep(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gansweep.cli", *args], env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def kill_session(proc: subprocess.Popen) -> None:
    """SIGKILL the driver and everything in its session (Ray's GCS, raylet and workers)."""
    members = [proc.pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == proc.pid:  # field 6 of stat, the session id
            members.append(int(stat.parent.name))
    for pid in members:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_run_kill_resume_and_read_from_the_bucket(tmp_path, bucket):
    from gansweep.store import read_evals, read_trials
    from gansweep.study import build_plan, load_study

    source = tmp_path / "s3dry.yaml"
    source.write_text(yaml.safe_dump(STUDY))
    study_uri = f"{bucket}/s3dry"
    proc = gansweep("run", str(source), "--out", bucket, "--dry-run")
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and len(read_trials(study_uri)) < 8:
        time.sleep(1.0)
    killed = proc.poll() is None
    if killed:
        kill_session(proc)
    proc.wait()
    assert not (tmp_path / "s3:").exists() and not os.path.exists("s3:")  # nothing written locally
    resume = gansweep("resume", study_uri)
    out, err = resume.communicate(timeout=300)
    assert resume.returncode == 0, err.decode()[-2000:]
    plan = build_plan(load_study(source), str(source))
    df = read_trials(study_uri)
    assert sorted(df.trial_id) == sorted(plan.trial_ids()) and df.trial_id.is_unique
    assert set(read_evals(study_uri).trial_id) <= set(df.trial_id)
    status = gansweep("status", study_uri)
    out, err = status.communicate(timeout=120)
    assert status.returncode == 0 and f"{plan.total}/{plan.total} trials stored" in out.decode().replace("\n", " ")
    assert killed, "the driver finished before it could be killed; make the study larger"
