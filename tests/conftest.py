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
        if args and args[0] in ("run", "resume") and "--address" not in args and not os.environ.get("RAY_ADDRESS"):
            _test_process_ray()  # a local driver finds it initialized and uses it (see ray_head)
        monkeypatch.setattr(sys, "argv", ["gansweep", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        cap = capsys.readouterr()
        return code, cap.out, cap.err

    return run

def pytest_configure(config):
    """One intra-op torch thread per test process: ``make test`` runs three on two cores, and torch's
    default (a thread per core) had 6 threads spin for 2 cores (about 4 % of the CPU of the torch tests).
    The xdist controller runs no test and is left alone (torch costs it 3 CPU-seconds to import)."""
    if getattr(config.option, "numprocesses", None) and "PYTEST_XDIST_WORKER" not in os.environ:
        return
    import torch

    torch.set_num_threads(1)


# Tests never reach the network: the metrics package treats this as "no internet".
os.environ["GANSWEEP_OFFLINE"] = "1"


@pytest.fixture
def inception_weights(tmp_path, monkeypatch):
    """Where validation looks for Inception weights: a stand-in file (only its presence is checked)."""
    path = tmp_path / "weights-inception-2015-12-05-6726825d.pth"
    path.write_bytes(b"stand-in: validation checks the path, trials would load it")
    monkeypatch.setenv("GANSWEEP_INCEPTION_WEIGHTS", str(path))
    return path



@pytest.fixture(scope="module")  # a module's tests (and its module fixtures) share it
def ray_head():
    """The address of this test process's own local Ray, for drivers that join it with ``--address``
    (and ``RAY_AUTH_MODE=token``, as docs/CLUSTER.md tells a cluster user): a driver killed there
    leaves Ray running, as on a cluster. In-process ``cli("run")`` uses the same Ray, so a test
    process runs one Ray, not one per driver: a driver that starts its own pays about 5 s and
    5 CPU-seconds more (GCS, raylet, agents). Tests about the driver's own Ray do not use this.

    Like a cluster's head, it keeps no idle workers (``num_workers_soft_limit: 0``, no prestart):
    every driver's trials run in workers of their own job anyway, and two idle workers cost
    1.5 CPU-seconds a minute, half of what an idle Ray costs (it stays up for the test process)."""
    return _test_process_ray()


def _test_process_ray() -> str:
    import ray

    if not ray.is_initialized():
        ray.init(address="local", include_dashboard=False, logging_level="ERROR", log_to_driver=False,
                 _system_config={"num_workers_soft_limit": 0, "enable_worker_prestart": False,
                                 "prestart_worker_first_driver": False})
    return ray.get_runtime_context().gcs_address
