"""``output: s3://…`` against a local S3 server (moto on 127.0.0.1, never the network): the store,
the lease lock and the CLI's errors on a bucket, and end to end: run a dry-run study into a
bucket, SIGKILL the driver, resume from the bucket, read and plot the results from it.

Skipped where moto[server] or boto3 is not installed.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml

STUDY = {
    "name": "s3dry",
    "grid": {"loss": ["ns", "wgan"], "penalty": ["none", "gp"]},
    "training": {"steps": 1000, "eval_every": 250},
    "search": [{"strategy": "random", "trials": 12,
                "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}, "beta1": {"low": 0.0, "high": 1.0}}}],
    "resources": {"cpu": 1},
}


@pytest.fixture(scope="module")
def s3_server():
    pytest.importorskip("moto.server", reason="needs moto[server]")
    pytest.importorskip("boto3", reason="needs boto3")
    from local_s3 import LocalS3

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
    with LocalS3() as s3:
        yield s3


@pytest.fixture
def bucket(monkeypatch, s3_server):
    """A new bucket on the local server and the AWS variables pointing at it: ``s3://<bucket>/studies``."""
    import boto3

    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": s3_server.endpoint, "AWS_EC2_METADATA_DISABLED": "true"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    name = f"runs-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3_server.endpoint).create_bucket(Bucket=name)
    return f"s3://{name}/studies"


