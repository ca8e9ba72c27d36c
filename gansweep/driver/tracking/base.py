"""What every ``--log-to`` target shares: the :class:`Backend` contract and what a run holds.

A backend is called only from its own thread (:class:`gansweep.driver.tracking.callback._Sink`),
except :meth:`Backend.check`, which runs before anything else does. Its methods return the number of
evaluations they logged; any exception ends that target's logging for the driver run.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar

from gansweep.driver.tracking.targets import Target


def trial_params(config: dict[str, Any] | None) -> dict[str, Any]:
    """What a trial is, named as the store's columns: its cell's grid choices, strategy, round, seed,
    and the hyperparameters its strategy searched (``hp_<name>``; defaults are left out, as the
    store leaves them null)."""
    from gansweep.study.schema import AXES

    config = config or {}
    out = {k: config.get(k) for k in ("trial_id", "cell", *AXES, "strategy", "round", "seed", "suggested_by")}
    searched = config.get("searched")
    for name, value in (config.get("hp") or {}).items():
        if searched is None or name in searched:
            out[f"hp_{name}"] = value
    return {k: (v.value if isinstance(v, Enum) else v) for k, v in out.items() if v is not None}


def evaluation_steps(records: list[dict[str, Any]], metrics: list[str], after: int) -> Iterator[tuple[int, dict[str, float]]]:
    """(generator step, scalars) of each evaluation past step ``after``, scalars named as in
    TensorBoard (``metrics/fd``, ``losses/…``, ``diagnostics/…``), non-finite ones left out."""
    from gansweep.driver.tensorboard import tags

    for record in records:
        step = record.get("step")
        if isinstance(step, int) and not isinstance(step, bool) and step > after:
            yield step, tags(record, metrics)


def _int(value: Any) -> int | None:
    try:
        return None if value is None or value != value else int(value)
    except (TypeError, ValueError):
        return None


def _stored_record(row: dict[str, Any]) -> dict[str, Any]:
    """An evaluation as the store holds it, as a trial reported it: its diagnostics (JSON) spread out."""
    import json

    record = {k: v for k, v in row.items() if k not in ("trial_id", "diagnostics")}
    record["step"] = _int(record.get("step"))
    extra = row.get("diagnostics")
    if isinstance(extra, str):
        try:
            decoded = json.loads(extra)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict):
            record.update({k: v for k, v in decoded.items() if k not in record})
    return record


def finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


class Backend:
    name: ClassVar[str]
    label: ClassVar[str]
    module: ClassVar[str]  # the package it needs (in the 'tracking' extra)
    takes_uri: ClassVar[bool]
    syntax: ClassVar[str]
    configured_by: ClassVar[str]

    def __init__(self, target: Target, study: str, study_dir: Any, instance: str, metrics: list[str]) -> None:
        self.target = target
        self.study = study
        self.study_dir = study_dir  # a local Path, or a StoragePath in a bucket
        self.instance = instance
        self.metrics = list(metrics)
        self.secrets: list[str] = []  # strings never to show in a message

    def check(self) -> None:
        """Before anything runs: a target that cannot work is a GansweepError (exit 2)."""

    def start(self, tid: str, config: dict[str, Any] | None) -> int:
        raise NotImplementedError

    def log(self, tid: str, records: list[dict[str, Any]]) -> int:
        raise NotImplementedError

    def end(self, tid: str, final: dict[str, Any]) -> int:
        raise NotImplementedError

    def close(self) -> int:
        """End the runs still open (the driver stops with trials running)."""
        return 0

    def ended(self) -> set[str] | None:
        """Trial ids whose runs an earlier driver of this study ended; None when the target cannot tell."""
        return None

    def backfill(self, study_dir: Any, stored: set[str]) -> int:
        """Log the stored trials whose runs no driver ended: a driver killed (``kill -9``, a lost node)
        while its thread still had them queued, or a study run without ``--log-to`` before. From the
        store: its rows' configs and evaluations (the losses a real trial reported are not stored)."""
        import json

        from gansweep.store import read_evals, read_trials

        ended = self.ended()
        missing = stored - ended if ended is not None else set()
        if not missing:
            return 0
        trials, evals = read_trials(study_dir), read_evals(study_dir)
        by_trial = {tid: group for tid, group in evals.groupby("trial_id")} if not evals.empty else {}
        n = 0
        for row in trials[trials.trial_id.isin(missing)].to_dict("records"):
            tid = row["trial_id"]
            config = json.loads(row["config"]) if isinstance(row.get("config"), str) else row.get("config")
            self.start(tid, config if isinstance(config, dict) else None)
            group = by_trial.get(tid)
            if group is not None:
                n += self.log(tid, [_stored_record(r) for r in group.to_dict("records")])
            self.end(tid, {"status": str(row["status"]), "score": row.get("score"), "best_step": _int(row.get("best_step")),
                           "steps": _int(row.get("steps"))})
        return n


def refuse_link(path: Path) -> None:
    """A study directory may come from someone else: never write through a link planted in it."""
    from gansweep.storage import UnsafePathError

    for p in (path.parent, path):
        if p.is_symlink():
            raise UnsafePathError(f"{p}: a symbolic link; gansweep never writes through one (remove it)")


@contextlib.contextmanager
def env_defaults(**values: str) -> Iterator[None]:
    """Set environment variables the user has not set, for the duration (the main thread, before
    Ray or any logging thread starts)."""
    added = [k for k in values if k not in os.environ]
    for k in added:
        os.environ[k] = values[k]
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)
