import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run ``gansweep ARGS`` in-process; returns (exit code, stdout, stderr)."""
    from gansweep.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["gansweep", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        cap = capsys.readouterr()
        return code, cap.out, cap.err

    return run

# Tests never reach the network: the metrics package treats this as "no internet".
os.environ["GANSWEEP_OFFLINE"] = "1"


@pytest.fixture
def inception_weights(tmp_path, monkeypatch):
    """Where validation looks for Inception weights: a stand-in file (only its presence is checked)."""
    path = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    path.write_bytes(b"stand-in: validation checks the path, trials would load it")
    monkeypatch.setenv("GANSWEEP_INCEPTION_WEIGHTS", str(path))
    return path


HEAD = r"""
import sys, ray
ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # until the test process closes it (or dies)
"""


@pytest.fixture(scope="session")
def ray_head():
    """The address of one local Ray head per test process, for drivers that join it with ``--address``
    (and ``RAY_AUTH_MODE=token``, as docs/CLUSTER.md tells a cluster user): a driver killed there
    leaves Ray running, as on a cluster. A driver that starts its own Ray pays about 5 s and 4
    CPU-seconds more (GCS, raylet, agents); tests about the driver's own Ray do not use this."""
    import signal
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_AUTH_MODE")}
    proc = subprocess.Popen([sys.executable, "-c", HEAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, start_new_session=True)
    try:
        address = proc.stdout.readline().strip()
        assert address, "the shared Ray head did not start"
        yield address
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # what ray.shutdown left (it normally leaves nothing)
        except ProcessLookupError:
            pass
