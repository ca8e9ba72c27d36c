"""Edges of the CLI run as a user runs it (a real ``gansweep`` subprocess): nothing waits for ever,
nothing asks for what the command does not need."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def user_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user with no Inception weights anywhere and no network."""
    # RAY_AUTH_MODE: an in-process ray.init of an earlier test sets it in this process's environment
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GANSWEEP_", "RAY_ADDRESS", "RAY_AUTH"))}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), TORCH_HOME=str(home / "torch"), XDG_CACHE_HOME=str(home / "cache"),
               GANSWEEP_OFFLINE="1", PYTHONUNBUFFERED="1", **extra)
    return env


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_a_ray_address_that_does_not_answer_fails_in_one_line(tmp_path):
    env = user_env(tmp_path, RAY_ADDRESS=f"127.0.0.1:{closed_port()}")
    start = time.monotonic()
    proc = subprocess.run(["gansweep", "run", str(ROOT / "studies" / "demo.yaml"), "--dry-run", "--yes",
                           "--out", str(tmp_path / "runs")], env=env, capture_output=True, text=True, timeout=90)
    assert time.monotonic() - start < 60
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "no answer within" in proc.stderr and "RAY_ADDRESS" in proc.stderr
    assert not (tmp_path / "runs" / "demo").exists()


@pytest.mark.slow
def test_reg_norm_dry_run_starts_offline_without_weights(tmp_path):
    """The README's rehearsal of the 7,680-trial paper study: trials start with no weights anywhere.
    Stopped (SIGINT, as a user would) once the first trials are stored; resume would go on."""
    out = tmp_path / "runs"
    proc = subprocess.Popen(["gansweep", "run", str(ROOT / "studies" / "reg_norm.yaml"), "--dry-run", "--yes",
                             "--out", str(out)], env=user_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    trials = out / "reg_norm" / "results" / "trials"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if trials.is_dir() and len(list(trials.glob("*.parquet"))) >= 3:
                break
            time.sleep(1)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert len(list(trials.glob("*.parquet"))) >= 3
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    _, err = proc.communicate()
    assert "Inception" not in err, err[-2000:]
    assert not any((tmp_path / "home").rglob("*.pth"))


@pytest.mark.slow
def test_an_address_that_answers_tcp_but_is_no_ray_head_fails_within_60_s(tmp_path):
    with socket.socket() as listener:  # accepts connections, never speaks gRPC
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        start = time.monotonic()
        proc = subprocess.run(["gansweep", "run", str(ROOT / "studies" / "demo.yaml"), "--dry-run", "--yes",
                               "--out", str(tmp_path / "runs"), "--address", address],
                              env=user_env(tmp_path), capture_output=True, text=True, timeout=120)
        took = time.monotonic() - start
    assert took < 60, took
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: Ray address {address}: no Ray cluster answered within 30 s; is it a Ray head's "
                      "GCS address (host:6379)? (--address, RAY_ADDRESS)"], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "runs" / "demo").exists()


def test_token_mode_without_a_token_is_one_line(tmp_path):
    """docs/CLUSTER.md tells a cluster's driver to set RAY_AUTH_MODE=token: with no token on this machine,
    ray.init raised AuthenticationError before connecting, and the user got its traceback."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        proc = subprocess.run(["gansweep", "run", str(ROOT / "studies" / "demo.yaml"), "--dry-run", "--yes",
                               "--out", str(tmp_path / "runs"), "--address", address],
                              env=user_env(tmp_path, RAY_AUTH_MODE="token"), capture_output=True, text=True,
                              timeout=60)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0, proc.stderr[-2000:]
    assert proc.stderr.startswith(f"error: Ray address {address}: RAY_AUTH_MODE=token but this machine has no "
                                  "token"), proc.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("address", ["a b c", ":::", "host", "host:0", "host:99999", ":6379", "ray://"])
def test_a_malformed_ray_address_is_one_line(cli, tmp_path, monkeypatch, address):
    monkeypatch.setenv("RAY_ADDRESS", address)
    code, out, err = cli("run", ROOT / "studies" / "demo.yaml", "--dry-run", "--yes", "--out", tmp_path / "runs")
    assert code == 2, (out, err)
    assert err.startswith("error: Ray address") and "not host:port" in err and err.count("\n") == 1, err
    assert not (tmp_path / "runs" / "demo").exists()


def test_validate_refuses_an_infinite_tflops(cli):
    code, out, err = cli("validate", ROOT / "studies" / "demo.yaml", "--tflops", "inf")
    assert code == 2 and "--tflops" in err, (out, err)


def test_a_cluster_that_refuses_the_token_is_one_line(cli, tmp_path, monkeypatch):
    """Ray 2.60 clusters want a token: a driver without RAY_AUTH_MODE=token got a traceback after 20 s.
    (ray.init is replaced by what it raises then; the real refusal was seen with a local head.)"""
    import ray
    from ray.exceptions import AuthenticationError

    def refused(**_):
        try:
            raise AuthenticationError("RPC error: InvalidAuthToken: Authentication token is missing or incorrect")
        except AuthenticationError as exc:
            raise ConnectionError("Failed to connect to Ray cluster") from exc

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refused)
    with socket.socket() as listener:  # check_reachable: something answers there
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        address = f"127.0.0.1:{listener.getsockname()[1]}"
        code, out, err = cli("run", ROOT / "studies" / "demo.yaml", "--dry-run", "--yes", "--out", tmp_path / "runs",
                             "--address", address)
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: Ray address {address}: the cluster refused this driver's token: set "
                          "RAY_AUTH_MODE=token"), err
    assert not (tmp_path / "runs").exists()
