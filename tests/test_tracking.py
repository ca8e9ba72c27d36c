"""``--log-to mlflow[:URI]`` and ``--log-to wandb``: a dry-run study logged to a real MLflow tracking
server (``mlflow server`` on 127.0.0.1 with a SQLite store) and to W&B offline, read back and
compared with the study's store; credentials never shown; a server that dies never fails a study."""

from __future__ import annotations

import http.server
import json
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import yaml

from gansweep.driver.tracking import open_tracking, parse_targets
from gansweep.driver.tracking.callback import TrackingCallback
from gansweep.driver.tracking.targets import Target, redact, scrub, secrets_of
from gansweep.errors import GansweepError
from gansweep.status import Status
from gansweep.store import read_evals, read_trials

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "pw-Tr4ck1ng-s3cret"
API_KEY = "local-" + "0123456789abcdef" * 2 + "0badc0de"  # W&B's form; offline, W&B never uses it
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "WANDB_SILENT": "true",
         "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
STUDY = {"name": "tracked", "grid": {"loss": ["ns", "wgan"], "penalty": ["none"]},
         "training": {"steps": 1000, "eval_every": 250},
         "search": [{"strategy": "random", "trials": 3, "space": {"lr": {"low": 1e-5, "high": 1e-2, "log": True}}}]}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Neither client phones home; W&B stays offline; no tracking URI from the environment."""
    for key, value in QUIET.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("WANDB_MODE", "offline")
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "WANDB_PROJECT", "WANDB_DIR", "WANDB_API_KEY"):
        monkeypatch.delenv(key, raising=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """The CLI in-process, for refusals that happen before Ray or the study is touched."""
    from gansweep.cli import main

    monkeypatch.setattr(sys, "argv", ["gansweep", *map(str, args)])
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    cap = capsys.readouterr()
    return code, cap.out, cap.err


# -- what --log-to accepts -------------------------------------------------------------------------

@pytest.mark.parametrize("value, says", [
    ("foo", "choose from mlflow, mlflow:URI, wandb"), ("mlflow:", "empty URI"), ("wandb:http://x", "takes no URI"),
    ("MLflow", "not a tracking target")])
def test_a_bad_log_to_is_one_line_and_exit_2_before_the_study_is_read(tmp_path, monkeypatch, capsys, value, says):
    code, out, err = _main(monkeypatch, capsys, "run", tmp_path / "missing.yaml", "--dry-run", "--log-to", value)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "runs").exists()


def test_a_target_given_twice_is_refused():
    with pytest.raises(GansweepError, match="given twice"):
        parse_targets(["mlflow", "mlflow:http://127.0.0.1:1"])


def test_a_missing_client_names_the_extra_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(GansweepError, match=r"pip install 'gansweep\[tracking\]'"):
        parse_targets(["wandb"])


def test_credentials_in_a_uri_are_shown_as_stars():
    uri = f"https://gsuser:{PASSWORD}@mlflow.example.org:5000/path"
    assert redact(uri) == "https://***@mlflow.example.org:5000/path"
    assert Target("mlflow", uri).shown == "mlflow:https://***@mlflow.example.org:5000/path"
    text = f"API request to {uri}/api/2.0/mlflow/runs/create failed (user gsuser, password {PASSWORD})"
    assert PASSWORD not in scrub(text, secrets_of(uri)) and "gsuser:" not in scrub(text, secrets_of(uri))
    assert redact("http://127.0.0.1:5000") == "http://127.0.0.1:5000" and secrets_of("sqlite:///x.db") == []


# -- the callback: what reaches a target, and a target that fails ----------------------------------

class Recorder:
    name, label = "recorder", "Recorder"
    secrets = [PASSWORD]

    def __init__(self, fail_at: str | None = None) -> None:
        self.calls: list[tuple] = []
        self.fail_at = fail_at

    def _call(self, *call) -> int:
        if call[0] == self.fail_at:
            raise ConnectionError(f"http://u:{PASSWORD}@host: connection refused")
        self.calls.append(call)
        return len(call[2]) if call[0] == "log" else 0

    def start(self, tid, config):
        return self._call("start", tid, config)

    def log(self, tid, records):
        return self._call("log", tid, records)

    def end(self, tid, final):
        return self._call("end", tid, final)

    def close(self):
        return self._call("close")


def _trial(tid="c-random-0000"):
    return SimpleNamespace(config={"trial_id": tid, "hp": {"lr": 0.01}, "searched": ["lr"]}, last_result=None,
                           trial_id="t1")


def test_each_evaluation_reaches_a_target_once_in_order():
    backend = Recorder()
    cb = TrackingCallback([backend])
    trial = _trial()
    history = [{"step": 250, "fd": 3.0}]
    cb.on_trial_start(0, [], trial)
    cb.on_trial_result(0, [], trial, {"evals": list(history), "status": "running"})
    history.append({"step": 500, "fd": 2.0})
    cb.on_trial_result(0, [], trial, {"evals": list(history), "status": "running"})
    trial.last_result = {"evals": list(history), "status": Status.COMPLETED, "score": 2.0, "best_step": 500,
                         "final": True}
    cb.on_trial_complete(0, [], trial)
    cb.close()
    kinds = [c[0] for c in backend.calls]
    assert kinds == ["start", "log", "log", "end", "close"]
    assert [r["step"] for c in backend.calls if c[0] == "log" for r in c[2]] == [250, 500]
    assert backend.calls[3][2] == {"status": "completed", "score": 2.0, "best_step": 500, "steps": None}
    assert type(backend.calls[3][2]["status"]) is str  # not the enum: W&B would write its name, COMPLETED
    assert cb.stats["recorder"]["written"] == 2


def test_a_failing_target_warns_once_without_its_credentials_and_the_study_goes_on(caplog):
    backend = Recorder(fail_at="log")
    cb = TrackingCallback([backend])
    with caplog.at_level(logging.WARNING):
        for i in range(3):
            trial = _trial(f"c-random-000{i}")
            cb.on_trial_start(0, [], trial)
            trial.last_result = {"evals": [{"step": 250, "fd": 1.0 + i}], "status": "completed", "score": 1.0,
                                 "best_step": 250, "final": True}
            cb.on_trial_complete(0, [], trial)  # never raises
        cb.close()
    warnings = [r.getMessage() for r in caplog.records if "logging stopped" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert PASSWORD not in caplog.text and "***" in warnings[0]
    assert [c[0] for c in backend.calls] == ["start"]  # nothing after the failure
    assert cb.stats["recorder"]["dropped"] > 0


def test_tunes_saved_callback_holds_no_uri_and_comes_back_inert():
    from gansweep.driver.tracking.backends import MLflowBackend

    uri = f"http://gsuser:{PASSWORD}@127.0.0.1:1"
    cb = TrackingCallback([MLflowBackend(Target("mlflow", uri), "s", Path("/tmp/s"), "i", ["fd"])])
    blob = pickle.dumps(cb)
    assert PASSWORD.encode() not in blob and b"gsuser" not in blob
    restored = pickle.loads(blob)
    restored.on_trial_start(0, [], _trial())  # nothing to log to, no thread started
    assert restored.backends == [] and restored._sinks is None


# -- a real MLflow tracking server ----------------------------------------------------------------

def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"mlflow server did not answer {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """``mlflow server`` on a free port of 127.0.0.1, SQLite store; its base URL. Stopped at the end."""
    pytest.importorskip("mlflow")
    home = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    env = {**os.environ, **QUIET}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = open(home / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
                             f"sqlite:///{home / 'mlflow.db'}", "--default-artifact-root", str(home / "artifacts"),
                             "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_http(f"http://127.0.0.1:{port}/health", proc, timeout=300)  # minutes on a loaded 2-core machine
        yield f"http://127.0.0.1:{port}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)
        log.close()


@pytest.fixture(scope="module")
def logged_study(tmp_path_factory, mlflow_server, ray_head):
    """One dry-run study, run as a user runs it (``python -m gansweep.cli``), logging to the MLflow
    server through a URI with credentials in it and to W&B offline, with a W&B API key set."""
    pytest.importorskip("wandb")
    tmp = tmp_path_factory.mktemp("logged")
    (tmp / "s.yaml").write_text(yaml.safe_dump(STUDY))
    uri = mlflow_server.replace("http://", f"http://gsuser:{PASSWORD}@")
    env = {**os.environ, **QUIET, "WANDB_MODE": "offline", "WANDB_DIR": str(tmp / "wandb"), "WANDB_API_KEY": API_KEY,
           "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "token"}
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "WANDB_PROJECT"):
        env.pop(key, None)
    (tmp / "wandb").mkdir()
    proc = subprocess.run([sys.executable, "-m", "gansweep.cli", "run", str(tmp / "s.yaml"), "--out", str(tmp / "runs"),
                           "--dry-run", "--address", ray_head, "--log-to", f"mlflow:{uri}", "--log-to", "wandb"],
                          cwd=tmp, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return SimpleNamespace(dir=tmp / "runs" / "tracked", wandb=tmp / "wandb", out=proc.stdout, err=proc.stderr,
                           url=mlflow_server)


def _stored(study_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    trials, evals = read_trials(study_dir), read_evals(study_dir)
    assert len(trials) == 6
    return trials, evals


def _params_of(row) -> dict[str, str]:
    keys = ["trial_id", "cell", "dataset", "architecture", "loss", "penalty", "normalization", "strategy", "seed",
            "suggested_by", "hp_lr"]
    return {k: str(getattr(row, k)) for k in keys}


@pytest.mark.slow
def test_mlflow_holds_each_trial_as_the_store_does(logged_study):
    from mlflow.tracking import MlflowClient

    trials, evals = _stored(logged_study.dir)
    client = MlflowClient(logged_study.url)
    experiment = client.get_experiment_by_name("tracked")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == sorted(trials.trial_id)  # one run per trial, named by it
    for row in trials.itertuples():
        run = runs[row.trial_id]
        assert run.info.status == ("FAILED" if row.status == "failed" else "FINISHED")
        assert run.data.tags["gansweep.status"] == row.status
        params = dict(run.data.params)
        assert float(params.pop("hp_lr")) == row.hp_lr
        assert params == {k: v for k, v in _params_of(row).items() if k != "hp_lr"}
        history = {m.step: m.value for m in client.get_metric_history(run.info.run_id, "metrics/fd")}
        mine = evals[evals.trial_id == row.trial_id].dropna(subset=["fd"])
        assert history == dict(zip(mine.step, mine.fd))  # each evaluation once, at its generator step
        if pd.notna(row.score):
            score = client.get_metric_history(run.info.run_id, "score")
            assert [(m.step, m.value) for m in score] == [(row.best_step, row.score)]


def _wandb_records(path: Path):
    """The records of a W&B run file: LevelDB's log format (32 KiB blocks of CRC, length, type,
    data; W&B's 7-byte header first), each a ``Record`` protobuf of W&B's own."""
    from wandb.proto import wandb_internal_pb2 as pb

    data, block = path.read_bytes(), 32768
    assert data[:4] == b":W&B"
    at, buf = 7, b""
    while at + 7 <= len(data):
        left = block - at % block
        if left < 7:
            at += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[at:at + 7])
        if kind == 0 and length == 0:
            at += left
            continue
        buf += data[at + 7:at + 7 + length]
        at += 7 + length
        if kind in (1, 4):  # FULL, LAST
            record = pb.Record()
            record.ParseFromString(buf)
            buf = b""
            yield record


def _wandb_run(path: Path) -> SimpleNamespace:
    run = SimpleNamespace(config={}, history={}, summary={}, exit_code=None, name=None, group=None, project=None)
    for record in _wandb_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            run.name, run.group, run.project = r.display_name, r.run_group, r.project
            run.config.update({i.key: json.loads(i.value_json) for i in r.config.update})
        elif kind == "config":
            run.config.update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            items = {(i.key or "/".join(i.nested_key)): json.loads(i.value_json) for i in record.history.item}
            run.history[int(items["_step"])] = {k: v for k, v in items.items() if not k.startswith("_")}
        elif kind == "summary":
            run.summary.update({(i.key or "/".join(i.nested_key)): json.loads(i.value_json)
                                for i in record.summary.update})
        elif kind == "exit":
            run.exit_code = record.exit.exit_code
    return run


@pytest.mark.slow
def test_wandb_offline_holds_each_trial_as_the_store_does(logged_study):
    trials, evals = _stored(logged_study.dir)
    files = sorted(logged_study.wandb.glob("wandb/offline-run-*/run-*.wandb"))
    runs = {r.name: r for r in map(_wandb_run, files)}
    assert sorted(runs) == sorted(trials.trial_id) and len(files) == len(trials)
    for row in trials.itertuples():
        run = runs[row.trial_id]
        assert (run.project, run.group) == ("tracked", "tracked")
        config = {k: str(v) for k, v in run.config.items() if not k.startswith("_")}
        assert float(config.pop("hp_lr")) == row.hp_lr
        assert config == {k: v for k, v in _params_of(row).items() if k != "hp_lr"}
        mine = evals[evals.trial_id == row.trial_id].dropna(subset=["fd"])
        assert {s: h["metrics/fd"] for s, h in run.history.items()} == dict(zip(mine.step, mine.fd))
        assert run.summary["status"] == row.status and run.exit_code == (1 if row.status == "failed" else 0)
        if pd.notna(row.score):
            assert run.summary["score"] == row.score and run.summary["best_step"] == row.best_step


@pytest.mark.slow
def test_no_credential_is_shown_or_stored(logged_study):
    for text in (logged_study.out, logged_study.err):
        assert PASSWORD not in text and API_KEY not in text and "gsuser" not in text
    assert "prefer MLFLOW_TRACKING_USERNAME" in logged_study.err  # a command line is no place for them
    from mlflow.tracking import MlflowClient

    client = MlflowClient(logged_study.url)
    for run in client.search_runs([client.get_experiment_by_name("tracked").experiment_id]):
        logged = json.dumps([run.data.params, run.data.tags])  # MLflow's fluent API would tag argv; ours does not
        assert PASSWORD not in logged and "gsuser" not in logged and API_KEY not in logged
    assert not [p for p in logged_study.dir.rglob("*") if p.is_symlink()]  # later commands refuse a link
    for root in (logged_study.dir, logged_study.wandb):
        files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
        assert files
        leaked = [p for p in files if any(s.encode() in p.read_bytes() for s in (PASSWORD, API_KEY, "gsuser"))]
        assert leaked == []


@pytest.mark.slow
def test_a_restarted_driver_continues_each_trial_s_run_without_repeating_steps(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    from gansweep.driver.tracking.backends import MLflowBackend

    mlflow_server = f"sqlite:///{tmp_path / 'mlflow.db'}"  # the same client calls as to a server, without one

    records = [{"step": 250, "fd": 3.0}, {"step": 500, "fd": 2.0}]
    config = {"trial_id": "c-random-0000", "dataset": "ring8", "hp": {"lr": 0.01}, "searched": ["lr"]}
    first = MLflowBackend(Target("mlflow", mlflow_server), "restarted", tmp_path, "instance-1", ["fd"])
    first.start("c-random-0000", config)
    first.log("c-random-0000", records[:1])
    first.close()  # the driver stops: the run is ended as killed
    again = MLflowBackend(Target("mlflow", mlflow_server), "restarted", tmp_path, "instance-1", ["fd"])
    again.start("c-random-0000", config)
    assert again.log("c-random-0000", records) == 1  # a resumed trial reports its whole history again
    again.end("c-random-0000", {"status": "completed", "score": 2.0, "best_step": 500})
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name("restarted").experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert [(m.step, m.value) for m in client.get_metric_history(runs[0].info.run_id, "metrics/fd")] == \
        [(250, 3.0), (500, 2.0)]
    other = MLflowBackend(Target("mlflow", mlflow_server), "restarted", tmp_path, "instance-2", ["fd"])
    other.start("c-random-0000", config)  # the study started again with --force: a run of its own
    assert len(client.search_runs([runs[0].info.experiment_id])) == 2


@pytest.mark.slow
@pytest.mark.parametrize("uri", ["http://gsuser:{pw}@127.0.0.1:{port}", "nosuchscheme://somewhere/x"])
def test_an_unusable_tracking_uri_is_refused_before_anything_runs(tmp_path, cli, uri):
    pytest.importorskip("mlflow")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(STUDY))
    uri = uri.format(pw=PASSWORD, port=_free_port())  # nothing listens there
    code, out, err = cli("run", tmp_path / "s.yaml", "--out", tmp_path / "runs", "--dry-run", "--log-to", f"mlflow:{uri}")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--log-to mlflow:" in err and PASSWORD not in err + out and not (tmp_path / "runs").exists()


def _close(server: http.server.HTTPServer) -> None:
    server.shutdown()
    server.server_close()  # connections refused from now on


class _DiesAfterFirstAnswer(http.server.BaseHTTPRequestHandler):
    """A tracking server that answers the start-up check (the experiment exists) and then is gone."""

    def do_GET(self):  # noqa: N802
        if "experiments/get-by-name" in self.path:
            body = json.dumps({"experiment": {"experiment_id": "1", "name": "tracked", "lifecycle_stage": "active",
                                              "artifact_location": "/nowhere"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            threading.Thread(target=_close, args=(self.server,), daemon=True).start()
        else:
            self.send_error(503)

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_a_tracking_server_that_dies_does_not_fail_the_study(tmp_path, cli, monkeypatch, caplog):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # else MLflow retries for minutes (off the study's thread)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DiesAfterFirstAnswer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(STUDY))
    uri = f"http://gsuser:{PASSWORD}@127.0.0.1:{server.server_address[1]}"
    with caplog.at_level(logging.WARNING):
        code, out, err = cli("run", tmp_path / "s.yaml", "--out", tmp_path / "runs", "--dry-run", "--log-to",
                             f"mlflow:{uri}")
    thread.join(timeout=30)
    assert code == 0, err
    assert len(read_trials(tmp_path / "runs" / "tracked")) == 6  # every trial trained and stored
    stopped = [r.getMessage() for r in caplog.records if "logging stopped" in r.getMessage()]
    assert len(stopped) == 1, stopped  # warned once
    assert PASSWORD not in caplog.text + out + err


@pytest.mark.slow
def test_a_resumed_study_keeps_logging_to_the_same_runs(tmp_path, mlflow_server, ray_head):
    """kill -9 the driver mid-study, ``resume --log-to`` the same server: one run per trial, each
    evaluation once, every run ended (the one a killed trial had opened is continued, not doubled)."""
    from mlflow.tracking import MlflowClient

    from gansweep.store import stored_trial_ids

    study = {**STUDY, "name": "resumed", "search": [{**STUDY["search"][0], "trials": 6}]}  # 12 trials
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(study))
    study_dir = tmp_path / "runs" / "resumed"
    env = {**os.environ, **QUIET, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "token"}
    log_to = ("--log-to", f"mlflow:{mlflow_server}", "--address", ray_head, "--max-concurrent", "1")

    def driver(*args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "gansweep.cli", *args, *log_to], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    def stored() -> int:
        try:
            return len(stored_trial_ids(study_dir))
        except Exception:  # noqa: BLE001  not there yet
            return 0

    first = driver("run", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "runs"), "--dry-run")
    deadline = time.monotonic() + 300
    while stored() < 3 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(first.pid, signal.SIGKILL)
    first.communicate(timeout=60)
    killed_at = stored()
    second = driver("resume", str(study_dir))
    out, err = second.communicate(timeout=600)
    assert second.returncode == 0, err.decode()[-3000:]
    trials, evals = read_trials(study_dir), read_evals(study_dir)
    assert len(trials) == 12 and killed_at < 12, killed_at  # the kill landed mid-study
    client = MlflowClient(mlflow_server)
    runs = client.search_runs([client.get_experiment_by_name("resumed").experiment_id])
    assert sorted(r.info.run_name for r in runs) == sorted(trials.trial_id)  # one run per trial, none twice
    for run in runs:
        assert run.info.status == "FINISHED", (run.info.run_name, run.info.status)
        mine = evals[evals.trial_id == run.info.run_name].dropna(subset=["fd"])
        history = client.get_metric_history(run.info.run_id, "metrics/fd")
        assert sorted((m.step, m.value) for m in history) == sorted(zip(mine.step, mine.fd))


@pytest.mark.slow
def test_resume_with_log_to_logs_what_an_earlier_driver_stored_into_the_study_s_own_store(tmp_path, cli):
    """``--log-to mlflow`` with no URI and no MLFLOW_TRACKING_URI: the study's own ``mlflow.db``. A study
    run without ``--log-to`` and resumed with it (nothing left to run) is logged from its store."""
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(STUDY))
    code, out, err = cli("run", tmp_path / "s.yaml", "--out", tmp_path / "runs", "--dry-run")
    assert code == 0, err
    study_dir = tmp_path / "runs" / "tracked"
    code, out, err = cli("resume", study_dir, "--log-to", "mlflow")
    assert code == 0, err
    trials, evals = _stored(study_dir)
    client = MlflowClient(f"sqlite:///{study_dir / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("tracked").experiment_id])
    assert sorted(r.info.run_name for r in runs) == sorted(trials.trial_id)
    for run in runs:
        row = trials[trials.trial_id == run.info.run_name].iloc[0]
        assert run.info.status == "FINISHED" and run.data.tags["gansweep.status"] == row.status
        assert float(run.data.params["hp_lr"]) == row.hp_lr and run.data.params["cell"] == row.cell
        mine = evals[evals.trial_id == row.trial_id].dropna(subset=["fd"])
        history = client.get_metric_history(run.info.run_id, "metrics/fd")
        assert sorted((m.step, m.value) for m in history) == sorted(zip(mine.step, mine.fd))


@pytest.mark.slow
def test_wandb_files_stay_out_of_the_study_directory(tmp_path, cli, monkeypatch):
    """W&B links ``wandb/latest-run``; a study directory holding a link is refused by every command."""
    pytest.importorskip("wandb")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(STUDY))
    code, out, err = cli("run", tmp_path / "s.yaml", "--out", tmp_path / "runs", "--dry-run", "--log-to", "wandb")
    assert code == 0, err
    assert len(list((tmp_path / "wandb").glob("offline-run-*"))) == 6  # W&B's default: ./wandb
    code, out, err = cli("status", tmp_path / "runs" / "tracked")
    assert code == 0 and "6/6 trials stored" in out, err
