"""Shared helpers of the reliability suite: studies, drivers in subprocesses, store checks, patch probes."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad_studies"
FAULTS_DIR = ROOT / "tests" / "faults"  # sitecustomize: the test-only fault hook (see its docstring)


def fault_env(spec: dict[str, str]) -> dict[str, str]:
    """Environment that installs the fault hook in a gansweep process and its Ray workers."""
    return {"PYTHONPATH": os.pathsep.join([str(FAULTS_DIR), str(ROOT)]), "GANSWEEP_TEST_FAULTS": json.dumps(spec)}

SPACE = {"lr": {"low": 1e-5, "high": 1e-2, "log": True}, "beta1": {"low": 0.0, "high": 1.0}}
STUDY: dict[str, Any] = {
    "name": "rel",
    "grid": {"loss": ["ns", "wgan"], "penalty": ["none", "gp"]},
    "training": {"steps": 1000, "eval_every": 250},
    "failure": {"max_failures": 2},
    "search": [{"strategy": "random", "trials": 10, "space": SPACE}],
}
EVAL_POINTS = [250, 500, 750, 1000]


def study_data(**changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(STUDY))
    data.update(changes)
    return data


def write_study(directory: Path, **changes: Any) -> Path:
    path = directory / "study.yaml"
    path.write_text(yaml.safe_dump(study_data(**changes), sort_keys=False))
    return path


# -- drivers in their own process group --------------------------------------------------------

class Drivers:
    """Starts ``python -m gansweep.cli ...`` in new sessions and kills every one left at the end.

    With ``address`` (the ``ray_head`` fixture) ``run`` and ``resume`` join that Ray as a cluster's
    driver does; a kill then takes the driver, not Ray. Without it each driver starts its own Ray."""

    def __init__(self, address: str | None = None) -> None:
        self.procs: list[subprocess.Popen] = []
        self.address = address

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), **(env or {})}
        if self.address and args[0] in ("run", "resume"):
            args = (*args, "--address", self.address)
            full_env["RAY_AUTH_MODE"] = "token"
        proc = subprocess.Popen([sys.executable, "-m", "gansweep.cli", *args], env=full_env, cwd=str(ROOT),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.procs.append(proc)
        return proc

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> tuple[int, str, str]:
        proc = self.start(*args, env=env)
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            self.kill(proc)
        return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    @staticmethod
    def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass

    def close(self) -> None:
        for proc in self.procs:
            self.kill(proc)
        self.procs.clear()


# -- checks ----------------------------------------------------------------------------------------

def check_complete(study_file: Path, study_dir: Path, faults: dict[str, str] | None = None) -> pd.DataFrame:
    """Every planned trial stored exactly once; unfaulted trials with the score their synthetic trial gives."""
    from gansweep.study import build_plan, load_study
    from gansweep.trial.synthetic import simulate
    from gansweep.trial.worker import best_so_far

    plan = build_plan(load_study(study_file))
    df = pd.read_parquet(study_dir / "results" / "trials")
    assert df.trial_id.is_unique, df.trial_id[df.trial_id.duplicated()].tolist()
    assert sorted(df.trial_id) == sorted(plan.trial_ids())
    for row in df.itertuples():
        if faults and row.trial_id in faults:
            continue
        config = json.loads(row.config)
        records, status = simulate(config, EVAL_POINTS, "fd")
        assert row.status == status, (row.trial_id, row.status, status, row.error)
        if status == "completed":
            assert row.score == best_so_far(records, "fd"), row.trial_id
    ev = pd.read_parquet(study_dir / "results" / "evals")
    assert set(ev.trial_id) <= set(df.trial_id)
    assert not ev.duplicated(["trial_id", "step"]).any()
    return df


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` (relative path → bytes): 'nothing damaged' means equal snapshots."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def trial_workers_gone(timeout: float = 60) -> bool:
    """Wait until this test process's Ray runs no trial (Tune's ``ray::ImplicitFunc`` actors): a
    killed driver's trials die with it, but Ray takes a moment, and one may still write a checkpoint."""
    import psutil  # Ray's vendored copy, importable once ray is

    def gone() -> bool:
        for child in psutil.Process().children(recursive=True):
            try:
                if child.name().startswith("ray::ImplicitFunc") or "ImplicitFunc" in " ".join(child.cmdline()[:1]):
                    return False
            except psutil.Error:
                continue
        return True

    return wait_for(gone, timeout, every=0.1)


def wait_for(predicate, timeout: float, every: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


# -- a crash at the k-th file operation of the store ------------------------------------------------

class Crash(BaseException):
    """The process dies here."""


@contextlib.contextmanager
def crash_at(k: int | None):
    """Raise :class:`Crash` before the ``k``-th file operation of the store (None: never)."""
    from gansweep.store import parquet as store_mod

    real_write, real_unlink = store_mod._atomic_write, store_mod._unlink
    n = [0]

    def step(real):
        def wrapped(*a):
            if k is not None and n[0] == k:
                raise Crash()
            n[0] += 1
            return real(*a)
        return wrapped

    store_mod._atomic_write, store_mod._unlink = step(real_write), step(real_unlink)
    try:
        yield
    finally:
        store_mod._atomic_write, store_mod._unlink = real_write, real_unlink
