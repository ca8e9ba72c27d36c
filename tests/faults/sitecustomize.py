"""Test-only fault injection for dry-run trials; the installed package has no such hook.

A test puts this directory on ``PYTHONPATH`` of the ``gansweep`` process it starts (see
``tests/reliability/_reliab.py: fault_env``). Python imports ``sitecustomize`` at start in that
process and in every Ray worker it spawns (they inherit the environment), and this module wraps
the synthetic objective in ``gansweep.trial.worker`` when that module is imported.

``GANSWEEP_TEST_FAULTS`` holds JSON ``{"<kind>": "<glob of trial ids>", ..., "dir": "<directory>"}``.
Kinds: ``raise`` (an exception mid-trial), ``kill`` (SIGKILL of the worker process mid-trial),
``hang`` (a Python loop that never ends), ``block`` (a sleep that never ends), ``nan``/``inf``/
``empty`` (the last evaluation's primary metric is NaN, inf or missing). ``<kind>_once`` fires on
a trial's first attempt only; a marker file in ``dir`` remembers it across processes.
"""

from __future__ import annotations

import fnmatch
import importlib.abc
import importlib.machinery
import json
import math
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

FAULTS_ENV = "GANSWEEP_TEST_FAULTS"
TARGET = "gansweep.trial.worker"
BAD_VALUES = ("nan", "inf", "empty")


def injected_fault(trial_id: str) -> str | None:
    """The fault this attempt of a trial gets, or None."""
    faults = json.loads(os.environ.get(FAULTS_ENV) or "{}")
    for kind, pattern in faults.items():
        if kind == "dir" or not fnmatch.fnmatchcase(trial_id, pattern):
            continue
        base = kind.removesuffix("_once")
        if base != kind:
            try:
                (Path(faults["dir"]) / f"{trial_id}.{base}").touch(exist_ok=False)
            except FileExistsError:
                continue
        return base
    return None


def spoil(records: list[dict[str, Any]], primary: str, fault: str | None) -> list[dict[str, Any]]:
    """The records with the last evaluation's primary metric NaN, inf or missing, as ``fault`` says."""
    if fault not in BAD_VALUES or not records:
        return records
    last = {k: v for k, v in records[-1].items() if k != primary}
    if fault != "empty":
        last[primary] = math.nan if fault == "nan" else math.inf
    return [*records[:-1], last]


def misbehave(fault: str | None) -> None:
    """Raise, die, hang or block, as ``fault`` says; nothing for other faults."""
    if fault == "raise":
        raise RuntimeError(f"injected fault ({FAULTS_ENV})")
    if fault == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if fault == "hang":
        while True:
            time.sleep(0.01)
    if fault == "block":
        time.sleep(1e6)


def _patch(module: Any) -> None:
    simulate = module.simulate

    def faulty_simulate(config: dict[str, Any], eval_points: list[int], primary: str):
        records, status = simulate(config, eval_points, primary)
        fault = injected_fault(config["trial_id"])
        misbehave(fault)
        return spoil(records, primary, fault), status

    module.simulate = faulty_simulate


class _Finder(importlib.abc.MetaPathFinder):
    """Wraps the worker module's ``simulate`` right after the module is first executed."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            run(module)
            _patch(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if os.environ.get(FAULTS_ENV):
    sys.meta_path.insert(0, _Finder())