def gansweep(*args: str, address: str | None = None) -> subprocess.Popen:
    """The CLI in a new session; with ``address`` it joins that Ray (``--address``), as on a cluster."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if address:
        args, env["RAY_AUTH_MODE"] = (*args, "--address", address), "token"
    return subprocess.Popen([sys.executable, "-m", "gansweep.cli", *args], env=env,
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


# -- the store ----------------------------------------------------------------------------------

def _row(tid: str, score: float) -> dict:
    return {"trial_id": tid, "status": "completed", "score": score, "fd": score, "hp_lr": 1e-3, "steps": 10}


def test_store_in_a_bucket_first_write_wins_and_temporaries_are_invisible(bucket):
    from gansweep.storage import location
    from gansweep.store import TrialStore, read_evals, read_trials, stored_trial_ids

    study = f"{bucket}/st"
    store = TrialStore(f"{study}/results", ["fd"], ["lr"], compact_at=3)
    for i in range(4):
        assert store.write(_row(f"c-random-{i:04d}", float(i)), [{"step": 10, "seconds": 1.0, "fd": float(i)}])
    assert not store.write(_row("c-random-0000", 9.0))
    trials = location(study) / "results" / "trials"
    (trials / ".tmp-half-written.parquet").write_bytes(b"PAR1 garbage")  # what a foreign writer may leave
    df = read_trials(study)
    assert list(df.trial_id) == [f"c-random-{i:04d}" for i in range(4)] and list(df.score) == [0.0, 1.0, 2.0, 3.0]
    again = TrialStore(f"{study}/results", ["fd"], ["lr"], compact_at=3)  # a resumed driver
    assert not again.write(_row("c-random-0001", 7.0))
    assert len(read_evals(study)) == 4 and stored_trial_ids(study) == set(df.trial_id)
    names = sorted(p.name for p in trials.iterdir())
    assert sum(n.startswith("part-") for n in names) == 1 and "c-random-0003.parquet" in names  # 3 compacted
    assert ".tmp-half-written.parquet" not in names  # removed when the store was opened


def test_a_damaged_object_is_named_and_set_aside(bucket):
    from gansweep.storage import location
    from gansweep.store import StoreError, TrialStore, quarantine_damaged, read_trials

    study = f"{bucket}/dm"
    store = TrialStore(f"{study}/results", ["fd"], ["lr"], compact_at=0)
    store.write(_row("c-random-0000", 1.0))
    store.write(_row("c-random-0001", 2.0))
    (location(study) / "results" / "trials" / "c-random-0001.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(StoreError, match=r"^s3://.*/dm/results/trials/c-random-0001.parquet: damaged results file"):
        read_trials(study)
    moved = quarantine_damaged(study)
    assert {p.name for p in moved} == {"c-random-0001.parquet"} and "quarantine" in str(moved[0])
    assert list(read_trials(study).trial_id) == ["c-random-0000"]


# -- the lease lock -------------------------------------------------------------------------------

@pytest.mark.parametrize("writes", ["conditional", "plain"])
def test_a_held_lease_refuses_a_second_driver_until_released(bucket, monkeypatch, writes):
    """Both ways of writing the lease: conditional PUTs (S3 with boto3), plain writes (gs://, no boto3)."""
    import gansweep.lock as lock_mod
    from gansweep.errors import GansweepError
    from gansweep.lock import LeaseLock
    from gansweep.storage import location

    if writes == "plain":
        monkeypatch.setattr(lock_mod, "_lease_backend", lock_mod._PlainObject)
    lock = location(f"{bucket}/lk") / ".lock"
    with LeaseLock(lock):
        with pytest.raises(GansweepError, match="another gansweep driver .* is running this study"):
            with LeaseLock(lock):
                pass
    assert not lock.exists()
    with LeaseLock(lock) as held:  # released: free again
        assert json.loads(lock.read_text())["owner"] == held.owner


def test_of_drivers_starting_together_exactly_one_wins(bucket):
    """The conditional PUT (If-None-Match: *) decides; a check-then-write would let several win."""
    from gansweep.errors import GansweepError
    from gansweep.lock import LeaseLock
    from gansweep.storage import location

    lock = location(f"{bucket}/race") / ".lock"
    locks = [LeaseLock(lock) for _ in range(6)]
    go, won, refused = threading.Barrier(len(locks)), [], []

    def take(lk):
        go.wait()
        try:
            lk.__enter__()
            won.append(lk)
        except GansweepError:
            refused.append(lk)

    threads = [threading.Thread(target=take, args=(lk,)) for lk in locks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(won) == 1 and len(refused) == 5
    won[0].__exit__(None, None, None)


def test_an_expired_lease_is_taken_over_and_the_old_holder_learns_it(bucket):
    from gansweep.lock import LeaseLock
    from gansweep.storage import location

    lock = location(f"{bucket}/exp") / ".lock"
    told = []
    old = LeaseLock(lock, renew=0.3, expire=60, on_lost=lambda: told.append(True))
    old.__enter__()
    old._stop.set()  # a driver that hangs: it stops renewing but still thinks it holds the lease
    old._thread.join(5)
    old._stop.clear()
    new = LeaseLock(lock, renew=0.3, expire=1.0)
    time.sleep(1.5)
    with new:
        assert json.loads(lock.read_text())["owner"] == new.owner
        old._thread = threading.Thread(target=old._heartbeat, daemon=True)
        old._thread.start()  # it wakes up: its next renewal must fail, not overwrite the new lease
        assert old.lost.wait(10) and told == [True]  # the driver's hook: it stops as on Ctrl-C
        assert json.loads(lock.read_text())["owner"] == new.owner
    old.__exit__(None, None, None)  # leaves alone the lease it no longer owns
    assert not lock.exists()


def test_the_lease_of_a_killed_driver_on_this_host_is_taken_over_at_once(bucket):
    from gansweep.lock import LeaseLock
    from gansweep.storage import location

    lock = location(f"{bucket}/dead") / ".lock"
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    namespace = os.stat("/proc/self/ns/pid").st_ino
    dead = f"{socket.gethostname()}:{proc.stdout.strip()}:0000:{namespace}"
    lock.write_text(json.dumps({"owner": dead, "renewed": time.time()}))
    with LeaseLock(lock) as lk:
        assert json.loads(lock.read_text())["owner"] == lk.owner


def test_a_live_lease_from_another_pid_namespace_on_this_hostname_is_not_taken(bucket):
    """Containers run with --net=host share the hostname, not the process IDs: a pid that does not
    exist here may be a live driver there."""
    from gansweep.errors import GansweepError
    from gansweep.lock import LeaseLock
    from gansweep.storage import location

    lock = location(f"{bucket}/ns") / ".lock"
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for owner in (f"{socket.gethostname()}:{proc.stdout.strip()}:0000:1",  # another namespace
                  f"{socket.gethostname()}:{proc.stdout.strip()}:0000"):  # an owner that does not say
        lock.write_text(json.dumps({"owner": owner, "renewed": time.time()}))
        with pytest.raises(GansweepError, match="another gansweep driver"):
            LeaseLock(lock).__enter__()


# -- the command line -------------------------------------------------------------------------------

def _study_in(bucket: str, name: str = "s3cli") -> str:
    from gansweep.store.studydir import StudyDir
    from gansweep.storage import location
    from gansweep.study import study_from_data

    study = study_from_data({**STUDY, "name": name}, "test")
    StudyDir(location(bucket) / name).create(study, {"dry_run": True})
    return f"{bucket}/{name}"


def test_a_second_driver_on_a_bucket_study_is_refused(bucket, cli):
    from gansweep.lock import LeaseLock
    from gansweep.storage import location

    study = _study_in(bucket)
    with LeaseLock(location(study) / ".lock"):
        code, out, err = cli("resume", study)
    assert code == 2 and err.startswith("error: ") and "another gansweep driver" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, out, err = cli("status", study)  # readers need no lock
    assert code == 0 and "0/48 trials stored" in out.replace("\n", " ")


@pytest.mark.parametrize("where, says", [
    ("s3://no-such-bucket/studies/x", "bucket 'no-such-bucket' does not exist"),
    ("ftp://host/studies/x", "unsupported location"),
    ("s3://bkt/studies/../x", "'..' parts are not allowed"),
])
def test_a_missing_bucket_is_one_line_and_exit_2(bucket, cli, where, says):
    for command in ("status", "resume", "plot"):
        code, out, err = cli(command, where)
        assert code == 2 and err.startswith(f"error: {where}: ") and says in err, (command, err)
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_unreachable_endpoint_is_one_line_and_exit_2(bucket, cli, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    code, out, err = cli("status", f"{bucket}/x")
    assert code == 2 and "cannot reach the bucket" in err and "AWS_ENDPOINT_URL" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_study_file_with_an_unknown_scheme_is_refused(tmp_path, cli):
    source = tmp_path / "bad.yaml"
    source.write_text(yaml.safe_dump({**STUDY, "output": "ftp://host/runs"}))
    code, out, err = cli("validate", source)
    assert code == 2 and err.startswith(f"error: {source}: output: output must be a directory, s3://")


# -- end to end ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_run_kill_resume_and_read_from_the_bucket(tmp_path, bucket, ray_head):
    """A driver on a cluster (it joins the shared head) with its study in a bucket: killed, resumed."""
    from gansweep.store import read_evals, read_trials, stored_trial_ids
    from gansweep.study import build_plan, load_study

    source = tmp_path / "s3dry.yaml"
    source.write_text(yaml.safe_dump({**STUDY, "search": [{**STUDY["search"][0], "trials": 6}]}))  # 24 trials
    study_uri = f"{bucket}/s3dry"
    proc = gansweep("run", str(source), "--out", bucket, "--dry-run", "--max-concurrent", "1", address=ray_head)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and len(stored_trial_ids(study_uri)) < 4:
        time.sleep(0.25)
    killed = proc.poll() is None
    if killed:
        kill_session(proc)
        print(f"killed with {len(stored_trial_ids(study_uri))} of 24 trials stored")
    proc.wait()
    assert not (tmp_path / "s3:").exists() and not os.path.exists("s3:")  # nothing written locally
    resume = gansweep("resume", study_uri, "--max-concurrent", "1", address=ray_head)
    out, err = resume.communicate(timeout=300)
    assert resume.returncode == 0, err.decode()[-2000:]
    plan = build_plan(load_study(source), str(source))
    df = read_trials(study_uri)
    assert sorted(df.trial_id) == sorted(plan.trial_ids()) and df.trial_id.is_unique
    assert set(read_evals(study_uri).trial_id) <= set(df.trial_id)
    status = gansweep("status", study_uri)
    out, err = status.communicate(timeout=120)
    assert status.returncode == 0 and f"{plan.total}/{plan.total} trials stored" in out.decode().replace("\n", " ")
    plots = tmp_path / "plots-here"
    plot = subprocess.run([sys.executable, "-m", "gansweep.cli", "plot", study_uri, "--out", str(plots)],
                          capture_output=True, text=True, timeout=300)
    assert plot.returncode == 0, plot.stderr[-2000:]
    assert (plots / "plots" / "budget_curves.png").stat().st_size > 1000
    assert not (tmp_path / "s3dry").exists()  # nothing written anywhere but where --out said
    assert killed, "the driver finished before it could be killed; make the study larger"


@pytest.mark.slow
def test_a_real_study_in_a_bucket_keeps_generators_there_and_draws_them(tmp_path, bucket):
    """Real GANs (not a dry run): checkpoints, kept generators and results all in the bucket."""
    from gansweep.storage import location
    from gansweep.store import read_trials
    from gansweep.store.generators import load_generator

    source = tmp_path / "s3real.yaml"
    source.write_text(yaml.safe_dump({
        "name": "s3real", "grid": {"dataset": ["ring8"], "architecture": ["mlp"]},
        "training": {"steps": 40, "eval_every": 20, "batch_size": 64, "z_dim": 4, "width": 16},
        "metrics": {"samples": 300}, "resources": {"cpu": 1},
        "search": [{"strategy": "random", "trials": 2, "space": {"lr": {"low": 1e-4, "high": 1e-3}}}]}))
    run = gansweep("run", str(source), "--out", bucket)  # its own Ray: the workers write to the bucket with
    # this process's credentials (a shared head's workers were started before the bucket existed)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err.decode()[-2000:]
    study_uri = f"{bucket}/s3real"
    df = read_trials(study_uri)
    assert len(df) == 2 and set(df.status) == {"completed"}
    for row in df.itertuples():
        assert load_generator(study_uri, row.trial_id).score == row.score
    tune_files = [p.name for p in _walk(location(study_uri) / "tune")]
    assert "final.json" in tune_files and "trial.pt" not in tune_files
    drawn = subprocess.run([sys.executable, "-m", "gansweep.cli", "samples", study_uri, "--out", str(tmp_path / "here")],
                           capture_output=True, text=True, timeout=300)
    assert drawn.returncode == 0, drawn.stderr[-2000:]
    best = df.sort_values("score").trial_id.iloc[0]
    assert (tmp_path / "here" / "samples" / f"{best}.png").stat().st_size > 5_000
    assert not (tmp_path / "s3real").exists()


def _walk(directory):
    for p in directory.iterdir():
        yield p
        if p.is_dir():
            yield from _walk(p)
