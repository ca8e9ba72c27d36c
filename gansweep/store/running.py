"""Evaluations of running trials, stored as they are reported: ``results/running/<trial_id>.parquet``.

Why: a trial's row and evaluations are committed to ``results/trials`` and ``results/evals`` when
it ends (first write wins, so resume never duplicates one); a study that runs for days would show
nothing of a running trial until then. Each report of a running trial replaces its file here
atomically (the evaluations so far, with the latest step and best score in the file's metadata),
and the file goes when the trial's row is committed. Nothing here is read as a result: a driver
killed mid-trial leaves the file, which ``status`` shows with the time of its last report, and
which the trial's next report (resumed or rerun) replaces.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

from gansweep.storage import StoragePath, files_in, location
from gansweep.store.parquet import RESULTS_DIR, _atomic_write, _read_table, _table, eval_columns

log = logging.getLogger(__name__)
RUNNING_DIR = "running"
COLUMNS = ["trial_id", "step", "score", "evaluations", "reported_at"]


def _path(results: StoragePath, trial_id: str) -> StoragePath:
    from gansweep.store.parquet import _safe_name

    return results / RUNNING_DIR / _safe_name(trial_id)


def write_running(results: str | StoragePath, trial_id: str, evals: Iterable[Mapping[str, Any]],
                  metrics: list[str], step: Any, score: Any, fsync: bool | None = None) -> None:
    """Replace the running trial's file with its evaluations so far (atomic: all or nothing)."""
    results = location(results)
    schema = eval_columns(metrics)
    names = set(schema.names)
    rows = []
    for record in evals:
        row = {k: v for k, v in record.items() if k in names}
        rest = {k: v for k, v in record.items() if k not in names}
        row.update(trial_id=trial_id, diagnostics=json.dumps(rest, sort_keys=True, default=str) if rest else None)
        rows.append(row)
    table = _table(rows, schema)
    meta = {"step": step if isinstance(step, int) and not isinstance(step, bool) else None,
            "score": score if isinstance(score, (int, float)) and math.isfinite(score) else None,
            "reported_at": pd.Timestamp.now(tz="UTC").isoformat()}
    table = table.replace_schema_metadata({b"gansweep.running": json.dumps(meta).encode()})
    (results / RUNNING_DIR).mkdir(parents=True, exist_ok=True)
    _atomic_write(table, _path(results, trial_id), fsync)


def clear_running(results: str | StoragePath, trial_id: str) -> None:
    """The trial is stored: its running file goes (a missing one is fine)."""
    try:
        _path(location(results), trial_id).unlink()
    except FileNotFoundError:
        pass


def read_running(study_dir: str | StoragePath, stored: set[str] | None = None) -> pd.DataFrame:
    """Running trials (not stored yet): ``trial_id, step, score, evaluations, reported_at``.

    A file that cannot be read is skipped with a warning: nothing here is a result."""
    directory = location(study_dir) / RESULTS_DIR / RUNNING_DIR
    rows = []
    try:
        files = [f for f in files_in(directory) if f.name.endswith(".parquet") and not f.name.startswith(".")]
    except OSError:
        return pd.DataFrame(columns=COLUMNS)
    for f in sorted(files, key=str):
        tid = f.name[: -len(".parquet")]
        if stored is not None and tid in stored:
            continue
        try:
            table = _read_table(f)
            meta = json.loads((table.schema.metadata or {}).get(b"gansweep.running", b"{}"))
        except (pa.ArrowException, OSError, ValueError) as exc:
            log.warning("%s: cannot read a running trial's evaluations (%s)", f, exc)
            continue
        rows.append({"trial_id": tid, "step": meta.get("step"), "score": meta.get("score"),
                     "evaluations": table.num_rows, "reported_at": meta.get("reported_at")})
    return pd.DataFrame(rows, columns=COLUMNS)
